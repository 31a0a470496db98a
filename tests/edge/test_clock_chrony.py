"""The agent's clock labels follow a real chronyd (`chronyd -x`: the host clock is never
touched): unsynchronised is RTC with no bound, a SOCK reference clock fed like gpsd feeds a
GNSS receiver is GNSS, an NTP server is NTP, each with the bound chronyc(1) states,
|offset| + root dispersion + root delay / 2, read back here from chronyc's own report."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from edge_agent import system_linux
from edge_agent.chrony import read_clock
from edge_agent.config import ClockConfig
from edge_agent.discipline import UNBOUNDED_NS, ClockReading, from_adjtimex
from notary_core.records import ClockSource
from tests.infra.chrony import CHRONYC, Chronyd, SockFeeder, gnss_chronyd, ntp_chronyd

pytestmark = pytest.mark.integration


def cfg(c: Chronyd) -> ClockConfig:
    return ClockConfig(chrony=c.socket, chronyc=CHRONYC, poll_s=0.2)


def wait_reading(
    c: Chronyd, ok: Callable[[ClockReading], bool], timeout: float = 30
) -> ClockReading:
    deadline = time.monotonic() + timeout
    while True:
        r = read_clock(cfg(c))
        if ok(r) or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def chronyc_bound_ns(report: str) -> int:
    """The bound from chronyc's human-readable report (not the CSV the agent parses)."""

    def seconds(field: str) -> float:
        m = re.search(rf"^{field}\s*:\s*([-+0-9.]+) seconds", report, re.M)
        assert m, (field, report)
        return float(m.group(1))

    return round((abs(seconds("System time")) + seconds("Root dispersion")
                  + seconds("Root delay") / 2) * 1e9)  # fmt: skip


def test_gnss_refclock_labels_and_bound_follow_chrony() -> None:
    with gnss_chronyd() as c:
        first = read_clock(cfg(c))
        assert (first.source, first.uncertainty_ns) == (ClockSource.RTC, UNBOUNDED_NS), first
        with SockFeeder(c.refclock, offset_s=0.0005):
            got = wait_reading(c, lambda r: r.source is ClockSource.GNSS)
            assert got.source is ClockSource.GNSS, (got, c.log())
            want = chronyc_bound_ns(c.tracking())
            # Read a moment apart: the dispersion moves by microseconds, the offset not at all.
            assert abs(got.uncertainty_ns - want) < 50_000, (got, want)
            assert 500_000 <= got.uncertainty_ns < 1_000_000  # 0.5 ms offset + 0.1 ms delay/2
        # The receiver fell silent: chrony keeps the reference, its dispersion grows, and so
        # does the bound; the label never claims more than chrony does.
        a = read_clock(cfg(c))
        time.sleep(3)
        b = read_clock(cfg(c))
        assert a.source is b.source is ClockSource.GNSS
        assert b.uncertainty_ns > a.uncertainty_ns


def test_a_phc_refclock_is_ptp() -> None:
    with gnss_chronyd(refid="PHC0") as c, SockFeeder(c.refclock, offset_s=0.0001):
        got = wait_reading(c, lambda r: r.source is not ClockSource.RTC)
        assert got.source is ClockSource.PTP, (got, c.log())


def test_ntp_server_is_ntp_with_the_bound_of_its_path() -> None:
    with ntp_chronyd() as c:
        got = wait_reading(c, lambda r: r.source is ClockSource.NTP)
        assert got.source is ClockSource.NTP, (got, c.log())
        assert "127.0.0.1" in got.detail
        # The report read between two readings lies between them (chrony may be slewing
        # away a sample that a busy machine delayed, so the bound can move meanwhile).
        want = chronyc_bound_ns(c.tracking())
        again = read_clock(cfg(c)).uncertainty_ns
        lo, hi = sorted((got.uncertainty_ns, again))
        assert lo - 100_000 <= want <= hi + 100_000, (got, want, again)


def test_without_chrony_the_kernel_says() -> None:
    got = read_clock(ClockConfig(chrony="/nonexistent/chronyd.sock"))
    assert got == from_adjtimex(*system_linux.adjtimex())
    assert got.uncertainty_ns == UNBOUNDED_NS or got.source is ClockSource.NTP
