"""Anchoring checkpoints on a chain: the `Anchor` interface and the chain-agnostic loop.

The contract (version 2, docs/protocol.md §7.4) keeps its head and takes an anchor only if
it extends that head, so the loop has one anchor in flight at a time and sends it with
prev = the contract's head, read just before. That head must be a checkpoint of our own
log (the empty head before the first anchor); anything else is a `CompetingHead`: an
anchor by another process, or our own store rewritten behind us. It is alarmed (CRITICAL)
and never overwritten: nothing more is sent to that contract.

The loop's state lives in the store (anchors table), so a restart or an RPC outage loses
nothing: a checkpoint is queued, sent, then final after N confirmations or once the
chain's `finalized` block covers it. A transaction that vanishes (dropped, reorged out) or
that the contract refused (the head moved under it) is queued again; a queued checkpoint
the head has already reached is looked up, not re-sent. Since the contract takes each size
once, a re-send can never anchor a checkpoint twice.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, replace

from collector.store.base import AnchorRow, Store
from notary_core import anchoring
from notary_core.errors import BadData, Reason, Unreachable

log = logging.getLogger(__name__)


class AnchorUnavailable(Unreachable):
    """The chain node did not answer or refused the call; retry later."""


class CompetingHead(BadData):
    """The contract's head is not a checkpoint of our log: stop anchoring there, alarm."""

    def __init__(self, contract: str, head: anchoring.Head, ours: bytes | None) -> None:
        mine = "a size our log does not have" if ours is None else f"our root {ours.hex()}"
        super().__init__(
            Reason.NOT_APPEND_ONLY,
            f"competing head on contract {contract}: size {head.size} root {head.root.hex()} "
            f"is not our checkpoint ({mine}); anchoring there stopped",
            contract=contract, size=head.size, root=head.root, ours=ours or b"",
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mined:
    block_number: int
    block_hash: bytes
    block_time: int = 0  # the block's timestamp (s): when the chain says the anchor existed


@dataclass(frozen=True, slots=True)
class Head:
    latest: int
    finalized: int | None


@dataclass(frozen=True, slots=True)
class Found:
    """Our contract's Anchored event for a root, in the canonical chain."""

    tx_hash: bytes
    mined: Mined
    prev_root: bytes


class Anchor(abc.ABC):
    """A chain backend. Every method raises only AnchorUnavailable on failure."""

    chain_id: int
    contract: str

    @abc.abstractmethod
    async def send(self, size: int, root: bytes, prev_size: int, prev_root: bytes) -> bytes:
        """Submit `anchor(size, root, prevSize, prevRoot)`; return the transaction hash."""

    @abc.abstractmethod
    async def status(self, tx_hash: bytes) -> Mined | str:
        """Mined(...) if it succeeded in the canonical chain; "reverted" if the contract
        refused it there; else "pending" or "unknown"."""

    @abc.abstractmethod
    async def find(self, root: bytes) -> Found | None:
        """Our contract's Anchored event for `root` in the canonical chain, if any."""

    @abc.abstractmethod
    async def anchored(self) -> anchoring.Head:
        """The contract's head (size, root) at the latest block."""

    @abc.abstractmethod
    async def head(self) -> Head: ...

    async def close(self) -> None:
        return None


class Anchorer:
    """Drives anchors through queued -> sent -> final; call `tick` when a checkpoint was
    published and while an anchor is in flight (collector/service.py rate-limits the sends
    with `send=False`)."""

    def __init__(
        self, store: Store, backend: Anchor, confirmations: int = 12, use_finalized: bool = False
    ) -> None:
        self.store = store
        self.backend = backend
        self.confirmations = confirmations
        self.use_finalized = use_finalized
        self.alarm: CompetingHead | None = None  # once set, nothing more is sent
        self.sends = 0  # transactions submitted by this process (a caller's rate limit)

    def _ours(self, row: AnchorRow) -> bool:
        """Rows of this chain and contract (a store may hold anchors of an older one)."""
        return (row.chain_id, row.contract) == (self.backend.chain_id, self.backend.contract)

    async def _rows(self) -> list[AnchorRow]:
        return [r for r in await self.store.anchors() if self._ours(r)]

    async def enqueue_latest(self, now_ns: int) -> AnchorRow | None:
        cp = await self.store.latest_published_checkpoint()  # its witness quorum, if any
        rows = await self._rows()
        if cp is None or (rows and rows[-1].size >= cp.size):
            return None
        for r in rows:
            if r.status == "queued":  # never sent: the newer checkpoint covers it
                await self.store.upsert_anchor(replace(r, status="superseded"))
        row = AnchorRow(cp.size, cp.root, bytes(32), "queued", None, None, None,
                        self.backend.chain_id, self.backend.contract, 0, now_ns)  # fmt: skip
        await self.store.upsert_anchor(row)
        return row

    async def tick(self, now_ns: int, *, send: bool = True) -> list[AnchorRow]:
        """One round: queue the latest checkpoint, follow the anchor in flight, send the
        newest queued one (with `send=False` it stays queued for a later round). Raises
        AnchorUnavailable when the node is down (what the round learnt is kept) and
        CompetingHead, from then on, once the contract's head is not ours."""
        if self.alarm is not None:
            raise self.alarm
        await self.enqueue_latest(now_ns)
        blocks = await self.backend.head()
        before = await self._rows()
        rows = [
            await self._follow(r, blocks, now_ns) if r.status == "sent" and r.tx_hash else r
            for r in before
        ]
        in_flight = any(r.status == "sent" and r.block_number is None for r in rows)
        try:
            chain = await self.backend.anchored()
            await self._check(chain)
            queued = [i for i, r in enumerate(rows) if r.status == "queued"]
            if queued and not in_flight and send:
                for i in queued[:-1]:
                    rows[i] = replace(rows[i], status="superseded", updated_utc_ns=now_ns)
                rows[queued[-1]] = await self._send(rows[queued[-1]], chain, blocks, now_ns)
        finally:  # what was learnt about the rows is kept, whatever stopped the round
            for old, new in zip(before, rows, strict=True):
                if new != old:
                    await self.store.upsert_anchor(new)
        return rows

    async def _follow(self, row: AnchorRow, blocks: Head, now_ns: int) -> AnchorRow:
        assert row.tx_hash is not None
        st = await self.backend.status(row.tx_hash)
        if isinstance(st, Mined):
            return self._mined(row, row.tx_hash, st, blocks, now_ns)
        if st == "pending":  # also a mined one a reorg put back in the mempool
            return replace(row, block_number=None, block_hash=None, block_time=None)
        if st == "reverted":
            log.warning("anchor of size %d refused by the contract (its head moved)", row.size)
        return replace(row, status="queued", block_number=None, block_hash=None,
                       block_time=None, updated_utc_ns=now_ns)  # fmt: skip

    async def _check(self, chain: anchoring.Head) -> None:
        if chain == anchoring.GENESIS:
            return
        size = await self.store.log_size()
        ours = await self.store.log_root(chain.size) if 0 < chain.size <= size else None
        if ours != chain.root:
            self.alarm = CompetingHead(self.backend.contract, chain, ours)
            log.critical("%s", self.alarm.message)
            raise self.alarm

    async def _send(
        self, row: AnchorRow, chain: anchoring.Head, blocks: Head, now_ns: int
    ) -> AnchorRow:
        if chain.size >= row.size:
            # The head (ours, checked) already reached it: our earlier send landed before
            # it was recorded, or a later checkpoint of ours is anchored. Never re-send.
            found = await self.backend.find(row.root)
            if found is None:
                return replace(row, status="superseded", updated_utc_ns=now_ns)
            row = replace(row, prev_root=found.prev_root)
            return self._mined(row, found.tx_hash, found.mined, blocks, now_ns)
        tx = await self.backend.send(row.size, row.root, chain.size, chain.root)
        self.sends += 1
        return replace(row, status="sent", tx_hash=tx, prev_root=chain.root,
                       attempts=row.attempts + 1, updated_utc_ns=now_ns)  # fmt: skip

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
