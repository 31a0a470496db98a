"""MQTT v5 shell around `Ingestor`: mTLS as `collector`, QoS 1, manual acknowledgement.

Group commit: the ingest task takes every message already queued (up to
limits.GROUP_MAX_BATCHES / GROUP_MAX_BYTES, never waiting for more) and ingests them in one
transaction. The broker's PUBACKs for a group are sent only after that transaction is
committed and the group's receipts are published, so a collector killed at any instant
loses nothing: the broker redelivers, and the store's idempotence turns the redelivery into
a REPLAY + same receipt.
Alone (no shared_group) the session is persistent (clean_start off, session expiry) so
batches published while the collector is down wait in the broker. In a shared group the
session is not (clean start, session expiry 0): a dead member's session would keep its share
of the group's batches until that client id came back, and the survivors are there to take
them; the agent's receipt timeout and re-send is what makes delivery reliable. A member
whose store is unreachable leaves the group (unsubscribes) until the store answers again.

Flow control is the broker's: the CONNECT's Receive Maximum (limits.INGEST_QUEUE) bounds the
unacknowledged QoS 1 messages it sends us, so paho's network thread never waits for the
ingest task (it must keep reading the PUBACKs of our receipts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field

from collector import limits
from collector.ingest.pipeline import Ingestor, Outcome, receipt_topic
from notary_core import envelope
from notary_core.errors import Unreachable

log = logging.getLogger(__name__)
BATCH_FILTER = "vn/v1/dev/+/batch"
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIPT_TIMEOUT_S = 10.0


class MqttSettings(BaseModel):
    """The [mqtt] table of collector.toml (validated: collector/settings.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    host: str = Field(min_length=1)
    port: int = Field(gt=0, lt=65536)
    ca_cert: str
    cert: str
    key: str
    # Unset: "collector" alone (its persistent session keeps the name), and one id per
    # process in a shared group (instance_client_id): copies of one file never share an id.
    client_id: str | None = Field(default=None, min_length=1, max_length=64)
    # "collectors" -> $share/collectors/vn/v1/dev/+/batch (MQTT v5 §4.8.2)
    shared_group: str | None = Field(default=None, pattern=r"^[^/#+]+$")

    def instance_client_id(self) -> str:
        """The client id to connect with. A group member keeps no session, so its default
        need not survive a restart: collector-<hostname>-<pid>, unique per process (two
        connections with one id knock each other off the broker)."""
        if self.client_id is not None:
            return self.client_id
        if self.shared_group is None:
            return "collector"
        host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:40] or "host"
        return f"collector-{host}-{os.getpid()}"

    @property
    def subscription(self) -> str:
        return f"$share/{self.shared_group}/{BATCH_FILTER}" if self.shared_group else BATCH_FILTER


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # which connection brought it: a mid is only valid on its own session


