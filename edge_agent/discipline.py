"""Pure: what the clock discipline says, turned into the label every record carries.

The system clock of a gateway is disciplined by chrony (a GNSS receiver through gpsd, with
PPS where the board has it, or NTP over the cellular link). Its tracking report gives the
reference, the offset of the system clock from it, and the root delay and root dispersion
of the path to the primary reference. chronyc(1) states the bound this module uses:

    clock error <= |system time offset| + root dispersion + root delay / 2

(chrony's root dispersion already grows with the time since the last update, so a receiver
that lost its fix widens the bound on its own). The source label (docs/protocol.md §2.1)
is the kind of reference: a reference clock (chrony `refclock`, a name such as GPS or PPS
rather than an address) is GNSS, or PTP for a PHC; an NTP server (an IP address) is NTP;
chrony's own `local` reference (127.127.1.1) is a free-running clock, RTC.

Without chrony, the kernel's adjtimex is the fallback: synchronised (STA_UNSYNC clear) is
NTP with the kernel's `maxerror` (the bound the NTP daemon maintains), else RTC. A clock
that was never synchronised has no bound: `UNBOUNDED_NS`, never a made-up constant.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from notary_core.records import ClockSource

UNBOUNDED_NS = 2**64 - 1
"""clock_uncertainty_ns of a clock with no known bound (never synchronised, or unknown)."""

_LOCAL_REFID = "7F7F0101"  # chrony's `local` reference: the clock serves itself
_STA_UNSYNC = 0x0040  # linux/timex.h
_TIME_ERROR = 5


@dataclass(frozen=True, slots=True)
class ClockReading:
    """The system clock's label at one moment, and where it came from (for the log)."""

    source: ClockSource
    uncertainty_ns: int
    detail: str


UNKNOWN = ClockReading(ClockSource.UNKNOWN, UNBOUNDED_NS, "no clock discipline readable")


def from_chrony_tracking(csv_line: str) -> ClockReading:
    """`chronyc -c tracking` (one CSV line) -> the label. ValueError if it is not one."""
    f = csv_line.strip().split(",")
    if len(f) != 14:
        raise ValueError(f"chronyc tracking: {len(f)} fields, expected 14")
    refid, name, stratum, leap = f[0].upper(), f[1], int(f[2]), f[13]
    offset, delay, dispersion = float(f[4]), float(f[10]), float(f[11])
    if leap == "Not synchronised" or stratum == 0 or refid == "00000000":
        return ClockReading(ClockSource.RTC, UNBOUNDED_NS, "chrony: not synchronised")
    if refid == _LOCAL_REFID:
        return ClockReading(ClockSource.RTC, UNBOUNDED_NS, "chrony: local reference only")
    bound = abs(offset) + dispersion + delay / 2
    if not math.isfinite(bound) or bound < 0:
        raise ValueError(f"chronyc tracking: bound {bound!r}")
    source = ClockSource.NTP if _is_address(name) else ClockSource.GNSS
    if source is ClockSource.GNSS and name.upper().startswith("PHC"):
        source = ClockSource.PTP
    ns = min(UNBOUNDED_NS, math.ceil(round(bound * 1e9, 3)))  # up, past float noise
    return ClockReading(source, ns, f"chrony: {name or refid} stratum {stratum}, ±{ns} ns")


def from_adjtimex(state: int, status: int, maxerror_us: int) -> ClockReading:
    """The kernel's word (adjtimex(2)): its return state, `status` bits, `maxerror` (us)."""
    if state < 0:
        return UNKNOWN
    if state == _TIME_ERROR or status & _STA_UNSYNC:
        return ClockReading(ClockSource.RTC, UNBOUNDED_NS, "kernel: not synchronised")
    ns = max(0, maxerror_us) * 1000
    return ClockReading(ClockSource.NTP, ns, f"kernel: synchronised, maxerror ±{ns} ns")


def worst(a: ClockReading | None, b: ClockReading) -> ClockReading:
    """The wider of two readings: what a batch spanning both can claim."""
    return b if a is None or b.uncertainty_ns > a.uncertainty_ns else a


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class ClockLabel:
    """The system clock's label now, shared between threads: the clock monitor replaces
    `reading` whole (one attribute store, atomic), sources and the sealer read it."""

    __slots__ = ("reading",)

    def __init__(self, reading: ClockReading) -> None:
        self.reading = reading

    @property
    def source(self) -> ClockSource:
        return self.reading.source
