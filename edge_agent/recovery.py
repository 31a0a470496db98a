"""Open the spool only after checking it against the head file; set a damaged one aside.

At start the spool must agree with the second record of the chain position (`headfile`):
same head, or one batch ahead (a crash between the spool commit and the head file
write), and its newest batch must pass its own signature and Merkle root. Otherwise
(truncated, its WAL deleted or damaged so SQLite rolled it back, pages corrupted) the
spool is moved aside, never deleted, every batch in it that still verifies is copied to a
fresh spool, and the chain continues from the last known head; what is missing becomes a
SPOOL_LOST report that the next batch carries, and the agent alarms. The same path runs
when a batch fails its own root just before it is sent.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from edge_agent import headfile
from edge_agent.headfile import HeadRecord
from edge_agent.sealer import ChainHead
from edge_agent.spool import SPOOL_STREAM, Loss, Spool, SpoolDamaged, _ranges
from notary_core import cose
from notary_core.batch import SealedBatch
from notary_core.errors import BadData, NotaryError, Reason
from notary_core.records import EventType

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpoolFiles:
    path: Path
    head_path: Path
    max_bytes: int
    retention_ns: int

    def open(self) -> Spool:
        return Spool(self.path, self.max_bytes, self.retention_ns)


def check_batch(seq: int, header_hash: bytes, payload: bytes, key: cose.PublicKey) -> None:
    """A spooled batch must be what was sealed: its seq, its header hash, its own root."""
    try:
        sealed = SealedBatch.from_bytes(payload)
        sealed.verify(key)
    except NotaryError as exc:
        raise SpoolDamaged(f"batch {seq} fails its own check: {exc}") from None
    if sealed.signed.header.batch_seq != seq or sealed.signed.header_hash != header_hash:
        raise SpoolDamaged(f"batch {seq} in the spool is not the batch sealed as {seq}")


def record_of(spool: Spool) -> HeadRecord:
    """The head record a healthy spool implies."""
    issued, sealed = spool.seqs()
    unacked = spool.unacked()
    d = spool.meta("discards") or [0, 0]
    counters = {k: c for k, c in spool.counters().items() if k != SPOOL_STREAM}
    head = spool.head()
    oldest = unacked[0] if unacked else head.next_seq
    return HeadRecord(head, counters, issued, sealed, oldest, (d[0], d[1]))


def inspect(path: Path, record: HeadRecord | None, key: cose.PublicKey) -> str:
    """Why the spool cannot be trusted ("" if it can), checked read-only."""
    if path.stat().st_size == 0:
        return "truncated to 0 bytes" if record is not None and record.head.next_seq else ""
    try:
        s = Spool(path, 1, 0, readonly=True)
    except NotaryError as exc:
        return f"unreadable: {exc}"
    try:
        (ok,) = s._db.execute("PRAGMA quick_check").fetchone()
        if ok != "ok":
            return f"SQLite integrity check failed: {ok}"
        head = s.head()
        if record is not None:
            want = record.head
            if head.next_seq < want.next_seq:
                return (
                    f"rolled back: its head is batch {head.next_seq}, "
                    f"the head file's is {want.next_seq}"
                )
            if head.next_seq == want.next_seq and head.prev_hash != want.prev_hash:
                return "its head hash differs from the head file's"
            if want.next_seq and head.next_seq > want.next_seq:
                got = s.payload(want.next_seq - 1)
                if got is not None and got[0] != want.prev_hash:
                    return "it diverges from the head file's chain"
        if head.next_seq and (got := s.payload(head.next_seq - 1)) is not None:
            check_batch(head.next_seq - 1, got[0], got[1], key)
            if got[0] != head.prev_hash:
                return "its newest batch is not its head"
    except SpoolDamaged as exc:
        return exc.message
    except (sqlite3.Error, NotaryError) as exc:
        return f"unreadable: {exc}"
    finally:
        s.close()
    return ""


def open_checked(files: SpoolFiles, key: cose.PublicKey, now_utc_ns: int) -> Spool:
    """The spool to run on: checked against the head file, replaced if damaged."""
    record, why = headfile.read(files.head_path)
    if why and why != "missing":
        log.error("ALARM: head file %s %s", files.head_path, why)
    if not files.path.exists():
        if record is None and why == "missing":
            log.info("first start: new spool %s, chain starts at batch 0", files.path)
            return files.open()
        if record is None:
            raise BadData(
                Reason.CHAIN_BROKEN,
                f"spool {files.path} is missing and the head file {why}: the chain position "
                "is unknown; restore either, or remove the head file to start a new chain",
            )
        why = "the spool file is missing"
        return replace_damaged(None, files, record, key, why, now_utc_ns)[0]
    problem = inspect(files.path, record, key)
    if not problem:
        spool = files.open()
        if record is None:
            level = logging.INFO if why == "missing" else logging.ERROR
            log.log(level, "head file %s %s: rebuilt from the spool", files.head_path, why)
        return spool
    if record is None:
        raise BadData(
            Reason.CHAIN_BROKEN,
            f"spool {files.path} is damaged ({problem}) and the head file {why}: the chain "
            "position is unknown; restore either, or remove both to start a new chain",
        )
    return replace_damaged(None, files, record, key, problem, now_utc_ns)[0]


def replace_damaged(
    spool: Spool | None,
    files: SpoolFiles,
    record: HeadRecord,
    key: cose.PublicKey,
    why: str,
    now_utc_ns: int,
) -> tuple[Spool, int]:
    """Move the spool aside, salvage what verifies, continue from `record`; alarm.
    Returns the fresh spool and the number of batches lost."""
    if spool is not None:
        spool.close()
    aside = _move_aside(files.path, now_utc_ns)
    rows, losses = _salvage(aside, record.head, key) if aside is not None else ([], [])
    kept = {r[0] for r in rows}
    lost = [s for s in range(record.oldest_unacked, record.head.next_seq) if s not in kept]
    fresh = files.open()
    discards = (record.discards[0] + len(lost), record.discards[1])
    damaged = {"spool": str(aside) if aside else None, "why": why, "utc_ns": now_utc_ns}
    fresh.restore(
        rows,
        {
            "head": [record.head.next_seq, record.head.prev_hash.hex()],
            "counters": {k: c.as_list() for k, c in record.counters.items()},
            "issued": record.issued,
            "sealed": record.sealed,
            "discards": list(discards),
            "damaged": [*(fresh.meta("damaged") or []), damaged],
        },
    )
    for loss, carrier in losses:
        fresh.add_loss(loss, carrier)
    where = f"moved to {aside}" if aside else "nothing to move aside"
    if lost:
        detail = (
            f"spool damaged ({why}); {where}; batches {_ranges(lost)} lost "
            f"(at most: some may have reached the collector), {len(rows)} salvaged"
        )
        fresh.add_loss(Loss(EventType.SPOOL_LOST, lost[0], len(lost), 0, detail))
    log.error(
        "ALARM: spool %s damaged (%s); %s; %d unacknowledged batches salvaged, %d lost; "
        "the chain continues at batch %d",
        files.path,
        why,
        where,
        len(rows),
        len(lost),
        record.head.next_seq,
    )
    return fresh, len(lost)


def _move_aside(path: Path, now_utc_ns: int) -> Path | None:
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.damaged-{now_utc_ns}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, Path(f"{aside}{suffix}"))
    return aside


def _salvage(
    aside: Path, head: ChainHead, key: cose.PublicKey
) -> tuple[list[tuple[object, ...]], list[tuple[Loss, int | None]]]:
    """Unacknowledged batches of the damaged spool that still verify, and its pending
    loss reports (read-only: the damaged files stay as they were)."""
    rows: list[tuple[object, ...]] = []
    losses: list[tuple[Loss, int | None]] = []
    try:
        old = Spool(aside, 1, 0, readonly=True)
    except NotaryError:
        return rows, losses
    try:
        cur = old._db.execute(
            "SELECT seq, header_hash, payload, records, size, sealed_utc_ns, acked_utc_ns, "
            "receipt, status FROM batch WHERE acked_utc_ns IS NULL AND seq < ? ORDER BY seq",
            (head.next_seq,),
        )
        for row in cur:
            try:
                check_batch(row[0], bytes(row[1]), bytes(row[2]), key)
            except SpoolDamaged as exc:
                log.error("salvage: %s", exc)
                continue
            rows.append(row)
        kept = {r[0] for r in rows}
        acked = {r[0] for r in old._db.execute("SELECT seq FROM batch WHERE acked_utc_ns > 0")}
        for k, f, b, r, d, carrier in old._db.execute(
            "SELECT kind, first_seq, batches, records, detail, carried_by FROM loss"
        ):
            if carrier is None or carrier not in acked:  # a delivered report stays delivered
                losses.append(
                    (Loss(EventType(k), f, b, r, d), carrier if carrier in kept else None)
                )
    except sqlite3.Error as exc:
        log.error("salvage stopped at an unreadable page: %s", exc)
    finally:
        old.close()
    return rows, losses