class MqttIngest:
    """`async with MqttIngest(settings, ingestor) as m: await m.run()`."""

    def __init__(self, settings: MqttSettings, ingestor: Ingestor) -> None:
        self.settings = settings
        self.ingestor = ingestor
        self.outcomes: asyncio.Queue[Outcome] | None = None  # for observers (tests, metrics)
        # Unbounded: the broker's in-flight window bounds the QoS 1 messages (Receive
        # Maximum); QoS 0 ones beyond limits.INGEST_QUEUE are dropped (nothing to redeliver
        # them but the agent, which re-sends what has no receipt).
        self._queue: asyncio.Queue[_Message] = asyncio.Queue()
        self._persistent = settings.shared_group is None  # a group member keeps no session
        self._connection = 0  # counts CONNACKs (paho's thread writes, the loop reads)
        self._left = False  # out of the group while the store is unreachable
        self._loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()
        self._acks: dict[int, asyncio.Future[None]] = {}  # receipt mid -> broker's PUBACK
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.instance_client_id(),
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        c.tls_set(ca_certs=settings.ca_cert, certfile=settings.cert, keyfile=settings.key)
        c.reconnect_delay_set(1, 5)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        self.client = c

    async def __aenter__(self) -> MqttIngest:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self._persistent:
            props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = limits.INGEST_QUEUE
        try:
            await asyncio.to_thread(
                self.client.connect,
                self.settings.host,
                self.settings.port,
                30,
                "",
                0,
                not self._persistent,  # clean_start: every (re)connection of a group member
                props,
            )
        except OSError as exc:
            self._close_socket()
            raise Unreachable(f"MQTT broker: {exc}") from None
        self.client.loop_start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)
        self._close_socket()

    def _close_socket(self) -> None:
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    # paho's network thread ------------------------------------------------------------

    def _on_connect(self, c: mqtt.Client, u: Any, flags: Any, rc: Any, props: Any) -> None:
        if not rc.is_failure:
            self._connection += 1
            if not self._left:
                c.subscribe(self.settings.subscription, qos=1)  # ready at its SUBACK
        else:
            log.warning("broker refused the collector: %s", rc)

    def _on_subscribe(self, c: mqtt.Client, u: Any, mid: int, codes: Any, props: Any) -> None:
        if all(not rc.is_failure for rc in codes):
            self._loop.call_soon_threadsafe(self._connected.set)
        else:
            log.warning("broker refused the subscription: %s", codes)

    def _on_disconnect(self, c: mqtt.Client, u: Any, f: Any, rc: Any, props: Any) -> None:
        self._loop.call_soon_threadsafe(self._connected.clear)

    def _on_publish(self, c: mqtt.Client, u: Any, mid: int, rc: Any, props: Any) -> None:
        self._loop.call_soon_threadsafe(self._receipt_acked, mid)

    def _receipt_acked(self, mid: int) -> None:
        fut = self._acks.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:  # would come again at every subscription: never evidence (issue 16)
            log.warning("retained message on %s ignored", msg.topic[: limits.MAX_TOPIC])
            if msg.qos > 0:
                c.ack(msg.mid, msg.qos)
            return
        m = _Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._connection)
        # Never blocks paho's thread (it reads the PUBACKs our receipts wait for).
        self._loop.call_soon_threadsafe(self._enqueue, m)

    def _enqueue(self, m: _Message) -> None:
        if m.qos == 0 and self._queue.qsize() >= limits.INGEST_QUEUE:
            log.warning("ingest queue full: QoS 0 message on %s dropped", m.topic[:80])
            return
        self._queue.put_nowait(m)

    # the ingest task ------------------------------------------------------------------

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def run(self) -> None:
        """Ingest queued messages a group at a time, forever (cancel to stop)."""
        while True:
            group = await self._next_group()
            outcomes = await self._ingest_until_done(group)
            await self._publish_receipts(outcomes)
            for msg in group:  # committed and answered: the broker may forget them
                # After a clean start the broker forgot the old session's mids (and may
                # reuse them): acknowledge only on the session the message came on.
                if msg.qos > 0 and (self._persistent or msg.connection == self._connection):
                    self.client.ack(msg.mid, msg.qos)
            if self.outcomes is not None:
                for outcome in outcomes:
                    self.outcomes.put_nowait(outcome)

    async def _next_group(self) -> list[_Message]:
        # Sized by what each payload inflates to (§5.1 declared length, which ingest never
        # exceeds), so compressed batches hold a group to the same memory as bare ones.
        group = [await self._queue.get()]
        size = envelope.declared_size(group[0].payload)
        while len(group) < limits.GROUP_MAX_BATCHES and size < limits.GROUP_MAX_BYTES:
            try:
                msg = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            group.append(msg)
            size += envelope.declared_size(msg.payload)
        return group

    async def _publish_receipts(self, outcomes: list[Outcome]) -> None:
        """Publish a group's receipts (QoS 1) and wait, cancellably, for the broker's
        PUBACKs. A receipt lost here is not a loss: the agent re-sends, we answer the
        REPLAY."""
        waiting: list[asyncio.Future[None]] = []
        for o in outcomes:
            if o.receipt is None or o.device_id is None:
                continue
            info = self.client.publish(receipt_topic(o.device_id), o.receipt, 1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN):
                log.warning("receipt for %s not published: %s", o.device_id, info.rc)
                continue
            fut = self._loop.create_future()
            self._acks[info.mid] = fut
            waiting.append(fut)
        if not waiting:
            return
        _done, late = await asyncio.wait(waiting, timeout=RECEIPT_TIMEOUT_S)
        if late:
            log.warning("%d receipts not acknowledged by the broker in time", len(late))
            self._acks = {mid: f for mid, f in self._acks.items() if not f.done()}
            for f in late:
                f.cancel()

    async def _ingest_until_done(self, group: list[_Message]) -> list[Outcome]:
        """Retry with backoff while the store is unreachable (it reconnects); a group member
        leaves the group meanwhile so the broker routes new batches to the others."""
        delay = 0.1
        messages = [(m.topic, m.payload) for m in group]
        while True:
            try:
                outcomes = await self.ingestor.ingest_group(messages, time.time_ns())
            except Unreachable as exc:  # the database: keep the messages, retry
                log.warning("store unreachable, retrying in %.1fs: %s", delay, exc)
                self._leave()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._rejoin()
            return outcomes

    def _leave(self) -> None:
        if self._persistent or self._left:
            return  # alone, the persistent session keeps the batches for us
        self._left = True
        log.warning(
            "leaving the shared group %r until the store answers", self.settings.shared_group
        )
        self.client.unsubscribe(self.settings.subscription)

    def _rejoin(self) -> None:
        if self._left:
            self._left = False
            log.info("store reachable again: rejoining the shared group")
            self.client.subscribe(self.settings.subscription, qos=1)


@contextlib.asynccontextmanager
async def mqtt_ingest(settings: MqttSettings, ingestor: Ingestor) -> AsyncIterator[MqttIngest]:
    async with MqttIngest(settings, ingestor) as m:
        yield m
