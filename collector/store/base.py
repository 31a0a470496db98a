"""The collector's repository interface: batches, quarantine, gaps, registry and the log.

Invariant logic lives here once (`SqlStore`); a backend supplies a connection, a
transaction hook and its schema (python-can's BusABC pattern). Every write that a receipt
depends on happens in one transaction, so nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import abc
import logging
import zlib
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from collector import limits
from collector.log import tree as tlog
from collector.log.leaves import RegistryAction, RegistryEvent, leaf_hash
from collector.store import index as heads_store
from notary_core.batch import split_records_block
from notary_core.errors import BadData, Reason
from notary_core.header import Beacon
from notary_core.logleaf import AccessEvent, BatchLeaf, IndexLeaf, LeafType

Row = tuple[Any, ...]


class Tx(abc.ABC):
    """One open transaction of a backend; SQL is written with `?` placeholders."""

    @abc.abstractmethod
    async def exec(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abc.abstractmethod
    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abc.abstractmethod
    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None


log = logging.getLogger(__name__)
DAY_NS = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class BatchRow:
    """What ingest stores for one verified batch (records as one compressed block)."""

    device_id: str
    batch_seq: int
    header_hash: bytes
    prev_header_hash: bytes
    signed_header: bytes
    salt_key: bytes
    records_block: bytes
    record_count: int
    first_utc_ns: int
    last_utc_ns: int
    received_utc_ns: int
    log_index: int = -1


@dataclass(frozen=True, slots=True)
class ChainContext:
    """What continuity checks need about a device around one batch_seq."""

    same: tuple[bytes, int] | None  # (header_hash, log_index) already stored at seq
    prev_hash: bytes | None  # header hash stored at seq - 1
    next_prev_hash: bytes | None  # prev_header_hash of the batch stored at seq + 1
    max_seq: int | None


@dataclass(frozen=True, slots=True)
class StoredTimes:
    """The signed times of a stored batch (the time checks of §6.2 compare with them)."""

    batch_seq: int
    first_utc_ns: int
    last_utc_ns: int


@dataclass(frozen=True, slots=True)
class DeviceKey:
    device_id: str
    key_id: bytes
    spki: bytes
    not_before_ns: int
    not_after_ns: int | None
    revoked_utc_ns: int | None
    log_index: int  # the registry event that enrolled this key


@dataclass(frozen=True, slots=True)
class Gap:
    device_id: str
    first_seq: int
    last_seq: int
    opened_utc_ns: int
    closed_utc_ns: int | None


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    id: int
    received_utc_ns: int
    topic: str
    device_id: str | None
    batch_seq: int | None
    reason: str
    detail: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class QuotaRow:
    """A source's quarantine for one UTC day: rows kept, and inputs only counted."""

    source: str
    day: int  # days since 1970-01-01 UTC
    kept_rows: int
    kept_bytes: int
    dropped_rows: int
    dropped_bytes: int
    last_reason: str


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    size: int
    root: bytes
    note: bytes
    signed_utc_ns: int


@dataclass(frozen=True, slots=True)
class AnchorRow:
    size: int
    root: bytes
    prev_root: bytes
    status: str  # queued | sent | final
    tx_hash: bytes | None
    block_number: int | None
    block_hash: bytes | None
    chain_id: int | None
    contract: str | None
    attempts: int
    updated_utc_ns: int
    block_time: int | None = None  # the block's timestamp (s), once mined


_GAP_COLS = "device_id, first_seq, last_seq, opened_utc_ns, closed_utc_ns"
_BATCH_COLS = (
    "device_id, batch_seq, header_hash, prev_header_hash, signed_header, salt_key, records_z, "
    "record_count, first_utc_ns, last_utc_ns, received_utc_ns, log_index"
)
_KEY_COLS = "device_id, key_id, spki, not_before_ns, not_after_ns, revoked_utc_ns, log_index"
_QUARANTINE_COLS = "id, received_utc_ns, topic, device_id, batch_seq, reason, detail, payload"
_QUOTA_COLS = "source, day, kept_rows, kept_bytes, dropped_rows, dropped_bytes, last_reason"
_ANCHOR_COLS = (
    "size, root, prev_root, status, tx_hash, block_number, block_hash, chain_id, contract, "
    "attempts, updated_utc_ns, block_time"
)


def compress(block: bytes) -> bytes:
    # Level 1: ~3x on CAN records at a fraction of level 6's cost (docs/performance.md, collector).
    return zlib.compress(block, 1)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)


