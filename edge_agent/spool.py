"""The SQLite (WAL) spool: sealed batches are committed here before they are published.

One transaction per batch writes the batch row and the chain head (next batch_seq, header
hash, the header's counters, the per-stream sequence numbers), with synchronous=FULL so a
committed batch survives power loss: a batch is never published unless it is durable, and
batch_seq is never reused. A second record of the head lives outside this file
(`headfile`), so a damaged or rolled-back spool is detected, never silently restarted.

Size cap (`max_bytes`) bounds every batch on disk, acknowledged or not: over it, the
oldest acknowledged batches go first (their retention is cut short), then the oldest
unacknowledged ones that are not in flight (a batch published and awaiting its receipt
may be stored at the collector: discarding it would over-report the loss). The WAL is
bounded too (`wal_bytes`). Each discard is a row of the `loss` ledger: the agent reports
it in a SPOOL_DISCARD event, and the ledger notes which batch carries that report; if the
carrier is discarded in turn, the report becomes pending again, so every loss reaches the
collector in exactly one delivered batch. Discards also add to the cumulative `spool`
counters (dropped = records, gaps = batches) of every later header.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.sealer import ChainHead
from notary_core.batch import SealedBatch
from notary_core.errors import BadData, Reason, Unreachable
from notary_core.header import GENESIS_PREV_HASH, StreamCounters
from notary_core.receipt import Receipt, ReceiptStatus
from notary_core.records import EventType

SPOOL_STREAM = "spool"
PAGE_SIZE = 4096

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (
    seq INTEGER PRIMARY KEY,
    header_hash BLOB NOT NULL,
    payload BLOB NOT NULL,
    records INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sealed_utc_ns INTEGER NOT NULL,
    acked_utc_ns INTEGER,
    receipt BLOB,
    status INTEGER
);
CREATE INDEX IF NOT EXISTS batch_unacked ON batch(seq) WHERE acked_utc_ns IS NULL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS loss (
    kind INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    batches INTEGER NOT NULL,
    records INTEGER NOT NULL,
    detail TEXT NOT NULL,
    carried_by INTEGER,
    PRIMARY KEY (kind, first_seq)
);
"""


@dataclass(frozen=True, slots=True)
class Discard:
    batches: int
    records: int
    first_seq: int
    seqs: frozenset[int]


@dataclass(frozen=True, slots=True)
class Loss:
    """A loss the collector must learn of once: a SPOOL_DISCARD or SPOOL_LOST report."""

    kind: EventType
    first_seq: int
    batches: int
    records: int
    detail: str

    @property
    def key(self) -> tuple[int, int]:
        return int(self.kind), self.first_seq


