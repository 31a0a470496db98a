"""Entry chains and the index of heads, kept beside the log (docs/protocol.md §7.1.1, §7.3).

Links are written with each event, in the transaction that appends it: the `chains` table
holds every chain's head (count, last index, last leaf hash), read and advanced under the
log's row lock, so concurrent writers (several collectors on one PostgreSQL) link each
entry to exactly the one before it. The index is derived from the leaves themselves, as
anyone can: `IndexKeeper` applies the leaves appended since it last looked
(notary_core.heads.Index, which refuses a leaf whose link does not fit) and keeps the
snapshot of each index leaf, so a bundle proves heads at the checkpoint it names.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from notary_core import heads, smt
from notary_core.errors import BadData, Reason
from notary_core.logleaf import DEVICE_ACTIONS, RULE_ACTIONS, AccessEvent, Link, RegistryEvent

if TYPE_CHECKING:
    from collector.store.base import Tx

Event = RegistryEvent | AccessEvent
PAGE = 5000


def chain_names(e: Event) -> dict[str, str]:
    """The chains an event is on: link attribute -> chain name."""
    if isinstance(e, RegistryEvent):
        return {"link": f"d:{e.device_id}"}
    out = {"vehicle_link": f"v:{e.vehicle_id}"}
    if e.action in RULE_ACTIONS:
        out["rule_link"] = f"r:{e.vehicle_id}"
    if e.action in DEVICE_ACTIONS:
        out["device_link"] = f"d:{e.subject}"
    return out


async def link(tx: Tx, e: Event) -> tuple[Event, dict[str, str]]:
    """`e` with the links its chains' heads give it (the caller holds the log lock)."""
    names = chain_names(e)
    links: dict[str, Link] = {}
    for attr, name in names.items():
        row = await tx.one("SELECT n, last_index, last_hash FROM chains WHERE chain = ?", (name,))
        links[attr] = Link(0) if row is None else Link(int(row[0]), int(row[1]), bytes(row[2]))
    return replace(e, **links), names  # type: ignore[arg-type]


async def advance(tx: Tx, names: dict[str, str], index: int, leaf: bytes) -> None:
    h = heads.leaf_hash(leaf)
    for name in names.values():
        await tx.exec(
            "INSERT INTO chains (chain, n, last_index, last_hash) VALUES (?, 1, ?, ?) "
            "ON CONFLICT (chain) DO UPDATE SET n = chains.n + 1, last_index = excluded.last_index,"
            " last_hash = excluded.last_hash",
            (name, index, h),
        )


class IndexKeeper:
    """The index of heads in memory, caught up from the leaves table on demand."""

    def __init__(self) -> None:
        self.index = heads.Index()
        self._lock = asyncio.Lock()  # API requests and the checkpointer share one keeper

    async def catch_up(self, tx: Tx, size: int) -> heads.Index:
        """Apply the log's committed leaves [index.size, size). A leaf that does not fit (a
        link rewritten behind our back) raises INDEX_MISMATCH and nothing is signed over it."""
        async with self._lock:
            return await self._catch_up(tx, size)

    async def _catch_up(self, tx: Tx, size: int) -> heads.Index:
        while self.index.size < size:
            start = self.index.size
            rows = await tx.all(
                "SELECT idx, leaf FROM tlog_leaves WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, min(size, start + PAGE)),
            )
            if not rows:
                raise BadData(Reason.BAD_TREE_SIZE, f"log leaves from {start} are missing")
            for idx, leaf in rows:
                self.index.apply(int(idx), bytes(leaf))
        return self.index

    def snapshot(self, covered: int) -> smt.Snapshot:
        snap = self.index.snapshots.get(covered)
        if snap is None:
            raise BadData(Reason.INDEX_MISMATCH, f"no index snapshot covering {covered} leaves")
        return snap

    def prove(self, covered: int, key: bytes) -> tuple[bytes, tuple[bytes, ...]]:
        return self.index.prove(key, self.snapshot(covered))

    def chain_head(self, covered: int, key: bytes) -> bytes:
        """The head value (device or vehicle) as the index at `covered` held it."""
        return self.prove(covered, key)[0]
