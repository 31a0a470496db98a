"""sd_notify(3) without libsystemd: datagrams to $NOTIFY_SOCKET (the unit's Type=notify).

READY=1 once the spool and sources are open, WATCHDOG=1 from the main loop at half of
$WATCHDOG_USEC (a main loop stuck retrying a spool write stops pinging: systemd restarts the
agent after WatchdogSec), STOPPING=1 on shutdown. Without $NOTIFY_SOCKET (not under systemd,
or Type=simple) every call does nothing.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `state` ("READY=1", "WATCHDOG=1", ...) to $NOTIFY_SOCKET; False when unset or the
    send failed (never raises: systemd's supervision is not a reason to stop capturing).
    A name starting with '@' is an abstract socket (its first byte NUL on the wire)."""
    path = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not path or path[0] not in "/@":
        return False
    address = "\0" + path[1:] if path[0] == "@" else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(state.encode(), address)
    except OSError:
        return False
    return True


class Watchdog:
    """WATCHDOG=1 at most every half of $WATCHDOG_USEC; off when unset, zero, or meant for
    another process ($WATCHDOG_PID names a different pid)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.env = env
        try:
            usec = int(env.get("WATCHDOG_USEC", "0"))
            pid = int(env.get("WATCHDOG_PID", str(os.getpid())))
        except ValueError:
            usec, pid = 0, 0
        self.interval_ns = usec * 1000 // 2 if usec > 0 and pid == os.getpid() else 0
        self._last = 0

    def ping(self, now_ns: int | None = None) -> bool:
        """Call from every healthy main-loop pass; True when a WATCHDOG=1 went out."""
        if not self.interval_ns:
            return False
        now = time.monotonic_ns() if now_ns is None else now_ns
        if self._last and now - self._last < self.interval_ns:
            return False
        self._last = now
        return notify("WATCHDOG=1", self.env)
