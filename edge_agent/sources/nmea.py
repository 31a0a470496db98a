"""A plain NMEA 0183 GNSS receiver on a serial port (pyserial).

Each line is kept exactly as received (line ending included) with the checksum verdict of
firmware_bridge.nmea: a bad checksum is stored and flagged CHECKSUM_BAD and counted as a
CRC failure, never dropped or silently accepted. A line longer than a record allows is
kept in pieces flagged MALFORMED. A port that fails is reopened; the outage is an event.
"""

from __future__ import annotations

import threading
import time

import serial

from edge_agent.config import SourceConfig
from edge_agent.sources.base import Emitter, Source
from firmware_bridge.nmea import check_sentence
from notary_core import limits
from notary_core import records as rec

REOPEN_INTERVAL_S = 0.5


def sentence_records(line: bytes) -> list[rec.NmeaSentence]:
    """The record bodies for one received line (pure: also used by tests)."""
    if len(line) <= limits.MAX_NMEA_SENTENCE:
        return [rec.NmeaSentence(rec.NmeaStatus(int(check_sentence(line))), line)]
    size = limits.MAX_NMEA_SENTENCE
    return [
        rec.NmeaSentence(rec.NmeaStatus.MALFORMED, line[i : i + size])
        for i in range(0, len(line), size)
    ]


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
        stream, pending = self.cfg.stream, b""
        while not stop.is_set():
            try:
                data = port.read(4096)
            except (OSError, serial.SerialException) as exc:
                return str(exc)
            if data:
                lines = (pending + data).splitlines(keepends=True)
                pending = b"" if lines[-1].endswith((b"\n", b"\r")) else lines.pop()
                if len(pending) > limits.MAX_NMEA_SENTENCE:
                    lines.append(pending)
                    pending = b""
                for line in lines:
                    if not line.strip():
                        continue
                    mono, utc = time.monotonic_ns(), time.time_ns()
                    for body in sentence_records(line):
                        emit.record(stream, body, mono, utc)
                        if body.status in (rec.NmeaStatus.CHECKSUM_BAD, rec.NmeaStatus.MALFORMED):
                            emit.chunk(stream).crc_failures += 1
            emit.maybe_flush()
        return None
