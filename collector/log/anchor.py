"""Anchoring checkpoints on a chain: the `Anchor` interface and the chain-agnostic loop.

The loop's state lives in the store (anchors table), so a restart or an RPC outage loses
nothing: a checkpoint is queued, sent, then final after N confirmations or once the chain's
`finalized` block covers it. A transaction that vanishes (dropped, reorged out) is queued
again; before any send the chain is searched for an existing event with the same root, so
a re-send never anchors the same checkpoint twice when the first one landed.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace

from collector.store.base import AnchorRow, Store
from notary_core.errors import Unreachable


class AnchorUnavailable(Unreachable):
    """The chain node did not answer or refused the call; retry later."""


@dataclass(frozen=True, slots=True)
class Mined:
    block_number: int
    block_hash: bytes
    block_time: int = 0  # the block's timestamp (s): when the chain says the anchor existed


@dataclass(frozen=True, slots=True)
class Head:
    latest: int
    finalized: int | None


class Anchor(abc.ABC):
    """A chain backend. Every method raises only AnchorUnavailable on failure."""

    chain_id: int
    contract: str

    @abc.abstractmethod
    async def send(self, size: int, root: bytes, prev_root: bytes) -> bytes:
        """Submit an anchor transaction; return its hash."""

    @abc.abstractmethod
    async def status(self, tx_hash: bytes) -> Mined | str:
        """Mined(...) if in the canonical chain, else "pending" or "unknown"."""

    @abc.abstractmethod
    async def find(self, root: bytes) -> tuple[bytes, Mined] | None:
        """An Anchored event of our contract for `root` in the canonical chain, if any."""

    @abc.abstractmethod
    async def head(self) -> Head: ...

    async def close(self) -> None:
        return None


class Anchorer:
    """Drives anchors through queued -> sent -> final; call `tick` every interval."""

    def __init__(
        self, store: Store, backend: Anchor, confirmations: int = 12, use_finalized: bool = False
    ) -> None:
        self.store = store
        self.backend = backend
        self.confirmations = confirmations
        self.use_finalized = use_finalized

    async def enqueue_latest(self, now_ns: int) -> AnchorRow | None:
        cp = await self.store.latest_published_checkpoint()  # its witness quorum, if any
        rows = await self.store.anchors()
        if cp is None or (rows and rows[-1].size >= cp.size):
            return None
        live = [r for r in rows if r.status in ("sent", "final")]
        prev_root = live[-1].root if live else bytes(32)
        for r in rows:
            if r.status == "queued":  # never sent: the newer checkpoint covers it
                await self.store.upsert_anchor(replace(r, status="superseded"))
        row = AnchorRow(
            cp.size,
            cp.root,
            prev_root,
            "queued",
            None,
            None,
            None,
            self.backend.chain_id,
            self.backend.contract,
            0,
            now_ns,
        )
        await self.store.upsert_anchor(row)
        return row

    async def tick(self, now_ns: int) -> list[AnchorRow]:
        """One round: queue the latest checkpoint, advance every open anchor. Raises
        AnchorUnavailable when the node is down; the rows stay as they were."""
        await self.enqueue_latest(now_ns)
        head = await self.backend.head()
        out = []
        for row in await self.store.anchors():
            now = row
            if row.status in ("queued", "sent"):
                now = await self._advance(row, head, now_ns)
                await self.store.upsert_anchor(now)
            out.append(now)
        return out

    async def _advance(self, row: AnchorRow, head: Head, now_ns: int) -> AnchorRow:
        if row.status == "sent" and row.tx_hash is not None:
            st = await self.backend.status(row.tx_hash)
            if st == "pending":
                return row
            if isinstance(st, Mined):
                return self._mined(row, row.tx_hash, st, head, now_ns)
            row = replace(row, status="queued", block_number=None, block_hash=None)
        found = await self.backend.find(row.root)
        if found is not None:
            return self._mined(row, found[0], found[1], head, now_ns)
        tx = await self.backend.send(row.size, row.root, row.prev_root)
        return replace(
            row, status="sent", tx_hash=tx, attempts=row.attempts + 1, updated_utc_ns=now_ns
        )

    def _mined(self, row: AnchorRow, tx: bytes, m: Mined, head: Head, now_ns: int) -> AnchorRow:
        depth = head.latest - m.block_number + 1
        final = (
            self.use_finalized and head.finalized is not None and m.block_number <= head.finalized
        ) or (not self.use_finalized and depth >= self.confirmations)
        return replace(
            row,
            status="final" if final else "sent",
            tx_hash=tx,
            block_number=m.block_number,
            block_hash=m.block_hash,
            block_time=m.block_time,
            updated_utc_ns=now_ns,
        )
