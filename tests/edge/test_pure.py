"""Unit tests of the pure parts: batcher, delivery schedule, clock steps, NMEA flags, spool cap."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from edge_agent.batcher import Batcher, Chunk
from edge_agent.clock import ClockWatch
from edge_agent.delivery import Delivery
from edge_agent.nmea_lines import LineSplitter
from edge_agent.sealer import ChainHead, Identity, Sealer
from edge_agent.spool import Spool
from notary_core import cose
from notary_core.records import CanEncoder, ClockSource, NmeaStatus


def _chunk(n: int, stream: str = "can0", t: int = 0) -> Chunk:
    enc = CanEncoder(stream, ClockSource.RTC)
    return Chunk(
        stream,
        [enc.encode(t + i, t + i, t + i, 0x123, 0, 1, bytes([i % 256])) for i in range(n)],
        list(range(t, t + n)),
        list(range(t, t + n)),
    )


def test_batcher_closes_at_n_records_and_at_the_window() -> None:
    b = Batcher(window_ns=1000, max_records=10)
    closed = b.add(_chunk(25), now_ns=0)
    assert [len(c.records) for c in closed] == [10, 10] and len(b) == 5
    assert b.due(999) is None
    last = b.due(1000)
    assert last is not None and len(last.records) == 5
    assert last.first_mono_ns == 20 and last.last_mono_ns == 24
    assert last.streams["can0"].seen == 25 and last.streams["can0"].stored == 25


def test_delivery_resends_backlog_in_order_without_starving_live() -> None:
    d = Delivery(window=4, receipt_timeout_ns=100)
    d.reconnected([5, 3, 4, 6, 7, 8])
    d.sealed(9)
    d.sealed(10)
    sent = [d.next_batch(0) for _ in range(5)]
    assert sent == [9, 3, 10, 4, None]  # window of 4; live and backlog alternate
    d.acked(9)
    d.acked(3)
    assert [d.next_batch(1), d.next_batch(1), d.next_batch(1)] == [5, 6, None]
    # no receipt in time: re-sent first, oldest first
    d.acked(10)
    d.acked(5)
    assert [d.next_batch(200), d.next_batch(200)] == [4, 6]


def test_after_a_reconnection_unreceipted_batches_are_resent_soon() -> None:
    """The collector may subscribe after the agent reconnects: probe at 1 s, 2 s, 4 s..."""
    s = 10**9
    d = Delivery(window=4, receipt_timeout_ns=30 * s, probe_timeout_ns=s)
    d.reconnected([7])
    assert d.next_batch(0) == 7 and d.next_batch(0) is None
    assert d.next_batch(s) == 7  # not 30 s later
    assert d.next_batch(2 * s) is None and d.next_batch(3 * s) == 7  # then after 2 s
    d.acked(7)  # a receipt on this connection: the collector listens again
    d.sealed(8)
    assert d.next_batch(4 * s) == 8
    assert d.next_batch(20 * s) is None and d.next_batch(34 * s) == 8


def test_clock_step_is_detected() -> None:
    w = ClockWatch(threshold_ns=100)
    assert w.observe(0, 1000) is None
    assert w.observe(50, 1060) is None
    step = w.observe(60, 5000)
    assert step is not None and step.step_ns == 3930


def test_nmea_bad_checksum_is_kept_and_flagged_without_its_terminator() -> None:
    good = (
        b"$GPGGA,1*"
        + b"%02X" % (ord("G") ^ ord("P") ^ ord("G") ^ ord("G") ^ ord("A") ^ ord(",") ^ ord("1"))
        + b"\r\n"
    )
    assert LineSplitter().feed(good).bodies[0].status == NmeaStatus.CHECKSUM_OK
    (bad,) = LineSplitter().feed(b"$GPGGA,1*00\r\n").bodies
    assert bad.status == NmeaStatus.CHECKSUM_BAD and bad.raw == b"$GPGGA,1*00"  # §2.3
    long = LineSplitter().feed(b"x" * 2500 + b"\n").bodies
    assert [len(r.raw) for r in long] == [1024, 1024, 452]
    assert all(r.status == NmeaStatus.MALFORMED for r in long)


def test_spool_cap_discards_oldest_and_counts_it_and_resumes_the_chain(tmp_path: Path) -> None:
    signer = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    sealer = Sealer(signer, Identity("edge-001", bytes(16), "test", bytes(32)))
    spool = Spool(tmp_path / "s.db", max_bytes=3000, retention_ns=0)
    head = spool.head()
    b = Batcher(10**9, 100)
    discards = []
    for i in range(10):
        closed = b.add(_chunk(100, t=i * 100), 0)[0]
        sealed = sealer.seal(head, closed, os.urandom(32), ClockSource.RTC, 0)
        discards.append(spool.commit(sealed, 0))
        head = head.after(sealed)
    spool.close()
    first = next(d for d in discards if d is not None)
    assert first.first_seq == 0
    reopened = Spool(tmp_path / "s.db", max_bytes=3000, retention_ns=0)
    assert reopened.head() == head and head.next_seq == 10
    dropped = reopened.counters()["spool"]
    unacked = reopened.unacked()
    assert dropped.gaps == 10 - len(unacked) and dropped.dropped == 100 * dropped.gaps
    assert unacked == list(range(10 - len(unacked), 10))
    assert ChainHead().next_seq == 0
    reopened.close()
