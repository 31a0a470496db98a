"""What the Linux kernel says about this boot and its clocks (boot id, adjtimex state, now)."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
import uuid


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


def adjtimex() -> tuple[int, int, int]:
    """The kernel's clock state (adjtimex(2), read only): (return state, status, maxerror us);
    state -1 when the call is not available (not Linux)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        tx = _Timex()
        state = int(libc.adjtimex(ctypes.byref(tx)))
    except (OSError, AttributeError):
        return -1, 0, 0
    return state, int(tx.status), int(tx.maxerror)


def now_pair() -> tuple[int, int]:
    """(monotonic ns, UTC ns) read back to back: the one place the agent reads both clocks.

    A pair read at different instants (monotonic at the top of a loop, UTC after a slow
    commit) shows the delay between them as a clock step (issue 14 §1)."""
    return time.monotonic_ns(), time.time_ns()
