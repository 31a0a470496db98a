"""A damaged or rolled-back spool never forks the device's chain (issue 16 §1).

Each case: a first run seals batches that the stand-in collector stores but does not
receipt (so they stay in the spool); the spool is then damaged as the fault campaign
did; a second run must continue the chain from the head file (no batch_seq re-used with
other bytes, no broken hash link), move the damaged spool aside, report what it lost in a
signed SPOOL_LOST event, and alarm in its log.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from notary_core.batch import SealedBatch
from notary_core.cose import PublicKey
from notary_core.header import GENESIS_PREV_HASH
from notary_core.records import AgentEvent, EventType, decode
from tests.edge.kit import GIULIA, Device, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _truncate(spool: Path) -> None:
    spool.write_bytes(b"")


def _delete_wal(spool: Path) -> None:
    Path(f"{spool}-wal").unlink()


def _flip_wal(spool: Path) -> None:
    wal = Path(f"{spool}-wal")
    data = bytearray(wal.read_bytes())
    for i in range(len(data) // 3, len(data), 997):
        data[i] ^= 0x5A
    wal.write_bytes(bytes(data))


def _flip_main(spool: Path) -> None:
    """Flip bytes inside one unacknowledged batch's payload: SQLite cannot notice."""
    db = sqlite3.connect(spool)
    seq, payload = db.execute(
        "SELECT seq, payload FROM batch WHERE acked_utc_ns IS NULL ORDER BY seq LIMIT 1 OFFSET 1"
    ).fetchone()
    db.close()
    data = bytearray(spool.read_bytes())
    # A payload larger than a page is split over overflow pages, each led by a 4-byte
    # pointer: take the first 64-byte run of it that lies whole, and once, in the file.
    at = -1
    for start in range(0, len(payload) - 64, 64):
        probe = bytes(payload[start : start + 64])
        at = data.find(probe)
        if at > 0 and data.find(probe, at + 1) == -1:
            break
        at = -1
    assert at > 0, f"no 64 bytes of batch {seq}'s payload ({len(payload)} B) found once in the file"
    for i in range(at, at + 64, 8):
        data[i] ^= 0xFF
    spool.write_bytes(bytes(data))
    assert not Path(f"{spool}-wal").exists() or Path(f"{spool}-wal").stat().st_size == 0


def chain_across_loss(batches: list[SealedBatch], key: PublicKey) -> list[int]:
    """Every batch verifies, seqs increase from 0, and each names the previous header hash
    wherever the previous batch is here; returns the batch_seqs missing (lost, not forked)."""
    prev, expect, missing = GENESIS_PREV_HASH, 0, []
    for b in batches:
        h = b.signed.verify(key)
        assert h.batch_seq >= expect, f"batch {h.batch_seq} after {expect - 1}: out of order"
        if h.batch_seq == expect:
            assert h.prev_header_hash == prev, f"chain broken at batch {h.batch_seq}"
        missing.extend(range(expect, h.batch_seq))
        prev, expect = b.signed.header_hash, h.batch_seq + 1
    return missing


CASES: dict[str, tuple[Callable[[Path], None], signal.Signals]] = {
    "truncated-to-0-bytes": (_truncate, signal.SIGKILL),
    "wal-deleted": (_delete_wal, signal.SIGKILL),
    "wal-bytes-flipped": (_flip_wal, signal.SIGKILL),
    "main-file-bytes-flipped": (_flip_main, signal.SIGTERM),  # clean stop: WAL checkpointed
}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_spool_continues_the_chain_and_reports_the_loss(
    setup: tuple[MosquittoBroker, Device, Responder], case: str
) -> None:
    broker, dev, resp = setup
    damage, sig = CASES[case]
    log = dev.dir / "agent.log"
    spool = dev.dir / "spool.sqlite"
    resp.withhold = True
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"), batch={"window_s": 0.1})
    proc = start_agent(cfg, log)
    deadline = time.monotonic() + 30
    while len(resp.stored) < 12 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    first_run = len(resp.stored)
    assert first_run >= 12, log.read_text()[-2000:]
    if case == "wal-deleted":
        assert Path(f"{spool}-wal").stat().st_size > 0  # there is something to lose
    damage(spool)

    resp.withhold = False
    cfg = dev.config(broker, replay_source(GIULIA, "max"), exit_when_done=True)
    proc = start_agent(cfg, log)
    assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]

    assert not resp.errors, resp.errors  # no batch_seq re-used with other bytes: no fork
    batches = resp.chain()
    # Batches sealed but not yet published when the process died went down with the spool:
    # they may be missing, but only if the SPOOL_LOST event below counts them.
    missing = chain_across_loss(batches, dev.public)
    text = log.read_text()
    assert "ALARM: spool" in text and "damaged" in text, text[-3000:]
    assert list(dev.dir.glob("spool.sqlite.damaged-*")), "the damaged spool must be kept"
    events = [decode(r).body for b in batches[first_run:] for r in b.verify(dev.public)]
    lost = [e for e in events if isinstance(e, AgentEvent) and e.event == EventType.SPOOL_LOST]
    assert len(lost) == 1, lost
    assert lost[0].a >= max(1, len(missing)) and "moved to" in lost[0].detail
    assert len(batches) > first_run
    header = batches[-1].signed.header
    assert header.streams["spool"].gaps >= lost[0].a


def test_damaged_head_file_with_a_missing_spool_refuses_to_start(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    """With neither record of the chain position, starting at batch 0 would fork it."""
    broker, dev, _resp = setup
    log = dev.dir / "agent.log"
    cfg = dev.config(broker, replay_source(GIULIA, "max"), exit_when_done=True)
    assert start_agent(cfg, log).wait(timeout=120) == 0, log.read_text()[-3000:]
    head = dev.dir / "spool.sqlite.head"
    head.write_bytes(head.read_bytes().replace(b'"next_seq": ', b'"next_seq": 1'))
    for f in dev.dir.glob("spool.sqlite*"):
        if f != head:
            os.unlink(f)
    assert start_agent(cfg, log).wait(timeout=30) == 2
    assert "chain position is unknown" in log.read_text()
