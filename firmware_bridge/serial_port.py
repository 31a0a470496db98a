"""The one serial I/O module: read a board's port with pyserial under asyncio, survive unplug.

`SerialBridge(path, baud, decoder)` is an async context manager and an async iterator of
decoded frames. A read error, EIO or hang-up (cable pulled, USB re-enumerated, pty closed)
closes the port, counts an outage and retries the open every `retry_interval` s (default
0.1 s, so a returning port is read again within 1 s). It raises nothing into the caller:
iteration ends only when `close()` is called. Open by a stable path
(`/dev/serial/by-id/...`), so the replugged device is found again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import NamedTuple

import serial

from firmware_bridge.decoder import Frame, StreamDecoder

READ_SIZE = 65536
"""Bytes per read: one read drains the kernel buffer (4 KiB on a pty, more on USB CDC)."""


class Outage(NamedTuple):
    """A time the port was unreadable (monotonic ns) and the error that started it."""

    start_ns: int
    end_ns: int
    error: str


@dataclass(slots=True)
class LinkStats:
    opens: int = 0
    outages: int = 0
    outage_ns: int = 0
    bytes_read: int = 0
    last_error: str = ""


class SerialBridge:
    """Frames from one serial port, reopened after every outage, until `close()`."""

    def __init__(
        self,
        path: str,
        baud: int = 921_600,
        decoder: StreamDecoder | None = None,
        *,
        retry_interval: float = 0.1,
    ) -> None:
        self.path = path
        self.baud = baud
        self.decoder = decoder if decoder is not None else StreamDecoder()
        self.retry_interval = retry_interval
        self.stats = LinkStats()
        self._port: serial.Serial | None = None
        self._ready: deque[Frame] = deque()
        self._outages: list[Outage] = []
        self._down_since: int | None = None
        self._closed = False
        self._wake: asyncio.Event | None = None

    async def __aenter__(self) -> SerialBridge:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self

    @property
    def connected(self) -> bool:
        return self._port is not None

    def take_outages(self) -> list[Outage]:
        """Outages that ended since the last call (the edge agent records each as an event)."""
        out, self._outages = self._outages, []
        return out

    def close(self) -> None:
        """Stop: close the port; a pending or later `__anext__` ends the iteration."""
        self._closed = True
        self._close_port()
        if self._wake is not None:
            self._wake.set()

    async def __anext__(self) -> Frame:
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._closed:
                raise StopAsyncIteration
            if self._port is None and not self._try_open():
                await self._sleep(self.retry_interval)
                continue
            await self._read_once()

    def _try_open(self) -> bool:
        try:
            port = serial.Serial(self.path, self.baud, timeout=0, exclusive=True)
        except (OSError, ValueError, serial.SerialException) as exc:
            self._went_down(f"open: {exc}")
            return False
        self._port = port
        self.stats.opens += 1
        if self._down_since is not None:
            end = time.monotonic_ns()
            self._outages.append(Outage(self._down_since, end, self.stats.last_error))
            self.stats.outage_ns += end - self._down_since
            self._down_since = None
        return True

    def _went_down(self, error: str) -> None:
        self.stats.last_error = error
        if self._down_since is None:
            self._down_since = time.monotonic_ns()
            self.stats.outages += 1  # also a port missing at start: no data is no data
        self.decoder.drop_partial()

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()

    async def _read_once(self) -> None:
        """Wait until the port is readable (or closed), then read and decode what is there."""
        port = self._port
        assert port is not None
        loop = asyncio.get_running_loop()
        fd = port.fileno()
        self._wake = wake = asyncio.Event()
        loop.add_reader(fd, wake.set)
        try:
            await wake.wait()
        finally:
            loop.remove_reader(fd)
            self._wake = None
        if self._closed:
            return
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: the device went away (pty master closed, USB unplugged)
            self._close_port()
            self._went_down(f"read: {exc}")
            return
        if not data:  # hang-up reads as end of file
            self._close_port()
            self._went_down("read: end of file (hang-up)")
            return
        self.stats.bytes_read += len(data)
        self._ready.extend(self.decoder.feed(data))

    async def _sleep(self, seconds: float) -> None:
        self._wake = wake = asyncio.Event()
        try:
            await asyncio.wait_for(wake.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._wake = None