class Spool:
    def __init__(self, path: Path, max_bytes: int, retention_ns: int, *, readonly: bool = False):
        self.path = path
        self.max_bytes = max_bytes
        self.retention_ns = retention_ns
        self.wal_bytes = max(1 << 20, min(64 << 20, max_bytes // 16))
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            else:
                self._db = sqlite3.connect(path, isolation_level=None)
                self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute(f"PRAGMA journal_size_limit={self.wal_bytes}")
                self._db.execute(f"PRAGMA wal_autocheckpoint={self.wal_bytes // PAGE_SIZE}")
                self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise spool_error(path, exc) from None

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def check_location(path: Path, min_free_bytes: int) -> None:
        """Clear errors for a spool that cannot work: missing dir, read-only, disk full."""
        parent = path.parent
        if not parent.is_dir():
            raise BadData(Reason.MALFORMED, f"spool directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise BadData(Reason.MALFORMED, f"spool directory {parent} is not writable")
        free = shutil.disk_usage(parent).free
        if free < min_free_bytes:
            raise Unreachable(
                f"spool filesystem of {parent} is full: {free} bytes free, "
                f"spool.min_free_bytes is {min_free_bytes}"
            )

    @contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise spool_error(self.path, exc) from None

    def _meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def _set(self, db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def head(self) -> ChainHead:
        h = self._meta("head")
        return ChainHead(h[0], bytes.fromhex(h[1])) if h else ChainHead(0, GENESIS_PREV_HASH)

    def counters(self) -> dict[str, StreamCounters]:
        """The last committed header's counters, with the spool's own discards on top."""
        out = {k: StreamCounters(*v) for k, v in (self._meta("counters") or {}).items()}
        d = self._meta("discards")
        if d:
            out[SPOOL_STREAM] = StreamCounters(seen=d[1], dropped=d[1], gaps=d[0])
        return out

    def seqs(self) -> tuple[dict[str, int], dict[str, int]]:
        """(sequence numbers handed out, sequence numbers sealed) per stream at the last commit."""
        return dict(self._meta("issued") or {}), dict(self._meta("sealed") or {})

    def commit(
        self,
        sealed: SealedBatch,
        now_utc_ns: int,
        *,
        issued: dict[str, int] | None = None,
        sealed_seqs: dict[str, int] | None = None,
        protect: frozenset[int] = frozenset(),
        carries: tuple[tuple[int, int], ...] = (),
    ) -> Discard | None:
        """Durably store a sealed batch and advance the chain head; apply the size cap.

        `carries` are the loss reports this batch holds; `protect` the batches in flight."""
        header = sealed.signed.header
        payload = sealed.to_bytes()
        if header.batch_seq != self.head().next_seq:
            raise BadData(Reason.CHAIN_BROKEN, f"batch {header.batch_seq} is not the next seq")
        with self._txn() as db:
            db.execute(
                "INSERT INTO batch(seq, header_hash, payload, records, size, sealed_utc_ns) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    header.batch_seq,
                    sealed.signed.header_hash,
                    payload,
                    header.record_count,
                    len(payload),
                    now_utc_ns,
                ),
            )
            head = ChainHead(header.batch_seq + 1, sealed.signed.header_hash)
            self._set(db, "head", [head.next_seq, head.prev_hash.hex()])
            counters = {k: c.as_list() for k, c in header.streams.items() if k != SPOOL_STREAM}
            self._set(db, "counters", counters)
            if issued is not None:
                self._set(db, "issued", issued)
            if sealed_seqs is not None:
                self._set(db, "sealed", sealed_seqs)
            db.executemany(
                "UPDATE loss SET carried_by=? WHERE kind=? AND first_seq=? AND carried_by IS NULL",
                [(header.batch_seq, k, f) for k, f in carries],
            )
            return self._enforce_cap(db, header.batch_seq, protect)

    def _enforce_cap(
        self, db: sqlite3.Connection, newest: int, protect: frozenset[int]
    ) -> Discard | None:
        (total,) = db.execute("SELECT COALESCE(SUM(size),0) FROM batch").fetchone()
        if total <= self.max_bytes:
            return None
        acked = db.execute(
            "SELECT seq, size FROM batch WHERE acked_utc_ns IS NOT NULL ORDER BY seq"
        ).fetchall()
        pruned = []
        for seq, size in acked:
            if total <= self.max_bytes:
                break
            total -= size
            pruned.append((seq,))
        db.executemany("DELETE FROM batch WHERE seq=?", pruned)
        dropped: list[tuple[int, int]] = []
        rows = db.execute(
            "SELECT seq, size, records FROM batch "
            "WHERE acked_utc_ns IS NULL AND seq < ? ORDER BY seq",
            (newest,),
        )
        for seq, size, records in rows.fetchall():
            if total <= self.max_bytes:
                break
            if seq in protect:
                continue
            total -= size
            dropped.append((seq, records))
        if not dropped:
            return None
        db.executemany("DELETE FROM batch WHERE seq=?", [(s,) for s, _ in dropped])
        # Reports carried by a discarded batch are pending again (exactly once).
        db.executemany(
            "UPDATE loss SET carried_by=NULL WHERE carried_by=?", [(s,) for s, _ in dropped]
        )
        prev = self._meta("discards") or [0, 0]
        n, recs = len(dropped), sum(r for _, r in dropped)
        self._set(db, "discards", [prev[0] + n, prev[1] + recs])
        seqs = [s for s, _ in dropped]
        detail = f"spool over {self.max_bytes} bytes: batches {_ranges(seqs)} ({recs} records)"
        _insert_loss(db, Loss(EventType.SPOOL_DISCARD, seqs[0], n, recs, detail))
        return Discard(n, recs, seqs[0], frozenset(seqs))

    def add_loss(self, loss: Loss, carried_by: int | None = None) -> None:
        """Record a loss found outside a commit (a damaged spool)."""
        with self._txn() as db:
            _insert_loss(db, loss, carried_by)

    def pending_losses(self) -> list[Loss]:
        """Loss reports no committed batch carries yet, oldest first."""
        rows = self._db.execute(
            "SELECT kind, first_seq, batches, records, detail FROM loss "
            "WHERE carried_by IS NULL ORDER BY rowid"
        ).fetchall()
        return [Loss(EventType(k), f, b, r, d) for k, f, b, r, d in rows]

    def restore(self, rows: list[tuple[Any, ...]], meta: dict[str, Any]) -> None:
        """Salvage: put verified batch rows and the known head into a fresh spool."""
        with self._txn() as db:
            db.executemany(
                "INSERT INTO batch(seq, header_hash, payload, records, size, sealed_utc_ns, "
                "acked_utc_ns, receipt, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            for key, value in meta.items():
                self._set(db, key, value)

    def total_bytes(self) -> int:
        """Bytes of every spooled batch, acknowledged or not: what the cap bounds."""
        return int(self._db.execute("SELECT COALESCE(SUM(size),0) FROM batch").fetchone()[0])

    def unacked(self) -> list[int]:
        rows = self._db.execute("SELECT seq FROM batch WHERE acked_utc_ns IS NULL ORDER BY seq")
        return [r[0] for r in rows]

    def payload(self, seq: int) -> tuple[bytes, bytes] | None:
        """(header hash, payload) of a spooled batch, or None if it is gone."""
        row = self._db.execute(
            "SELECT header_hash, payload FROM batch WHERE seq=?", (seq,)
        ).fetchone()
        return (bytes(row[0]), bytes(row[1])) if row else None

    def ack(self, receipt: Receipt, raw: bytes, now_utc_ns: int) -> bool:
        """Release a batch for a verified receipt naming its seq AND header hash."""
        with self._txn() as db:
            cur = db.execute(
                "UPDATE batch SET acked_utc_ns=?, receipt=?, status=? "
                "WHERE seq=? AND header_hash=? AND acked_utc_ns IS NULL",
                (now_utc_ns, raw, int(receipt.status), receipt.batch_seq, receipt.header_hash),
            )
            if cur.rowcount:
                self._set(db, "last_receipt", [receipt.batch_seq, now_utc_ns, int(receipt.status)])
            return cur.rowcount == 1

    def prune(self, now_utc_ns: int) -> int:
        with self._txn() as db:
            cur = db.execute(
                "DELETE FROM batch WHERE acked_utc_ns IS NOT NULL AND acked_utc_ns < ?",
                (now_utc_ns - self.retention_ns,),
            )
            return cur.rowcount

    def status(self) -> dict[str, Any]:
        depth, size, oldest, oldest_at = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size),0), MIN(seq), MIN(sealed_utc_ns) "
            "FROM batch WHERE acked_utc_ns IS NULL"
        ).fetchone()
        (total,) = self._db.execute("SELECT COALESCE(SUM(size),0) FROM batch").fetchone()
        rejected = self._db.execute(
            "SELECT COUNT(*) FROM batch WHERE status=?", (int(ReceiptStatus.REJECTED),)
        ).fetchone()[0]
        last = self._meta("last_receipt")
        head = self.head()
        return {
            "spool_depth": depth,
            "spool_bytes": size,
            "spool_total_bytes": total,
            "oldest_unacked_seq": oldest,
            "oldest_unacked_sealed_utc_ns": oldest_at,
            "next_batch_seq": head.next_seq,
            "last_receipt": None
            if last is None
            else {"batch_seq": last[0], "utc_ns": last[1], "status": ReceiptStatus(last[2]).name},
            "rejected_batches": rejected,
            "damaged_spools": self._meta("damaged") or [],
            "pending_loss_reports": len(self.pending_losses()),
            "counters": {k: c.as_list() for k, c in self.counters().items()},
        }

    def meta(self, key: str) -> Any:
        return self._meta(key)


def _insert_loss(db: sqlite3.Connection, loss: Loss, carried_by: int | None = None) -> None:
    db.execute(
        "INSERT OR IGNORE INTO loss(kind, first_seq, batches, records, detail, carried_by) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (int(loss.kind), loss.first_seq, loss.batches, loss.records, loss.detail[:900], carried_by),
    )


def _ranges(seqs: list[int]) -> str:
    """`3-7,9`: a sorted list of batch_seqs as ranges."""
    out: list[str] = []
    start = prev = seqs[0]
    for s in [*seqs[1:], None]:
        if s is not None and s == prev + 1:
            prev = s
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if s is not None:
            start = prev = s
    return ",".join(out)


class SpoolDamaged(BadData):
    """The spool file itself is damaged (SQLite says so, or a batch fails its own root)."""

    def __init__(self, message: str) -> None:
        super().__init__(Reason.MALFORMED, message)


def fs_state(path: Path) -> str:
    """What the file system holding `path` says now: read-only, full, or "".

    Asked by writing a probe file: ext4 remounted read-only after an error still shows
    `rw` in statvfs, but refuses the write with EROFS."""
    probe = path.with_name(f".{path.name}.probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, bytes(PAGE_SIZE))
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return "read-only file system"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk full"
    return ""


def spool_error(path: Path, exc: sqlite3.Error) -> Unreachable:
    """Name what the file system did: disk full, read-only, an I/O error (issue 16 §1).

    SQLite reports a write refused by a read-only remount as an I/O error, so the file
    system's own state is asked too. A damaged file raises SpoolDamaged instead."""
    text = str(exc)
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        raise SpoolDamaged(f"spool {path} is damaged: {text}")
    state = fs_state(path)
    if name == "SQLITE_FULL" or state == "disk full":
        return Unreachable(f"spool {path}: disk full ({text}); free space on its filesystem")
    if name.startswith("SQLITE_READONLY") or state == "read-only file system":
        return Unreachable(f"spool {path}: read-only file system ({text})")
    if name.startswith("SQLITE_IOERR"):
        return Unreachable(f"spool {path}: I/O error ({text}): the disk may be failing")
    return Unreachable(f"spool {path}: {text}")
