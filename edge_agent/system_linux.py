"""What the Linux kernel says about this boot and its clocks (boot id, NTP sync state, now)."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
import uuid

from edge_agent.limits import UNKNOWN_CLOCK_UNCERTAINTY_NS
from notary_core.records import ClockSource

_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


class _Timex(ctypes.Structure):
    # struct timex (linux/timex.h): we read status and maxerror; the tail is padding.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("rest", ctypes.c_byte * 256),
    ]


def boot_id() -> bytes:
    """The kernel's random id of this boot: monotonic times are comparable within it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return uuid.UUID(f.read().strip()).bytes
    except (OSError, ValueError):
        return uuid.uuid4().bytes  # not Linux: a fresh id per agent start, never a false match


def clock_status() -> tuple[ClockSource, int]:
    """(NTP, maxerror) when the kernel clock is synchronised, else (RTC, a wide bound)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return ClockSource.UNKNOWN, UNKNOWN_CLOCK_UNCERTAINTY_NS
    if state < 0 or state == _TIME_ERROR or tx.status & _STA_UNSYNC:
        return ClockSource.RTC, UNKNOWN_CLOCK_UNCERTAINTY_NS
    return ClockSource.NTP, max(0, int(tx.maxerror)) * 1000


def now_pair() -> tuple[int, int]:
    """(monotonic ns, UTC ns) read back to back: the one place the agent reads both clocks.

    A pair read at different instants (monotonic at the top of a loop, UTC after a slow
    commit) shows the delay between them as a clock step (issue 14 §1)."""
    return time.monotonic_ns(), time.time_ns()
