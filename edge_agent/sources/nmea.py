"""A plain NMEA 0183 GNSS receiver on a serial port (pyserial).

Each sentence is stored as received, without its line terminator (docs/protocol.md §2.3,
split by `edge_agent.nmea_lines`, the same bytes for every read boundary), with the
checksum verdict of firmware_bridge.nmea: a bad checksum is stored and flagged CHECKSUM_BAD
and counted as a CRC failure, never dropped or silently accepted; a `#` comment line is
counted as seen and not stored. The receiver's own time is compared with the system clock
(`edge_agent.gnss_time`): GNSS_TIME events on the same stream. A port that fails is
reopened; the outage is an event.
"""

from __future__ import annotations

import threading
import time

import serial

from edge_agent.config import SourceConfig
from edge_agent.gnss_time import GnssTimeCheck
from edge_agent.nmea_lines import LineSplitter
from edge_agent.sources.base import Emitter, Source
from edge_agent.system_linux import now_pair
from notary_core import records as rec

REOPEN_INTERVAL_S = 0.5


class NmeaSerialSource(Source):
    def __init__(self, cfg: SourceConfig, clock: rec.ClockSource) -> None:
        super().__init__(cfg.stream)
        self.cfg = cfg
        self.clock = clock

    def _capture(self, emit: Emitter, stop: threading.Event) -> None:
        stream = self.cfg.stream
        emit.chunk(stream)
        down_since: int | None = None
        while not stop.is_set():
            try:
                port = serial.serial_for_url(self.cfg.port, self.cfg.baudrate, timeout=0.05)
            except (OSError, serial.SerialException) as exc:
                if down_since is None:
                    down_since = time.monotonic_ns()
                    emit.event(stream, rec.EventType.SOURCE_STATE, detail=f"open failed: {exc}")
                emit.flush()
                stop.wait(REOPEN_INTERVAL_S)
                continue
            if down_since is not None:
                emit.event(stream, rec.EventType.SERIAL_OUTAGE, time.monotonic_ns() - down_since)
                down_since = None
            with port:
                error = self._read(port, emit, stop)
            if error is not None:
                down_since = time.monotonic_ns()
                emit.event(stream, rec.EventType.SOURCE_STATE, detail=f"read failed: {error}")

    def _read(self, port: serial.Serial, emit: Emitter, stop: threading.Event) -> str | None:
        stream, lines, check = self.cfg.stream, LineSplitter(), GnssTimeCheck()
        while not stop.is_set():
            try:
                data = port.read(4096)
            except (OSError, serial.SerialException) as exc:
                return str(exc)
            if data:
                mono, utc = now_pair()  # the arrival of this read: every line it completes
                got = lines.feed(data)
                if got.comments:
                    emit.chunk(stream).ignored += got.comments
                for body in got.bodies:
                    emit.record(stream, body, mono, utc)
                    if body.status in (rec.NmeaStatus.CHECKSUM_BAD, rec.NmeaStatus.MALFORMED):
                        emit.chunk(stream).crc_failures += 1
                    if (offset := check.observe(body, mono, utc)) is not None:
                        emit.event(stream, rec.EventType.GNSS_TIME, offset.offset_ns,
                                   offset.gnss_utc_ns, offset.detail)  # fmt: skip
            emit.maybe_flush()
        return None
