"""The SQLite (WAL) spool: sealed batches are committed here before they are published.

One transaction per batch writes the batch row and the chain head (next batch_seq, header
hash, the header's counters), with synchronous=FULL so a committed batch survives power
loss: a batch is never published unless it is durable, and batch_seq is never reused.

Size cap policy (`max_bytes`, unacknowledged payload bytes): when committing a batch takes
the spool over the cap, the OLDEST unacknowledged batches are discarded in the same
transaction (recent data is what an incident needs). The discards are added to the
cumulative `spool` counters (dropped = records, gaps = batches), which go into the next
signed header, and the agent writes a SPOOL_DISCARD event into the next batch.
Acknowledged batches (a verified collector receipt) are pruned after the retention period.
"""

from __future__ import annotations

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

SPOOL_STREAM = "spool"

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
"""


@dataclass(frozen=True, slots=True)
class Discard:
    batches: int
    records: int
    first_seq: int
    seqs: frozenset[int]


class Spool:
    def __init__(self, path: Path, max_bytes: int, retention_ns: int, *, readonly: bool = False):
        self.path = path
        self.max_bytes = max_bytes
        self.retention_ns = retention_ns
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            else:
                self._db = sqlite3.connect(path, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise _spool_error(path, exc) from None

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
            raise _spool_error(self.path, exc) from None

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
            out[SPOOL_STREAM] = StreamCounters(dropped=d[1], gaps=d[0])
        return out

    def commit(self, sealed: SealedBatch, now_utc_ns: int) -> Discard | None:
        """Durably store a sealed batch and advance the chain head; apply the size cap."""
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
            return self._enforce_cap(db, header.batch_seq)

    def _enforce_cap(self, db: sqlite3.Connection, newest: int) -> Discard | None:
        (total,) = db.execute(
            "SELECT COALESCE(SUM(size),0) FROM batch WHERE acked_utc_ns IS NULL"
        ).fetchone()
        if total <= self.max_bytes:
            return None
        dropped: list[tuple[int, int]] = []
        rows = db.execute(
            "SELECT seq, size, records FROM batch "
            "WHERE acked_utc_ns IS NULL AND seq < ? ORDER BY seq",
            (newest,),
        )
        for seq, size, records in rows.fetchall():
            if total <= self.max_bytes:
                break
            total -= size
            dropped.append((seq, records))
        if not dropped:
            return None
        db.executemany("DELETE FROM batch WHERE seq=?", [(s,) for s, _ in dropped])
        prev = self._meta("discards") or [0, 0]
        n, recs = len(dropped), sum(r for _, r in dropped)
        self._set(db, "discards", [prev[0] + n, prev[1] + recs])
        return Discard(n, recs, dropped[0][0], frozenset(s for s, _ in dropped))

    def unacked(self) -> list[int]:
        rows = self._db.execute("SELECT seq FROM batch WHERE acked_utc_ns IS NULL ORDER BY seq")
        return [r[0] for r in rows]

    def payload(self, seq: int) -> bytes | None:
        row = self._db.execute("SELECT payload FROM batch WHERE seq=?", (seq,)).fetchone()
        return bytes(row[0]) if row else None

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
        rejected = self._db.execute(
            "SELECT COUNT(*) FROM batch WHERE status=?", (int(ReceiptStatus.REJECTED),)
        ).fetchone()[0]
        last = self._meta("last_receipt")
        head = self.head()
        return {
            "spool_depth": depth,
            "spool_bytes": size,
            "oldest_unacked_seq": oldest,
            "oldest_unacked_sealed_utc_ns": oldest_at,
            "next_batch_seq": head.next_seq,
            "last_receipt": None
            if last is None
            else {"batch_seq": last[0], "utc_ns": last[1], "status": ReceiptStatus(last[2]).name},
            "rejected_batches": rejected,
            "counters": {k: c.as_list() for k, c in self.counters().items()},
        }


def _spool_error(path: Path, exc: sqlite3.Error) -> Unreachable:
    text = str(exc)
    if "full" in text:
        return Unreachable(f"spool {path}: disk full ({text}); free space on its filesystem")
    return Unreachable(f"spool {path}: {text}")