class Store(abc.ABC):
    """Async repository; use as `async with open_store(url) as store:`."""

    frontier: tlog.Frontier

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def lead(self) -> bool:
        """Whether this process is the one that sequences checkpoints and anchors when
        several collectors share the store (ARCHITECTURE.md § Scale); call every interval:
        a follower takes over once the leader is gone. An embedded store has one process."""
        return True

    # -- log ---------------------------------------------------------------------------

    async def _append(self, tx: Tx, leaves: Sequence[bytes], now_ns: int) -> int:
        """Append leaves inside `tx`; return the index of the first. Serialised by the
        meta row lock, and the frontier is reloaded if another process appended."""
        frontier = await self._lock_log(tx)
        first = frontier.size
        await self._write_leaves(tx, frontier, leaves, now_ns)
        self._pending_frontier = frontier
        return first

    async def _lock_log(self, tx: Tx) -> tlog.Frontier:
        """Take the log's row lock; return a private copy of the current right edge."""
        row = await tx.one(self._lock_meta_sql)
        size = int(row[0]) if row else 0
        if size != self.frontier.size:
            self.frontier = await self._load_frontier(tx, size)
        return tlog.Frontier(self.frontier.size, list(self.frontier.hashes))

    async def _write_leaves(
        self, tx: Tx, frontier: tlog.Frontier, leaves: Sequence[bytes], now_ns: int
    ) -> None:
        """Extend `frontier` by `leaves` and write leaves, new nodes and size: one
        executemany per table however many leaves (group commit appends many)."""
        if not leaves:
            return
        first = frontier.size
        nodes: list[tuple[int, int, bytes]] = []
        for data in leaves:
            nodes.extend(frontier.append(leaf_hash(data)))
        await tx.many(
            "INSERT INTO tlog_leaves (idx, leaf, added_utc_ns) VALUES (?, ?, ?)",
            [(first + i, d, now_ns) for i, d in enumerate(leaves)],
        )
        await tx.many("INSERT INTO tlog_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
        await tx.exec("UPDATE tlog_meta SET size = ? WHERE id = 1", (frontier.size,))

    _lock_meta_sql = "SELECT size FROM tlog_meta WHERE id = 1"
    _pending_frontier: tlog.Frontier | None = None

    def _committed(self) -> None:
        if self._pending_frontier is not None:
            self.frontier, self._pending_frontier = self._pending_frontier, None

    async def _load_frontier(self, tx: Tx, size: int) -> tlog.Frontier:
        want = tlog.Frontier.nodes_for(size)
        got = await self._nodes(tx, set(want))
        return tlog.Frontier(size, [got[n] for n in want])

    async def _nodes(self, tx: Tx, wanted: set[tlog.Node]) -> dict[tlog.Node, bytes]:
        out: dict[tlog.Node, bytes] = {}
        by_level: dict[int, list[int]] = {}
        for level, idx in wanted:
            by_level.setdefault(level, []).append(idx)
        for level, idxs in by_level.items():
            marks = ",".join("?" * len(idxs))
            rows = await tx.all(
                f"SELECT idx, hash FROM tlog_nodes WHERE level = ? AND idx IN ({marks})",  # noqa: S608
                (level, *idxs),
            )
            for idx, h in rows:
                out[(level, int(idx))] = bytes(h)
        if len(out) != len(wanted):
            raise BadData(Reason.BAD_TREE_SIZE, "log nodes missing: size beyond the log")
        return out

    async def append_event(
        self, tx: Tx, e: RegistryEvent | AccessEvent, now_ns: int
    ) -> tuple[int, RegistryEvent | AccessEvent]:
        """Append a registry or access event inside `tx`, linked into its chains (§7.1.1):
        the chains' heads are read and advanced under the log's row lock."""
        await self._lock_log(tx)
        linked, names = await heads_store.link(tx, e)
        leaf = linked.to_leaf()
        index = await self._append(tx, [leaf], now_ns)
        await heads_store.advance(tx, names, index, leaf)
        return index, linked

    @property
    def keeper(self) -> heads_store.IndexKeeper:
        keeper: heads_store.IndexKeeper | None = getattr(self, "_keeper", None)
        if keeper is None:
            keeper = self._keeper = heads_store.IndexKeeper()
        return keeper

    async def append_index_leaf(self, now_ns: int) -> int | None:
        """Append the index leaf over everything before it (§7.3) unless the log already
        ends in one; return the size a checkpoint must be signed at (None: empty log)."""
        async with self.transaction() as tx:
            frontier = await self._lock_log(tx)
            size = frontier.size
            if size == 0:
                return None
            last = await tx.one("SELECT leaf FROM tlog_leaves WHERE idx = ?", (size - 1,))
            if last is not None and bytes(last[0])[:1] == bytes([LeafType.INDEX]):
                await self.keeper.catch_up(tx, size)
                return size
            index = await self.keeper.catch_up(tx, size)
            leaf = index.index_leaf()
            await self._append(tx, [leaf], now_ns)
        self._committed()  # the keeper reads the index leaf back like any other leaf
        return size + 1

    async def index_at(self, tx: Tx, size: int) -> heads_store.IndexKeeper:
        """The keeper, caught up to at least `size` inside the caller's `tx`, whose snapshot
        at `size - 1` proves the heads of the checkpoint of that size."""
        await self.keeper.catch_up(tx, size)
        leaf = await tx.one("SELECT leaf FROM tlog_leaves WHERE idx = ?", (size - 1,))
        if leaf is None:
            raise BadData(Reason.BAD_TREE_SIZE, f"no log entry {size - 1}")
        IndexLeaf.from_leaf(bytes(leaf[0]))  # the checkpoint's last leaf must be its index
        return self.keeper

    async def append_leaves(self, leaves: Sequence[bytes], now_ns: int) -> int:
        async with self.transaction() as tx:
            first = await self._append(tx, leaves, now_ns)
        self._committed()
        return first

    async def log_size(self) -> int:
        async with self.transaction() as tx:
            row = await tx.one("SELECT size FROM tlog_meta WHERE id = 1")
        return int(row[0]) if row else 0

    async def log_root(self, size: int) -> bytes:
        if size == 0:
            return tlog.Frontier().root
        async with self.transaction() as tx:
            want = tlog.Frontier.nodes_for(size)
            got = await self._nodes(tx, set(want))
        return tlog.fold([got[n] for n in want])

    async def leaf(self, index: int) -> bytes:
        async with self.transaction() as tx:
            row = await tx.one("SELECT leaf FROM tlog_leaves WHERE idx = ?", (index,))
        if row is None:
            raise BadData(Reason.BAD_INDEX, f"no log entry {index}")
        return bytes(row[0])

    async def _proof(self, plan: tlog.Plan) -> list[bytes]:
        async with self.transaction() as tx:
            nodes = await self._nodes(tx, tlog.plan_nodes(plan))
        return tlog.resolve(plan, nodes)

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        await self._check_size(size)
        return await self._proof(tlog.inclusion_plan(index, size))

    async def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        await self._check_size(size2)
        return await self._proof(tlog.consistency_plan(size1, size2))

    async def _check_size(self, size: int) -> None:
        if not 0 < size <= await self.log_size():
            raise BadData(Reason.BAD_TREE_SIZE, f"tree size {size} is not in this log")

    async def init_frontier(self) -> None:
        async with self.transaction() as tx:
            row = await tx.one("SELECT size FROM tlog_meta WHERE id = 1")
            self.frontier = await self._load_frontier(tx, int(row[0]) if row else 0)

    # -- batches -----------------------------------------------------------------------

    async def chain_context(self, device_id: str, seq: int) -> ChainContext:
        async with self.transaction() as tx:
            group = IngestGroup(self, tx, tlog.Frontier(), 0)
            return await group.chain_context(device_id, seq)

    @asynccontextmanager
    async def ingest_group(
        self, now_ns: int, pending_gaps: bool = False
    ) -> AsyncIterator[IngestGroup]:
        """One transaction for a group of verified batches and rejected inputs (group
        commit): everything in it is durable at once, or, on any error or a crash, none of
        it is. Serialised with every other log append by the log's row lock. With
        `pending_gaps` a new hole is recorded pending (`confirm_gaps` makes it a gap)."""
        async with self.transaction() as tx:
            group = IngestGroup(self, tx, await self._lock_log(tx), now_ns, pending_gaps)
            yield group
            await group.flush()
        self.frontier = group.frontier

    async def commit_batch(self, b: BatchRow) -> int:
        """Store one verified batch, append its header hash to the log and update gaps, in
        one transaction. Returns its log index. An already stored (device, seq) raises."""
        async with self.ingest_group(b.received_utc_ns) as g:
            if (await g.chain_context(b.device_id, b.batch_seq)).same is not None:
                raise BadData(Reason.REPLAY, "batch already stored")
            index = await g.add_batch(b, compress(b.records_block))
        return index

    async def confirm_gaps(self, opened_before_ns: int) -> int:
        """Make the pending holes opened before this time gaps (they outlived the grace:
        data is missing); return how many. A gap keeps the time its hole was opened."""
        async with self.transaction() as tx:
            # The log's row lock serialises this with every ingest group, which may be
            # deleting or splitting one of these holes.
            await tx.one(self._lock_meta_sql)
            rows = await tx.all(
                "SELECT COUNT(*) FROM gaps WHERE pending = 1 AND opened_utc_ns < ?",
                (opened_before_ns,),
            )
            await tx.exec(
                "UPDATE gaps SET pending = 0 WHERE pending = 1 AND opened_utc_ns < ?",
                (opened_before_ns,),
            )
        return int(rows[0][0]) if rows else 0

    async def gaps(self, device_id: str, open_only: bool = True) -> list[Gap]:
        """The device's gaps (never the pending holes, which are not gaps yet)."""
        cond = " AND pending = 0" + (" AND closed_utc_ns IS NULL" if open_only else "")
        async with self.transaction() as tx:
            rows = await tx.all(
                f"SELECT {_GAP_COLS} FROM gaps WHERE device_id = ?{cond} ORDER BY first_seq",  # noqa: S608
                (device_id,),
            )
        return [Gap(r[0], int(r[1]), int(r[2]), int(r[3]), r[4]) for r in rows]

    async def batch(self, device_id: str, seq: int) -> BatchRow | None:
        rows = await self._batches("device_id = ? AND batch_seq = ?", (device_id, seq))
        return rows[0] if rows else None

    async def batches_between(self, device_id: str, from_ns: int, to_ns: int) -> list[BatchRow]:
        """Batches of a device whose time span meets [from_ns, to_ns], in seq order."""
        return await self._batches(
            "device_id = ? AND last_utc_ns >= ? AND first_utc_ns <= ?", (device_id, from_ns, to_ns)
        )

    async def _batches(self, where: str, params: Sequence[Any]) -> list[BatchRow]:
        async with self.transaction() as tx:
            rows = await tx.all(
                f"SELECT {_BATCH_COLS} FROM batches WHERE {where} ORDER BY batch_seq",  # noqa: S608
                params,
            )
        return [
            BatchRow(
                r[0],
                int(r[1]),
                bytes(r[2]),
                bytes(r[3]),
                bytes(r[4]),
                bytes(r[5]),
                decompress(bytes(r[6])),
                int(r[7]),
                int(r[8]),
                int(r[9]),
                int(r[10]),
                int(r[11]),
            )
            for r in rows
        ]

    # -- quarantine ----------------------------------------------------------------------

    async def quarantine(
        self,
        received_utc_ns: int,
        topic: str,
        device_id: str | None,
        batch_seq: int | None,
        reason: str,
        detail: str,
        payload: bytes,
    ) -> int:
        async with self.transaction() as tx:
            return await _quarantine(
                tx, received_utc_ns, topic, device_id, batch_seq, reason, detail, payload
            )

    async def quarantined(
        self, reason: str | None = None, limit: int = 1000
    ) -> list[QuarantineRow]:
        where, params = ("WHERE reason = ?", (reason, limit)) if reason else ("", (limit,))
        async with self.transaction() as tx:
            rows = await tx.all(
                f"SELECT {_QUARANTINE_COLS} FROM quarantine {where} ORDER BY id LIMIT ?",  # noqa: S608
                params,
            )
        return [
            QuarantineRow(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], bytes(r[7]))
            for r in rows
        ]

    async def quarantine_quotas(self, source: str | None = None) -> list[QuotaRow]:
        """Per source and day: the quarantine kept, and what was only counted past quota."""
        where, params = ("WHERE source = ?", (source,)) if source else ("", ())
        async with self.transaction() as tx:
            rows = await tx.all(
                f"SELECT {_QUOTA_COLS} FROM quarantine_quota {where} "  # noqa: S608
                "ORDER BY day, source",
                params,
            )
        return [QuotaRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), r[6])
                for r in rows]  # fmt: skip

    # -- registry ------------------------------------------------------------------------

    async def device_keys(self, device_id: str) -> list[DeviceKey]:
        return (await self.device_keys_of([device_id])).get(device_id, [])

    async def device_keys_of(self, device_ids: Collection[str]) -> dict[str, list[DeviceKey]]:
        """The registered keys of several devices in one query (a group's devices)."""
        if not device_ids:
            return {}
        marks = ",".join("?" * len(device_ids))
        async with self.transaction() as tx:
            where = f"WHERE device_id IN ({marks}) ORDER BY device_id, log_index"
            rows = await tx.all(f"SELECT {_KEY_COLS} FROM device_keys {where}", list(device_ids))  # noqa: S608
        out: dict[str, list[DeviceKey]] = {}
        for r in rows:
            key = DeviceKey(r[0], bytes(r[1]), bytes(r[2]), int(r[3]), r[4], r[5], int(r[6]))
            out.setdefault(key.device_id, []).append(key)
        return out

    async def list_devices(self) -> list[DeviceKey]:
        async with self.transaction() as tx:
            rows = await tx.all(
                "SELECT device_id, key_id, spki, not_before_ns, not_after_ns, revoked_utc_ns, "
                "log_index FROM device_keys ORDER BY device_id, log_index"
            )
        return [
            DeviceKey(r[0], bytes(r[1]), bytes(r[2]), int(r[3]), r[4], r[5], int(r[6]))
            for r in rows
        ]

    async def add_device_key(
        self,
        device_id: str,
        spki: bytes,
        key_id: bytes,
        not_before_ns: int,
        not_after_ns: int | None,
        now_ns: int,
    ) -> RegistryEvent:
        """Enrol a device's first key, or rotate in a new one: the keys it supersedes stop
        being valid at the new key's not_before. Logged as a registry event."""
        async with self.transaction() as tx:
            rows = await tx.all(
                "SELECT key_id, not_after_ns FROM device_keys WHERE device_id = ? "
                "AND revoked_utc_ns IS NULL",
                (device_id,),
            )
            if any(bytes(r[0]) == key_id for r in rows):
                raise BadData(Reason.BAD_KEY, "this key is already enrolled for the device")
            action = RegistryAction.ROTATE if rows else RegistryAction.ENROL
            event = RegistryEvent(
                action, device_id, spki, key_id, not_before_ns, not_after_ns, now_ns
            )
            index, linked = await self.append_event(tx, event, now_ns)
            assert isinstance(linked, RegistryEvent)
            event = linked
            for r in rows:
                if r[1] is None or int(r[1]) > not_before_ns:
                    await tx.exec(
                        "UPDATE device_keys SET not_after_ns = ? WHERE device_id = ? "
                        "AND key_id = ?",
                        (not_before_ns, device_id, bytes(r[0])),
                    )
            await tx.exec(
                "INSERT INTO device_keys (device_id, key_id, spki, not_before_ns, not_after_ns, "
                "revoked_utc_ns, log_index) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (device_id, key_id, spki, not_before_ns, not_after_ns, index),
            )
        self._committed()
        return event

    async def revoke_device(self, device_id: str, now_ns: int) -> list[RegistryEvent]:
        """Revoke every live key of a device; each revocation is a log entry."""
        keys = [k for k in await self.device_keys(device_id) if k.revoked_utc_ns is None]
        if not keys:
            raise BadData(Reason.UNKNOWN_KEY, f"device {device_id!r} has no live key")
        events = [
            RegistryEvent(
                RegistryAction.REVOKE,
                device_id,
                k.spki,
                k.key_id,
                k.not_before_ns,
                k.not_after_ns,
                now_ns,
            )
            for k in keys
        ]
        linked: list[RegistryEvent] = []
        async with self.transaction() as tx:
            for e in events:
                _, le = await self.append_event(tx, e, now_ns)
                assert isinstance(le, RegistryEvent)
                linked.append(le)
            await tx.exec(
                "UPDATE device_keys SET revoked_utc_ns = ? WHERE device_id = ? "
                "AND revoked_utc_ns IS NULL",
                (now_ns, device_id),
            )
        self._committed()
        return linked

    # -- checkpoints and anchors -----------------------------------------------------------

    async def add_checkpoint(self, cp: CheckpointRow) -> None:
        async with self.transaction() as tx:
            await tx.exec(
                "INSERT INTO checkpoints (size, root, note, signed_utc_ns) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (size) DO NOTHING",
                (cp.size, cp.root, cp.note, cp.signed_utc_ns),
            )

    async def latest_checkpoint(self) -> CheckpointRow | None:
        return await self._checkpoint("ORDER BY size DESC LIMIT 1", ())

    async def checkpoint_at(self, size: int) -> CheckpointRow | None:
        return await self._checkpoint("WHERE size = ?", (size,))

    async def latest_published_checkpoint(self) -> CheckpointRow | None:
        """The newest checkpoint with its witness quorum (collector/log/witnesses.py); its
        `note` carries the cosignatures. What the API serves, anchors and bundles use."""
        async with self.transaction() as tx:
            r = await tx.one(
                "SELECT size, root, cosigned_note, published_utc_ns FROM checkpoints "
                "WHERE cosigned_note IS NOT NULL ORDER BY size DESC LIMIT 1"
            )
        return None if r is None else CheckpointRow(int(r[0]), bytes(r[1]), bytes(r[2]), int(r[3]))

    async def _checkpoint(self, tail: str, params: Sequence[Any]) -> CheckpointRow | None:
        async with self.transaction() as tx:
            r = await tx.one(
                f"SELECT size, root, note, signed_utc_ns FROM checkpoints {tail}",  # noqa: S608
                params,
            )
        return None if r is None else CheckpointRow(int(r[0]), bytes(r[1]), bytes(r[2]), int(r[3]))

    async def upsert_anchor(self, a: AnchorRow) -> None:
        async with self.transaction() as tx:
            await tx.exec("DELETE FROM anchors WHERE size = ?", (a.size,))
            await tx.exec(
                "INSERT INTO anchors (size, root, prev_root, status, tx_hash, block_number, "
                "block_hash, chain_id, contract, attempts, updated_utc_ns, block_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.size,
                    a.root,
                    a.prev_root,
                    a.status,
                    a.tx_hash,
                    a.block_number,
                    a.block_hash,
                    a.chain_id,
                    a.contract,
                    a.attempts,
                    a.updated_utc_ns,
                    a.block_time,
                ),
            )

    async def latest_beacon(self) -> Beacon | None:
        """The block of the latest final anchor, for receipts (§6.1); None before the first."""
        async with self.transaction() as tx:
            r = await tx.one(
                "SELECT chain_id, block_number, block_hash, block_time FROM anchors "
                "WHERE status = 'final' AND block_hash IS NOT NULL AND block_time IS NOT NULL "
                "ORDER BY size DESC LIMIT 1"
            )
        if r is None or r[0] is None or r[1] is None:
            return None
        return Beacon(int(r[0]), int(r[1]), bytes(r[2]), int(r[3]))

    async def unstamped(self, tsa: str, limit: int) -> list[tuple[int, bytes]]:
        """(size, note) of final-anchored checkpoints with no token of `tsa`, newest first."""
        async with self.transaction() as tx:
            rows = await tx.all(
                "SELECT c.size, c.note FROM anchors a JOIN checkpoints c ON c.size = a.size "
                "WHERE a.status = 'final' AND NOT EXISTS (SELECT 1 FROM timestamps t "
                "WHERE t.size = a.size AND t.tsa = ?) ORDER BY a.size DESC LIMIT ?",
                (tsa, limit),
            )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def add_timestamp(
        self, size: int, tsa: str, token: bytes, gen_time_ns: int, now_ns: int
    ) -> None:
        async with self.transaction() as tx:
            await tx.exec(
                "INSERT INTO timestamps (size, tsa, token, gen_time_ns, received_utc_ns) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (size, tsa) DO NOTHING",
                (size, tsa, token, gen_time_ns, now_ns),
            )

    async def timestamps(self, size: int) -> list[bytes]:
        """The tokens over the checkpoint of this size, in the order of their TSAs' urls."""
        async with self.transaction() as tx:
            rows = await tx.all("SELECT token FROM timestamps WHERE size = ? ORDER BY tsa",
                                (size,))  # fmt: skip
        return [bytes(r[0]) for r in rows]

    async def anchors(self, status: str | None = None) -> list[AnchorRow]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        async with self.transaction() as tx:
            rows = await tx.all(
                f"SELECT {_ANCHOR_COLS} FROM anchors {where} ORDER BY size",  # noqa: S608
                params,
            )
        return [
            AnchorRow(
                int(r[0]),
                bytes(r[1]),
                bytes(r[2]),
                r[3],
                None if r[4] is None else bytes(r[4]),
                r[5],
                None if r[6] is None else bytes(r[6]),
                r[7],
                r[8],
                int(r[9]),
                int(r[10]),
                None if r[11] is None else int(r[11]),
            )
            for r in rows
        ]


