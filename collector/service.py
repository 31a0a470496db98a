"""The running collector: ingest, checkpoints, witnessing and anchoring as tasks of one
TaskGroup.

async with Collector.open(settings) as c:   # store opened, migrated, keys loaded
    await c.run()                           # until cancelled, or the signer guard refuses

Each signed checkpoint wakes the witness round (when witnesses are configured), and each
published one wakes the anchor loop: a checkpoint is sent to the chain as soon as the anchor
interval, a rate limit (at most one send per interval), allows, and an anchor in flight is
looked at every `anchor.poll_s` until it is final (issue 18, time to final).

A refusal of the signer guard (SignerRefused) ends `run`: `vnotary collector run` exits
non-zero, and a restart refuses at `open` until an operator acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from collector.ingest.mqtt import MqttIngest
from collector.ingest.pipeline import Ingestor
from collector.log.anchor import Anchorer, AnchorUnavailable, CompetingHead
from collector.log.anchor_evm import EvmAnchor
from collector.log.checkpoints import CheckpointSigner, SignerRefused
from collector.log.timestamps import Timestamper
from collector.log.witnesses import Witnessing
from collector.settings import Settings
from collector.store.base import CheckpointRow, Store
from collector.store.open import open_store
from notary_core.errors import BadData, Reason, Unreachable

log = logging.getLogger(__name__)


@dataclass
class Collector:
    settings: Settings
    store: Store
    ingestor: Ingestor
    signer: CheckpointSigner
    mqtt: MqttIngest | None = None
    anchorer: Anchorer | None = None
    witnessing: Witnessing | None = None
    timestamper: Timestamper | None = None
    witness_wake: asyncio.Event = field(default_factory=asyncio.Event)  # a checkpoint signed
    anchor_wake: asyncio.Event = field(default_factory=asyncio.Event)  # one published
    published_size: int = 0  # the newest published checkpoint the anchor loop was woken for

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Collector]:
        async with contextlib.AsyncExitStack() as stack:
            store = await open_store(settings.store_url())
            stack.push_async_callback(store.close)
            clients = settings.witness_clients()
            for client in clients:
                stack.push_async_callback(client.close)
            ingestor = Ingestor(
                store, settings.receipt_signer(), settings.time.tolerance(), settings.gap_grace_ns()
            )
            c = cls(settings, store, ingestor, settings.checkpoint_signer(store, clients))
            state = c.signer.state.load() if c.signer.state is not None else None
            if state is not None and state.halt is not None:
                raise SignerRefused(Reason.REWRITE, f"the signer is halted: {state.halt.message}")
            if clients:
                c.witnessing = Witnessing(store, clients, settings.witness_quorum)
            if settings.anchor is not None:
                a = settings.anchor
                backend = await EvmAnchor.connect(
                    a.rpc_url, a.private_key(), a.contract, a.start_block
                )
                stack.push_async_callback(backend.close)
                c.anchorer = Anchorer(store, backend, a.confirmations, a.use_finalized)
            tsas = settings.tsa_clients()
            for tsa in tsas:
                stack.push_async_callback(tsa.close)
            if tsas:
                c.timestamper = Timestamper(store, tsas)
            if settings.mqtt is not None:
                c.mqtt = await stack.enter_async_context(MqttIngest(settings.mqtt, c.ingestor))
            yield c

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            if self.mqtt is not None:
                tg.create_task(self.mqtt.run())
            tg.create_task(self._checkpoints())
            if self.witnessing is not None:
                tg.create_task(self._witness_rounds())
            if self.anchorer is not None:
                tg.create_task(self._anchoring())
            if self.timestamper is not None:
                tg.create_task(self._timestamping())

    async def checkpoint(self) -> CheckpointRow | None:
        cp = await self.signer.sign_if_grown(time.time_ns())
        if cp is not None:  # without witnesses a signed checkpoint is published
            (self.witness_wake if self.witnessing is not None else self.anchor_wake).set()
        return cp

    async def _checkpoints(self) -> None:
        while True:
            try:
                if await self.store.lead():  # one signer per shared store
                    await self.checkpoint()
                    await self._published_elsewhere()
                    if self.ingestor.gap_grace_ns > 0:  # holes that outlived it: gaps
                        await self.store.confirm_gaps(time.time_ns() - self.ingestor.gap_grace_ns)
            except Unreachable as exc:
                log.warning("checkpoint skipped: %s", exc)
            await asyncio.sleep(self.settings.checkpoint_interval_s)

    async def _published_elsewhere(self) -> None:
        """Wake anchoring for a checkpoint published by another process on the store, e.g.
        the one `vnotary collector serve` signs for an export (docs/access.md)."""
        if self.anchorer is None:
            return
        cp = await self.store.latest_published_checkpoint()
        if cp is not None and cp.size > self.published_size:
            self.published_size = cp.size
            self.anchor_wake.set()

    def alarms(self) -> list[str]:
        """What makes this collector not ready (a readiness probe answers false while any):
        a competing head on the anchor contract stops anchoring there until an operator
        acts (docs/collector.md, Anchoring)."""
        alarm = self.anchorer.alarm if self.anchorer is not None else None
        return [] if alarm is None else [alarm.message]

    async def _witness_rounds(self) -> None:
        assert self.witnessing is not None
        while True:
            try:
                # one client of the witnesses per shared store; a publication wakes anchoring
                if await self.store.lead() and await self.witnessing.tick(time.time_ns()):
                    self.anchor_wake.set()
            except Unreachable as exc:
                log.warning("witnessing delayed: %s", exc)  # what was cosigned is stored
            except BadData as exc:  # e.g. more witnesses than a note's signature lines
                log.error("witnessing round failed: %s", exc)
            await _woken(self.witness_wake, self.settings.checkpoint_interval_s)

    async def _anchoring(self) -> None:
        """Rounds of the anchorer: when a checkpoint is published (woken), every poll_s while
        an anchor is in flight, else every interval (another process's checkpoint in a shared
        store). A round sends only if the last send is an interval old; else what it queued
        is sent by the round at the end of the interval."""
        assert self.anchorer is not None and self.settings.anchor is not None
        a = self.settings.anchor
        last_send = -math.inf  # time.monotonic() of this process's last send
        while True:
            wait = a.interval_s
            try:
                if await self.store.lead():  # one sender per shared store
                    may_send = time.monotonic() - last_send >= a.interval_s
                    sends = self.anchorer.sends
                    try:
                        rows = await self.anchorer.tick(time.time_ns(), send=may_send)
                    finally:  # a round that failed after its send still counts the send
                        if self.anchorer.sends > sends:
                            last_send = time.monotonic()
                    if any(r.status == "sent" for r in rows):  # in flight or confirming
                        wait = min(wait, a.poll_s)
                    if not may_send and any(r.status == "queued" for r in rows):
                        wait = min(wait, last_send + a.interval_s - time.monotonic())
            except CompetingHead as exc:  # logged CRITICAL by the anchorer; ingest goes on
                log.critical("anchoring stopped: %s", exc.message)
                return
            except AnchorUnavailable as exc:
                log.warning("anchoring delayed: %s", exc)  # the queue is in the store
                wait = min(wait, a.poll_s * 5)
            except Unreachable as exc:
                log.warning("anchoring skipped: %s", exc)
            await _woken(self.anchor_wake, max(wait, 0.0))

    async def _timestamping(self) -> None:
        """RFC 3161 tokens of final anchors, in their own task: a TSA outage delays them
        and nothing else (collector/log/timestamps.py logs each failure)."""
        assert self.timestamper is not None and self.settings.anchor is not None
        while True:
            try:
                if await self.store.lead():  # one client of the TSAs per shared store
                    await self.timestamper.tick(time.time_ns())
            except Unreachable as exc:
                log.warning("timestamping skipped: %s", exc)
            await asyncio.sleep(self.settings.anchor.interval_s)


async def _woken(event: asyncio.Event, timeout_s: float) -> None:
    """Wait until `event` is set or `timeout_s` passed; clear it for the next wait."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout_s)
    event.clear()
