"""A simulated board on a pseudo-terminal: the gateway opens the pty slave like a USB port.

`PtyPort` owns the pty (and an optional symlink to its slave, which plays the role of
`/dev/serial/by-id/...`); `unplug()`/`replug()` close it and make a new one at the same
link, as pulling and re-inserting a USB cable does. `play()` writes a timeline of frames at
the recorded rate times `speed` (or as fast as the reader takes them). Writes block while
the pty buffer is full, like hardware flow control: a slow reader loses nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import termios
import time
import tty
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class PlayStats:
    frames: int = 0
    bytes: int = 0
    unplugged_frames: int = 0  # sent while unplugged: lost, as on a real cable


class PtyPort:
    """One pty at a time, optionally reachable through a stable symlink."""

    def __init__(self, link: Path | None = None) -> None:
        self.link = link
        self.slave_path = ""
        self._master = -1
        self._slave = -1

    def __enter__(self) -> PtyPort:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def open(self) -> str:
        """Create the pty (raw on both sides) and point the link at it; return the slave path."""
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)  # before any reader: no echo, no CR/LF translation of frame bytes
        self._master, self._slave = master, slave
        self.slave_path = os.ttyname(slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_path)
            tmp.replace(self.link)  # atomic: a reader never sees a half-made link
        return self.slave_path

    def unplug(self) -> None:
        """Close the pty: the reader's next read fails with EIO, as with a pulled cable."""
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    replug = open

    def close(self) -> None:
        self.unplug()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view) :]

    def unread(self) -> int:
        """Bytes written but not yet read by the other side."""
        if self._slave < 0:
            return 0
        raw = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])

    def drain(self, timeout: float, settle: float = 0.2) -> bool:
        """Wait until the reader has taken everything written (True) or `timeout` passes.

        Bytes written to the master reach the slave's input queue through the kernel's
        flip buffer, pushed by a worker thread: right after a write, and later on a loaded
        machine, the queue can read empty while the last bytes are still on their way.
        So the queue must stay empty for `settle` seconds before the reader counts as done."""
        end = time.monotonic() + timeout
        empty_since: float | None = None
        while True:
            now = time.monotonic()
            if self.unread() > 0:
                empty_since = None
            elif empty_since is None:
                empty_since = now
            elif now - empty_since >= settle:
                return True
            if now >= end:
                return False
            time.sleep(0.01)


def play(
    port: PtyPort,
    timeline: Iterable[tuple[int, bytes]],
    *,
    speed: float | None = 1.0,
    unplug_at: float | None = None,
    unplug_for: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PlayStats:
    """Write each (MCU microseconds, wire bytes) at its time / `speed` (None: no pacing).

    With `unplug_at` (seconds of wall time after the start), the port is unplugged for
    `unplug_for` seconds; frames due meanwhile are lost and counted."""
    stats = PlayStats()
    start = clock()
    first_us: int | None = None
    replug_at: float | None = None
    for mcu_us, wire in timeline:
        if first_us is None:
            first_us = mcu_us
        if speed is not None:
            delay = start + (mcu_us - first_us) / 1e6 / speed - clock()
            if delay > 0:
                sleep(delay)
        now = clock() - start
        if unplug_at is not None and now >= unplug_at:
            port.unplug()
            unplug_at = None
            replug_at = now + unplug_for
        if replug_at is not None and now >= replug_at:
            port.replug()
            replug_at = None
        if not port.plugged:
            stats.unplugged_frames += 1
            continue
        port.write(wire)
        stats.frames += 1
        stats.bytes += len(wire)
    return stats