async def _quarantine(
    tx: Tx,
    received_utc_ns: int,
    topic: str,
    device_id: str | None,
    batch_seq: int | None,
    reason: str,
    detail: str,
    payload: bytes,
) -> int:
    row = await tx.one(
        "INSERT INTO quarantine (received_utc_ns, topic, device_id, batch_seq, reason, "
        "detail, payload) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (received_utc_ns, topic, device_id, batch_seq, reason, detail[:2000], payload),
    )
    return int(row[0]) if row else 0


class IngestGroup:
    """The open transaction of one ingest group: chain context, batches, quarantine.

    Reads of the batches table are prefetched for the whole group in two queries, and the
    group's own batches are kept in memory, so a batch sees every earlier batch of its
    group exactly as one-by-one ingest would. Batch rows, log leaves and nodes are written
    by one executemany each in `flush`, just before the commit.
    """

    def __init__(
        self, store: Store, tx: Tx, frontier: tlog.Frontier, now_ns: int, pending_gaps: bool = False
    ) -> None:
        self._store, self._tx, self.frontier, self._now = store, tx, frontier, now_ns
        self._pending = 1 if pending_gaps else 0
        # (device, seq) -> (header hash, prev hash, log index, first utc, last utc)
        self._known: dict[tuple[str, int], tuple[bytes, bytes, int, int, int]] = {}
        self._fetched: set[tuple[str, int]] = set()
        self._max: dict[str, int | None] = {}
        self._rows: list[tuple[Any, ...]] = []
        self._leaves: list[bytes] = []

    async def prefetch(self, wanted: Collection[tuple[str, int]]) -> None:
        """Read what `chain_context` will need for these (device, seq), in two queries."""
        keys = {(d, s + k) for d, s in wanted for k in (-1, 0, 1) if s + k >= 0}
        keys -= self._fetched
        devices = sorted({d for d, _s in wanted} - self._max.keys())
        if keys:
            marks = ",".join(["(?, ?)"] * len(keys))
            cols = (
                "device_id, batch_seq, header_hash, prev_header_hash, log_index, "
                "first_utc_ns, last_utc_ns"
            )
            where = f"WHERE (device_id, batch_seq) IN (VALUES {marks})"
            rows = await self._tx.all(
                f"SELECT {cols} FROM batches {where}",  # noqa: S608
                [v for k in sorted(keys) for v in k],
            )
            for r in rows:
                self._known[(r[0], int(r[1]))] = (
                    bytes(r[2]), bytes(r[3]), int(r[4]), int(r[5]), int(r[6])
                )  # fmt: skip
            self._fetched |= keys
        if devices:
            marks = " UNION ALL ".join(
                ["SELECT ?, (SELECT MAX(batch_seq) FROM batches WHERE device_id = ?)"]
                * len(devices)
            )
            rows = await self._tx.all(marks, [v for d in devices for v in (d, d)])
            for r in rows:
                self._max[r[0]] = None if r[1] is None else int(r[1])

    async def chain_context(self, device_id: str, seq: int) -> ChainContext:
        await self.prefetch([(device_id, seq)])
        same = self._known.get((device_id, seq))
        prev = self._known.get((device_id, seq - 1)) if seq > 0 else None
        nxt = self._known.get((device_id, seq + 1))
        return ChainContext(
            same=(same[0], same[2]) if same else None,
            prev_hash=prev[0] if prev else None,
            next_prev_hash=nxt[1] if nxt else None,
            max_seq=self._max[device_id],
        )

    async def add_batch(self, b: BatchRow, records_z: bytes) -> int:
        """Store a verified batch (records already compressed, outside the transaction);
        return its log index. The caller checked the chain context."""
        ctx = await self.chain_context(b.device_id, b.batch_seq)
        if ctx.same is not None:
            raise BadData(Reason.REPLAY, "batch already stored")
        index = self.frontier.size + len(self._leaves)
        self._leaves.append(BatchLeaf(b.header_hash, b.batch_seq, b.device_id).to_leaf())
        self._rows.append(
            (
                b.device_id,
                b.batch_seq,
                b.header_hash,
                b.prev_header_hash,
                b.signed_header,
                b.salt_key,
                records_z,
                b.record_count,
                b.first_utc_ns,
                b.last_utc_ns,
                b.received_utc_ns,
                index,
            )
        )
        self._known[(b.device_id, b.batch_seq)] = (
            b.header_hash, b.prev_header_hash, index, b.first_utc_ns, b.last_utc_ns
        )  # fmt: skip
        if ctx.max_seq is None or b.batch_seq > ctx.max_seq:
            self._max[b.device_id] = b.batch_seq
        await self._update_gaps(b.device_id, b.batch_seq, ctx.max_seq, b.received_utc_ns)
        return index

    async def predecessor(self, device_id: str, seq: int) -> StoredTimes | None:
        """The nearest batch stored (or stored earlier in this group) before `seq`."""
        if seq == 0:
            return None
        got = self._known.get((device_id, seq - 1))
        if got is not None:
            return StoredTimes(seq - 1, got[3], got[4])
        row = await self._tx.one(
            "SELECT batch_seq, first_utc_ns, last_utc_ns FROM batches WHERE device_id = ? "
            "AND batch_seq < ? ORDER BY batch_seq DESC LIMIT 1",
            (device_id, seq),
        )
        best = None if row is None else StoredTimes(int(row[0]), int(row[1]), int(row[2]))
        for (d, s), v in self._known.items():  # this group's batches are not in the table yet
            if d == device_id and s < seq and (best is None or s > best.batch_seq):
                best = StoredTimes(s, v[3], v[4])
        return best

    async def records_of(self, device_id: str, seq: int) -> list[bytes]:
        """The records of a batch stored before, or earlier in this group."""
        for r in self._rows:
            if r[0] == device_id and r[1] == seq:
                return split_records_block(decompress(r[6]))
        row = await self._tx.one(
            "SELECT records_z FROM batches WHERE device_id = ? AND batch_seq = ?",
            (device_id, seq),
        )
        return [] if row is None else split_records_block(decompress(bytes(row[0])))

    async def quarantine(
        self,
        topic: str,
        device_id: str | None,
        batch_seq: int | None,
        reason: str,
        detail: str,
        payload: bytes,
        source: str | None = None,
    ) -> int | None:
        """Keep a rejected input as a quarantine row (its id). With a `source`, within that
        source's daily quota only (collector/limits.py): past it the input is only counted
        in quarantine_quota and None is returned."""
        if source is not None and not await self._within_quota(source, len(payload), reason):
            return None
        return await _quarantine(
            self._tx, self._now, topic, device_id, batch_seq, reason, detail, payload
        )

    async def _within_quota(self, source: str, size: int, reason: str) -> bool:
        day = self._now // DAY_NS
        row = await self._tx.one(
            "SELECT kept_rows, kept_bytes, dropped_rows FROM quarantine_quota "
            "WHERE source = ? AND day = ?",
            (source, day),
        )
        kept_rows, kept_bytes, dropped = (0, 0, 0) if row is None else map(int, row)
        keep = (
            kept_rows < limits.QUARANTINE_ROWS_PER_DAY
            and kept_bytes < limits.QUARANTINE_BYTES_PER_DAY
        )
        if not keep and dropped == 0:
            log.warning("quarantine quota of %s reached for today: counting, not keeping", source)
        k, d = (1, 0) if keep else (0, 1)
        await self._tx.exec(
            "INSERT INTO quarantine_quota (source, day, kept_rows, kept_bytes, dropped_rows, "
            "dropped_bytes, last_reason) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, day) "
            "DO UPDATE SET kept_rows = quarantine_quota.kept_rows + excluded.kept_rows, "
            "kept_bytes = quarantine_quota.kept_bytes + excluded.kept_bytes, "
            "dropped_rows = quarantine_quota.dropped_rows + excluded.dropped_rows, "
            "dropped_bytes = quarantine_quota.dropped_bytes + excluded.dropped_bytes, "
            "last_reason = excluded.last_reason",
            (source, day, k, size * k, d, size * d, reason),
        )
        return keep

    async def flush(self) -> None:
        await self._tx.many(
            f"INSERT INTO batches ({_BATCH_COLS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._rows,
        )
        await self._store._write_leaves(self._tx, self.frontier, self._leaves, self._now)
        self._rows, self._leaves = [], []

    async def _update_gaps(self, device_id: str, seq: int, max_seq: int | None, now: int) -> None:
        tx = self._tx
        expected = 0 if max_seq is None else max_seq + 1
        if seq > expected:
            await tx.exec(
                "INSERT INTO gaps (device_id, first_seq, last_seq, opened_utc_ns, pending) "
                "VALUES (?, ?, ?, ?, ?)",
                (device_id, expected, seq - 1, now, self._pending),
            )
            return
        if seq == expected:
            return
        row = await tx.one(
            "SELECT first_seq, last_seq, opened_utc_ns, pending FROM gaps WHERE device_id = ? "
            "AND closed_utc_ns IS NULL AND first_seq <= ? AND last_seq >= ?",
            (device_id, seq, seq),
        )
        if row is None:
            return
        first, last, opened, pending = int(row[0]), int(row[1]), int(row[2]), int(row[3])
        if pending:  # a hole filled within the grace was never a gap: no record of it
            await tx.exec(
                "DELETE FROM gaps WHERE device_id = ? AND first_seq = ? AND pending = 1 "
                "AND closed_utc_ns IS NULL",
                (device_id, first),
            )
        else:
            await tx.exec(
                "UPDATE gaps SET closed_utc_ns = ? WHERE device_id = ? AND first_seq = ? "
                "AND closed_utc_ns IS NULL",
                (now, device_id, first),
            )
        rest = [(first, seq - 1), (seq + 1, last)]
        await tx.many(
            "INSERT INTO gaps (device_id, first_seq, last_seq, opened_utc_ns, pending) "
            "VALUES (?, ?, ?, ?, ?)",
            [(device_id, a, z, opened, pending) for a, z in rest if a <= z],
        )
