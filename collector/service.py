"""The running collector: ingest, checkpoints and anchoring as tasks of one TaskGroup.

async with Collector.open(settings) as c:   # store opened, migrated, keys loaded
    await c.run()                           # until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from collector.ingest.mqtt import MqttIngest
from collector.ingest.pipeline import Ingestor
from collector.log.anchor import Anchorer, AnchorUnavailable
from collector.log.anchor_evm import EvmAnchor
from collector.log.checkpoints import checkpoint_now
from collector.settings import Settings
from collector.store.base import Store
from collector.store.open import open_store
from notary_core.errors import Unreachable

log = logging.getLogger(__name__)


@dataclass
class Collector:
    settings: Settings
    store: Store
    ingestor: Ingestor
    mqtt: MqttIngest | None = None
    anchorer: Anchorer | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Collector]:
        async with contextlib.AsyncExitStack() as stack:
            store = await open_store(settings.store)
            stack.push_async_callback(store.close)
            ingestor = Ingestor(store, settings.receipt_signer(), settings.time.tolerance())
            c = cls(settings, store, ingestor)
            if settings.anchor is not None:
                a = settings.anchor
                # start_block: the contract's deployment block, once AnchorSettings has it.
                start = int(getattr(a, "start_block", 0))
                backend = await EvmAnchor.connect(a.rpc_url, a.private_key(), a.contract, start)
                stack.push_async_callback(backend.close)
                c.anchorer = Anchorer(store, backend, a.confirmations, a.use_finalized)
            if settings.mqtt is not None:
                c.mqtt = await stack.enter_async_context(MqttIngest(settings.mqtt, c.ingestor))
            yield c

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            if self.mqtt is not None:
                tg.create_task(self.mqtt.run())
            tg.create_task(self._checkpoints())
            if self.anchorer is not None:
                tg.create_task(self._anchoring())

    async def checkpoint(self) -> None:
        await checkpoint_now(
            self.store, self.settings.note_signer(), self.settings.origin, time.time_ns()
        )

    async def _checkpoints(self) -> None:
        while True:
            try:
                if await self.store.lead():  # one signer per shared store
                    await self.checkpoint()
            except Unreachable as exc:
                log.warning("checkpoint skipped: %s", exc)
            await asyncio.sleep(self.settings.checkpoint_interval_s)

    async def _anchoring(self) -> None:
        assert self.anchorer is not None and self.settings.anchor is not None
        while True:
            try:
                if await self.store.lead():  # one sender per shared store
                    await self.anchorer.tick(time.time_ns())
            except AnchorUnavailable as exc:
                log.warning("anchoring delayed: %s", exc)  # the queue is in the store
            except Unreachable as exc:
                log.warning("anchoring skipped: %s", exc)
            await asyncio.sleep(self.settings.anchor.interval_s)
