"""The agent process, a real chronyd -x and a GNSS receiver on a pty: headers and records
are RTC with no bound until chrony selects the receiver (fed over its SOCK refclock, as
gpsd does), then GNSS with chrony's bound; the receiver's own time is compared with the
system clock in GNSS_TIME events on its stream."""

from __future__ import annotations

import os
import signal
import threading
import time
import tty
from datetime import UTC, datetime

import pytest

from edge_agent.discipline import UNBOUNDED_NS
from firmware_bridge.nmea import make_sentence
from notary_core import records as rec
from tests.edge.kit import Device, start_agent
from tests.edge.responder import Responder
from tests.infra.chrony import CHRONYC, SockFeeder, gnss_chronyd
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = pytest.mark.integration


def receiver(fd: int, stop: threading.Event) -> None:
    """An NMEA receiver with a fix: RMC and GGA with the current UTC, 5 times a second."""
    while not stop.wait(0.2):
        now = datetime.now(UTC)
        hms = now.strftime("%H%M%S.") + f"{now.microsecond // 10000:02d}"
        os.write(fd, make_sentence(f"GPGGA,{hms},4812.000,N,00824.000,E,1,08,0.9,700.0,M,48.0,M,,"))
        os.write(fd, make_sentence(f"GPRMC,{hms},A,4812.000,N,00824.000,E,0.0,0.0,"
                                   f"{now.strftime('%d%m%y')},,,A"))  # fmt: skip


def test_labels_follow_chrony_and_gnss_time_is_cross_checked(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()
    feeder = threading.Thread(target=receiver, args=(master, stop), daemon=True)
    with gnss_chronyd() as chrony:
        source = (f'[[source]]\ntype = "nmea"\nstream = "gnss"\nport = "{os.ttyname(slave)}"\n'
                  f'[clock]\nchrony = "{chrony.socket}"\nchronyc = "{CHRONYC}"\n'
                  "poll_s = 0.2\n")  # fmt: skip
        cfg = dev.config(broker, source)
        log = dev.dir / "agent.log"
        feeder.start()
        proc = start_agent(cfg, log)
        try:
            deadline = time.monotonic() + 30
            while len(resp.chain()) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            unsynced = len(resp.chain())
            with SockFeeder(chrony.refclock, offset_s=0.0005):
                while time.monotonic() < deadline + 30:
                    hs = [b.signed.header for b in resp.chain()]
                    if sum(h.clock_source is rec.ClockSource.GNSS for h in hs) >= 4:
                        break
                    time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, log.read_text()
            stop.set()
            feeder.join(5)
            os.close(master)
            os.close(slave)
    batches = resp.chain()
    headers = [b.signed.header for b in batches]
    assert unsynced >= 4
    assert all((h.clock_source, h.clock_uncertainty_ns) == (rec.ClockSource.RTC, UNBOUNDED_NS)
               for h in headers[:3]), headers[:3]  # fmt: skip
    gnss = [h for h in headers if h.clock_source is rec.ClockSource.GNSS]
    assert len(gnss) >= 4, [(h.clock_source, h.clock_uncertainty_ns) for h in headers]
    assert all(500_000 <= h.clock_uncertainty_ns < 2_000_000 for h in gnss[1:])
    records = [rec.decode(r) for b in batches for r in b.verify(dev.public)]
    sentences = [r for r in records if isinstance(r.body, rec.NmeaSentence)]
    assert {r.clock for r in sentences} == {rec.ClockSource.RTC, rec.ClockSource.GNSS}
    assert all(not r.body.raw.endswith((b"\r", b"\n")) for r in sentences)  # type: ignore[union-attr]
    checks = [r.body for r in records if isinstance(r.body, rec.AgentEvent)
              and r.body.event == rec.EventType.GNSS_TIME]  # fmt: skip
    assert checks and checks[0].detail in ("RMC first", "GGA first", "RMC change")
    # The receiver's time is the system clock's, truncated to 10 ms, written some ms before.
    assert all(0 <= e.a < 200_000_000 for e in checks), [e.a for e in checks]
    assert [r.stream for r in records if isinstance(r.body, rec.AgentEvent)
            and r.body.event == rec.EventType.GNSS_TIME] == ["gnss"] * len(checks)  # fmt: skip
