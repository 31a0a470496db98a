"""The spool's own limits: SIGTERM on a disk that refuses writes, the cap over the whole
spool, every discard reported exactly once, and what a killed agent never sealed."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from edge_agent.batcher import Batcher, Chunk
from edge_agent.sealer import Identity, Sealer
from edge_agent.spool import Spool
from notary_core import cose
from notary_core.receipt import Receipt, ReceiptStatus
from notary_core.records import AgentEvent, CanEncoder, ClockSource, EventType, decode
from tests.edge.fsfault import ext4, fill, turn_read_only
from tests.edge.kit import GIULIA, Device, check_chain, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

TIMEOUT_STOP_S = 15  # deploy/gateway/vnotary-edge.service TimeoutStopSec


@pytest.mark.integration
@pytest.mark.parametrize("fault", ["read-only file system", "disk full"])
def test_sigterm_stops_the_agent_while_the_spool_cannot_be_written(
    setup: tuple[MosquittoBroker, Device, Responder], fault: str
) -> None:
    broker, dev, resp = setup
    with ext4(dev.dir / "disk", 16) as disk:
        log = dev.dir / "agent.log"
        spool = {"path": str(disk / "spool.sqlite"), "min_free_bytes": 65536}
        cfg = dev.config(broker, replay_source(GIULIA, "recorded"), spool=spool)
        proc = start_agent(cfg, log)
        deadline = time.monotonic() + 30
        while len(resp.stored) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert resp.stored, log.read_text()[-2000:]
        if fault == "disk full":
            fill(disk)
        else:
            turn_read_only(disk)
        time.sleep(2)  # the agent is now retrying its commit
        assert proc.poll() is None, log.read_text()[-2000:]
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=TIMEOUT_STOP_S)
        assert time.monotonic() - t0 < TIMEOUT_STOP_S
        text = log.read_text()
        assert code == 1 and fault in text and "stopped:" in text, text[-3000:]
    check_chain(resp.chain(), dev.public)  # what was committed stays a clean chain


def _sealed(sealer: Sealer, spool: Spool, n: int, size: int) -> list[int]:
    enc = CanEncoder("can0", ClockSource.RTC)
    b = Batcher(10**9, 10_000)
    head, seqs = spool.head(), []
    for i in range(n):
        recs = [enc.encode(i * size + j, j, j, 0x10, 0, 8, os.urandom(8)) for j in range(size)]
        closed = b.add(Chunk("can0", recs, [0] * size, [0] * size), 0)
        batch = closed[0] if closed else b.flush()
        assert batch is not None
        sealed = sealer.seal(head, batch, os.urandom(32), ClockSource.RTC, 0)
        spool.commit(sealed, time.time_ns())
        head = head.after(sealed)
        receipt = Receipt("edge-001", head.next_seq - 1, head.prev_hash, ReceiptStatus.STORED, 0, 0)
        spool.ack(receipt, b"r", time.time_ns())
        seqs.append(head.next_seq - 1)
    return seqs


def test_the_cap_bounds_the_whole_spool_on_disk(tmp_path: Path) -> None:
    """Acknowledged batches within their retention count too (issue 16: a small disk filled)."""
    signer = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    sealer = Sealer(signer, Identity("edge-001", bytes(16), "test", bytes(32)))
    cap = 2 << 20
    spool = Spool(tmp_path / "s.db", max_bytes=cap, retention_ns=24 * 3600 * 10**9)
    _sealed(sealer, spool, 120, 1000)  # ~50 KB per batch, 6 MB in all, every one acked
    assert spool.total_bytes() <= cap
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("s.db*"))
    assert on_disk <= cap + spool.wal_bytes + cap // 10, on_disk
    assert spool.head().next_seq == 120 and spool.status()["spool_depth"] == 0
    spool.close()


_RANGE = re.compile(r"batches ([0-9,-]+) ")


def _seqs(detail: str) -> list[int]:
    m = _RANGE.search(detail)
    assert m, detail
    out: list[int] = []
    for part in m.group(1).split(","):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


@pytest.mark.integration
@pytest.mark.slow
def test_every_discard_reaches_the_collector_exactly_once(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    log = dev.dir / "agent.log"
    resp.paused = True  # a collector outage: nothing is receipted, the cap discards
    cfg = dev.config(
        broker,
        replay_source(GIULIA, "recorded"),
        exit_when_done=True,
        batch={"window_s": 0.1},
        spool={"max_bytes": 120_000},
        mqtt={"receipt_timeout_s": 2},
    )
    proc = start_agent(cfg, log)
    time.sleep(7)
    resp.paused = False
    assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
    assert not resp.errors
    batches = resp.chain_with_gaps()
    have = {b.signed.header.batch_seq for b in batches}
    last = max(have)
    missing = set(range(last + 1)) - have
    assert missing, "the cap never discarded: the test proves nothing"
    reported: list[int] = []
    for b in batches:
        for r in b.verify(dev.public):
            body = decode(r).body
            if isinstance(body, AgentEvent) and body.event == EventType.SPOOL_DISCARD:
                seqs = _seqs(body.detail)
                assert len(seqs) == body.a and seqs[0] == body.b
                reported += seqs
    assert sorted(reported) == sorted(missing)  # each lost batch in exactly one report
    spool = next(b for b in batches if b.signed.header.batch_seq == last).signed.header
    assert spool.streams["spool"].gaps == len(missing)


@pytest.mark.integration
@pytest.mark.slow
def test_records_a_killed_agent_never_sealed_are_recorded_at_the_next_start(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    log = dev.dir / "agent.log"
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"), batch={"window_s": 0.5})
    for delay in (2.3, 1.7, 2.9):
        proc = start_agent(cfg, log)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    cfg = dev.config(broker, replay_source(GIULIA, "max"), exit_when_done=True)
    assert start_agent(cfg, log).wait(timeout=120) == 0, log.read_text()[-3000:]
    batches = resp.chain()
    check_chain(batches, dev.public)
    unsealed = [
        (decode(r).body, decode(r).clock)
        for b in batches
        for r in b.verify(dev.public)
        if decode(r).kind == 5 and decode(r).body.event == EventType.UNSEALED  # type: ignore[union-attr]
    ]
    assert unsealed, log.read_text()[-3000:]
    assert all(e.a > 0 and e.detail for e, _clock in unsealed)  # type: ignore[union-attr]
    for stream, c in batches[-1].signed.header.streams.items():
        assert c.seen == c.stored + c.dropped, (stream, c)
    assert "never sealed" in log.read_text()
