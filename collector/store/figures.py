"""What an operator watches, read from the store in one transaction (GET /metrics).

Read from the store, not counted in a process: the API, `collector run` and the other
collectors sharing a store are separate processes, and every one of them scrapes the same
figures. Each query runs on an index (batches' primary key, quarantine_by_reason,
alarms_open), so a scrape stays cheap as the log grows.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.store.base import Store


@dataclass(frozen=True, slots=True)
class Figures:
    log_size: int
    batches_stored: int
    quarantined: dict[str, int]  # reason -> rows kept
    quarantine_dropped: int  # rejections only counted, past a source's daily quota
    gaps_open: int
    checkpoint_size: int | None  # the latest signed checkpoint
    checkpoint_signed_ns: int | None
    published_size: int | None  # the latest with its witness quorum
    published_ns: int | None
    anchored: dict[str, int]  # status (sent, final) -> largest anchored size
    alarms_open: dict[str, int]  # kind -> open alarms
    witness_sizes: dict[str, int]  # witness -> size it last cosigned
    devices_last_seen_ns: dict[str, int]  # device -> arrival of its highest stored batch


async def read_figures(store: Store) -> Figures:
    async with store.transaction() as tx:
        size = await tx.one("SELECT size FROM tlog_meta WHERE id = 1")
        stored = await tx.one("SELECT COUNT(*) FROM batches")
        quarantined = await tx.all("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason")
        dropped = await tx.one("SELECT COALESCE(SUM(dropped_rows), 0) FROM quarantine_quota")
        gaps = await tx.one("SELECT COUNT(*) FROM gaps WHERE closed_utc_ns IS NULL AND pending = 0")
        cp = await tx.one("SELECT size, signed_utc_ns FROM checkpoints ORDER BY size DESC LIMIT 1")
        pub = await tx.one(
            "SELECT size, published_utc_ns FROM checkpoints WHERE cosigned_note IS NOT NULL "
            "ORDER BY size DESC LIMIT 1"
        )
        anchored = await tx.all(
            "SELECT status, MAX(size) FROM anchors WHERE status IN ('sent', 'final') "
            "GROUP BY status"
        )
        alarms = await tx.all(
            "SELECT kind, COUNT(*) FROM alarms WHERE cleared_utc_ns IS NULL GROUP BY kind"
        )
        witnesses = await tx.all("SELECT witness, size FROM witness_state")
        seen = await tx.all(
            "SELECT b.device_id, b.received_utc_ns FROM batches b JOIN (SELECT device_id, "
            "MAX(batch_seq) AS seq FROM batches GROUP BY device_id) m "
            "ON b.device_id = m.device_id AND b.batch_seq = m.seq"
        )
    return Figures(
        log_size=int(size[0]) if size else 0,
        batches_stored=int(stored[0]) if stored else 0,
        quarantined={str(r[0]): int(r[1]) for r in quarantined},
        quarantine_dropped=int(dropped[0]) if dropped else 0,
        gaps_open=int(gaps[0]) if gaps else 0,
        checkpoint_size=int(cp[0]) if cp else None,
        checkpoint_signed_ns=int(cp[1]) if cp else None,
        published_size=int(pub[0]) if pub else None,
        published_ns=int(pub[1]) if pub and pub[1] is not None else None,
        anchored={str(r[0]): int(r[1]) for r in anchored},
        alarms_open={str(r[0]): int(r[1]) for r in alarms},
        witness_sizes={str(r[0]): int(r[1]) for r in witnesses},
        devices_last_seen_ns={str(r[0]): int(r[1]) for r in seen},
    )
