"""The NMEA source on a real pty: a real receiver log written in random pieces (a CR LF split
between writes included) is stored sentence by sentence without terminators, comments are
counted as seen only, and the receiver's time is compared with the system clock."""

from __future__ import annotations

import os
import queue
import random
import re
import threading
import time
import tty
from pathlib import Path

from edge_agent.batcher import Batcher, Chunk
from edge_agent.config import SourceConfig
from edge_agent.gnss_time import GnssTimeCheck, sentence_time
from edge_agent.sources.base import Emitter
from edge_agent.sources.nmea import NmeaSerialSource
from notary_core import records as rec


def test_a_real_log_through_a_pty_in_random_pieces(shared_data: Path) -> None:
    raw = (shared_data / "nmea" / "gpsd-ublox-neo-m9n-nmea.log").read_bytes()
    raw = raw.replace(b"\n", b"\r\n")[:30000]
    raw = raw[: raw.rindex(b"\r\n") + 2]
    master, slave = os.openpty()
    tty.setraw(slave)  # bytes as they are: no CR/LF translation by the line discipline
    out: queue.Queue[Chunk] = queue.Queue()
    emit = Emitter(out, {}, rec.ClockSource.NTP)
    src = NmeaSerialSource(SourceConfig(type="nmea", stream="gnss", port=os.ttyname(slave)),
                           rec.ClockSource.NTP)  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=src.run, args=(emit, stop))
    thread.start()
    try:
        time.sleep(0.3)
        rng, i = random.Random(7), 0
        split_crlf = raw.index(b"\r\n", 5000) + 1  # a write ends between a CR and its LF
        while i < len(raw):
            j = min(len(raw), i + rng.randint(1, 700))
            if i < split_crlf < j:
                j = split_crlf
            os.write(master, raw[i:j])
            i = j
            time.sleep(0.01 if j == split_crlf else 0.002)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(10)
        os.close(master)
        os.close(slave)
    chunks = []
    while not out.empty():
        chunks.append(out.get())
    records = [rec.decode(r) for c in chunks for r in c.records]
    nmea = [r.body.raw for r in records if isinstance(r.body, rec.NmeaSentence)]
    lines = [x for x in re.split(rb"\r\n", raw) if x]
    assert nmea == [x for x in lines if not x.startswith(b"#")]
    comments = sum(x.startswith(b"#") for x in lines)
    assert comments > 0
    batcher = Batcher(10**9, 100_000)
    for c in chunks:
        batcher.add(c, 0)
    g = batcher.counters()["gnss"]
    stored = len(records)  # the sentences and the stream's events
    assert (g.seen, g.stored, g.dropped, g.crc_failures) == (stored + comments, stored, 0, 0)
    events = [r for r in records if isinstance(r.body, rec.AgentEvent)]
    checks = [r for r in events if r.body.event == rec.EventType.GNSS_TIME]  # type: ignore[union-attr]
    assert checks, "the receiver's time was never compared with the system clock"
    first = checks[0].body
    assert isinstance(first, rec.AgentEvent) and first.detail in ("RMC first", "ZDA first")
    timed = [sentence_time(x) for x in nmea]
    _kind, gnss_ns, _ = next(t for t in timed if t[1] is not None and t[0] == first.detail[:3])
    assert first.b == gnss_ns  # the first valid time of that sentence type in the log
    assert abs(first.a - (checks[0].utc_ns - gnss_ns)) < 10**9  # system clock minus receiver's
    assert checks[0].clock == rec.ClockSource.NTP  # an event: the system clock's label


def test_sentence_times_and_fix_validity() -> None:
    assert sentence_time(b"$GNRMC,223745.00,A,3806.62964,N,12237.61382,W,0.040,,110720,,,D,V*0E") \
        == ("RMC", 1594507065 * 10**9, True)  # fmt: skip
    assert sentence_time(b"$GPRMC,095255.810,V,2712.6404,S,15303.1201,E,0.00,0.00,080407,,,A*6E")\
        == ("RMC", None, False)  # fmt: skip
    assert sentence_time(b"$GNZDA,091232.000,10,10,2015,,*45") == ("ZDA", 1444468352 * 10**9,
                                                                   None)  # fmt: skip
    assert sentence_time(b"$GPGGA,095257.809,2712.6404,S,15303.1201,E,0,00,00.0,4.0,M,*7B")[2] \
        is False  # fmt: skip
    assert sentence_time(b"$GNZDA,991232.000,10,10,2015,,*45")[1] is None
    assert sentence_time(b"$GNRMC,x*00") == ("RMC", None, None)


def _ok(raw: bytes) -> rec.NmeaSentence:
    return rec.NmeaSentence(rec.NmeaStatus.CHECKSUM_OK, raw)


def test_offset_reported_first_every_minute_and_on_change_only_with_a_fix() -> None:
    zda = _ok(b"$GNZDA,091232.000,10,10,2015,,*45")
    gnss = 1444468352 * 10**9
    check = GnssTimeCheck()
    assert check.observe(zda, 0, gnss + 5) is None  # no fix known yet: ZDA alone proves none
    check.observe(_ok(b"$GPGGA,091232.000,4812.0,N,00824.0,E,1,08,1.0,700.0,M,48.0,M,,*00"),
                  0, gnss)  # fmt: skip
    first = check.observe(zda, 1, gnss + 250_000_000)
    assert first is not None and (first.offset_ns, first.gnss_utc_ns) == (250_000_000, gnss)
    assert first.detail == "ZDA first"
    assert check.observe(zda, 2, gnss + 260_000_000) is None  # within 100 ms of the last
    moved = check.observe(zda, 3, gnss + 500_000_000)
    assert moved is not None and moved.detail == "ZDA change"
    later = check.observe(zda, 3 + 60 * 10**9, gnss + 500_000_000)
    assert later is not None and later.detail == "ZDA minute"
    bad = rec.NmeaSentence(rec.NmeaStatus.CHECKSUM_BAD, zda.raw)
    assert check.observe(bad, 10**12, gnss + 9 * 10**9) is None
