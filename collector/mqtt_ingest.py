"""MQTT v5 shell around `Ingestor`: mTLS as `collector`, QoS 1, manual acknowledgement.

The broker's PUBACK for a batch is sent only after the batch is committed (or quarantined)
and its receipt published, so a collector killed at any instant loses nothing: the broker
redelivers, and the store's idempotence turns the redelivery into a REPLAY + same receipt.
The session is persistent (clean_start off, session expiry) so batches published while the
collector is down wait in the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector import limits
from collector.ingest import Ingestor, Outcome, receipt_topic
from notary_core.errors import Unreachable

log = logging.getLogger(__name__)
BATCH_FILTER = "vn/v1/dev/+/batch"
SESSION_EXPIRY_S = 7 * 24 * 3600


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    ca_cert: str
    cert: str
    key: str
    client_id: str = "collector"
    shared_group: str | None = None  # "collectors" -> $share/collectors/vn/v1/dev/+/batch

    @property
    def subscription(self) -> str:
        return f"$share/{self.shared_group}/{BATCH_FILTER}" if self.shared_group else BATCH_FILTER


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttIngest:
    """`async with MqttIngest(settings, ingestor) as m: await m.run()`."""

    def __init__(self, settings: MqttSettings, ingestor: Ingestor) -> None:
        self.settings = settings
        self.ingestor = ingestor
        self.outcomes: asyncio.Queue[Outcome] | None = None  # for observers (tests, metrics)
        self._queue: asyncio.Queue[_Message] = asyncio.Queue(limits.INGEST_QUEUE)
        self._loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        c.tls_set(ca_certs=settings.ca_cert, certfile=settings.cert, keyfile=settings.key)
        c.reconnect_delay_set(1, 5)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self.client = c

    async def __aenter__(self) -> MqttIngest:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        try:
            await asyncio.to_thread(
                self.client.connect,
                self.settings.host,
                self.settings.port,
                30,
                "",
                0,
                False,
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
            c.subscribe(self.settings.subscription, qos=1)
            self._loop.call_soon_threadsafe(self._connected.set)
        else:
            log.warning("broker refused the collector: %s", rc)

    def _on_disconnect(self, c: mqtt.Client, u: Any, f: Any, rc: Any, props: Any) -> None:
        self._loop.call_soon_threadsafe(self._connected.clear)

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        m = _Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos)
        # Blocks paho's thread when the ingest task is behind: back-pressure to the broker.
        fut = asyncio.run_coroutine_threadsafe(self._queue.put(m), self._loop)
        with contextlib.suppress(Exception):
            fut.result()

    # the ingest task ------------------------------------------------------------------

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def run(self) -> None:
        """Ingest messages one at a time, forever (cancel to stop)."""
        while True:
            msg = await self._queue.get()
            outcome = await self._ingest_until_done(msg)
            if outcome.receipt is not None and outcome.device_id is not None:
                await self._publish_receipt(outcome.device_id, outcome.receipt)
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)
            if self.outcomes is not None:
                self.outcomes.put_nowait(outcome)

    async def _publish_receipt(self, device_id: str, receipt: bytes) -> None:
        # A receipt lost here is not a loss: the agent re-sends, we answer the REPLAY.
        try:
            info = self.client.publish(receipt_topic(device_id), receipt, 1)
            await asyncio.to_thread(info.wait_for_publish, 10)
        except (RuntimeError, ValueError) as exc:
            log.warning("receipt for %s not published: %s", device_id, exc)

    async def _ingest_until_done(self, msg: _Message) -> Outcome:
        delay = 0.1
        while True:
            try:
                return await self.ingestor.ingest(msg.topic, msg.payload, time.time_ns())
            except Unreachable as exc:  # the database: keep the message, retry
                log.warning("store unreachable, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


@contextlib.asynccontextmanager
async def mqtt_ingest(settings: MqttSettings, ingestor: Ingestor) -> AsyncIterator[MqttIngest]:
    async with MqttIngest(settings, ingestor) as m:
        yield m
