"""Pure: chronyc tracking lines (captured from chronyd 4.3) and adjtimex states to labels."""

from __future__ import annotations

import pytest

from edge_agent.discipline import (
    UNBOUNDED_NS,
    ClockReading,
    from_adjtimex,
    from_chrony_tracking,
    worst,
)
from notary_core.records import ClockSource

GPS = ("47505300,GPS,1,1796164878.557523736,0.000500000,-0.000000000,0.000000000,0.000,-0.000,"
       "0.000,0.000200000,0.000000808,1.0,Normal")  # fmt: skip
NTP = ("7F000001,127.0.0.1,2,1796167381.000000000,-0.000003693,0.000000036,0.000000276,-0.843,"
       "0.015,1.345,0.000010679,0.000001304,0.0,Normal")  # fmt: skip
UNSYNC = ("00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,"
          "1.000000000,1.000000000,0.0,Not synchronised")  # fmt: skip
LOCAL = "7F7F0101,,10,1796167381.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,Normal"


def test_chrony_lines_to_labels() -> None:
    gps = from_chrony_tracking(GPS)
    assert gps.source is ClockSource.GNSS
    assert gps.uncertainty_ns == 500_000 + 808 + 100_000  # |offset| + dispersion + delay/2
    ntp = from_chrony_tracking(NTP)
    assert (ntp.source, ntp.uncertainty_ns) == (ClockSource.NTP, 3693 + 1304 + 5340)
    assert from_chrony_tracking(UNSYNC) == ClockReading(ClockSource.RTC, UNBOUNDED_NS,
                                                        "chrony: not synchronised")  # fmt: skip
    assert from_chrony_tracking(LOCAL).uncertainty_ns == UNBOUNDED_NS
    phc = from_chrony_tracking(GPS.replace("GPS", "PHC0"))
    assert phc.source is ClockSource.PTP


@pytest.mark.parametrize("bad", ["", "506 Cannot talk to daemon", GPS + ",x",
                                 GPS.replace("0.000500000", "nan")])  # fmt: skip
def test_a_line_that_is_not_tracking_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="chronyc tracking"):
        from_chrony_tracking(bad)


def test_kernel_states() -> None:
    assert from_adjtimex(0, 0, 1500).uncertainty_ns == 1_500_000
    assert from_adjtimex(0, 0, 1500).source is ClockSource.NTP
    assert from_adjtimex(0, 0x40, 16_000_000).uncertainty_ns == UNBOUNDED_NS  # STA_UNSYNC
    assert from_adjtimex(5, 0, 10).source is ClockSource.RTC  # TIME_ERROR
    assert from_adjtimex(-1, 0, 0).source is ClockSource.UNKNOWN


def test_a_batch_claims_its_widest_reading() -> None:
    a = from_chrony_tracking(GPS)
    b = from_chrony_tracking(UNSYNC)
    assert worst(None, a) is a and worst(a, b) is b and worst(b, a) is b
