"""CAN capture through python-can: a live bus (socketcan, slcan, virtual, any interface) or a
replay of a recorded log (candump .log, .asc, .blf) at recorded speed or as fast as possible.

Error frames are kept as records (ERR flag) and counted as bus errors; a bus-off error
frame is also an event. Kernel receive drops: python-can 4.6's socketcan reader accepts
exactly one ancillary message (the timestamp), so SO_RXQ_OVFL cannot be enabled on its
socket; we read the interface's drop counters from sysfs instead (rx_dropped,
rx_over_errors) and record every increase as an RX_OVERFLOW event and as dropped frames.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import can

from edge_agent.config import SourceConfig
from edge_agent.sources.base import Emitter, Source
from notary_core import records as rec
from notary_core.errors import BadData

_EXT, _RTR, _ERR = int(rec.CanFlags.EXT), int(rec.CanFlags.RTR), int(rec.CanFlags.ERR)
_FD, _BRS, _ESI = int(rec.CanFlags.FD), int(rec.CanFlags.BRS), int(rec.CanFlags.ESI)
CAN_ERR_BUSOFF = 0x40  # linux/can/error.h: error class bit in the error frame's id
CAN_ERR_CRTL = 0x04
CAN_ERR_CRTL_RX_OVERFLOW = 0x01  # data[1] of a controller error frame
RETRY_S = 1.0  # reopen a lost adapter this often (an unplugged USB adapter comes back)


class CanCapture:
    """Turns python-can Messages into canonical CAN records on the emitter (the hot path)."""

    def __init__(self, emit: Emitter, stream: str, per_channel: bool) -> None:
        self.emit = emit
        self.stream = stream
        self.per_channel = per_channel
        self._encoders: dict[Any, tuple[str, rec.CanEncoder, rec.ClockSource]] = {}

    def _encoder(self, channel: Any) -> tuple[str, rec.CanEncoder, rec.ClockSource]:
        """The stream and encoder of a channel under the clock label of now (the label is in
        the encoder's fixed bytes: a new one when chrony's state changes)."""
        stream = self.stream
        if self.per_channel and channel is not None:
            stream = channel if isinstance(channel, str) else f"{self.stream}.{channel}"
        clock = self.emit.clock
        try:
            enc = rec.CanEncoder(stream, clock)
        except BadData:
            stream = self.stream
            enc = rec.CanEncoder(stream, clock)
        self.emit.chunk(stream)
        self._encoders[channel] = (stream, enc, clock)
        return stream, enc, clock

    def message(self, msg: can.Message, mono_ns: int, utc_ns: int) -> None:
        got = self._encoders.get(msg.channel)
        if got is None or got[2] is not self.emit.clock:
            got = self._encoder(msg.channel)
        stream, enc, _ = got
        chunk = self.emit.chunks[stream]
        seq = self.emit.seq[stream]
        self.emit.seq[stream] = seq + 1
        data = bytes(msg.data)
        flags = 0
        if msg.is_extended_id:
            flags |= _EXT
        if msg.is_fd:
            flags |= _FD
            if msg.bitrate_switch:
                flags |= _BRS
            if msg.error_state_indicator:
                flags |= _ESI
            dlc = rec.FD_LEN_TO_DLC.get(len(data), -1)
        elif msg.is_remote_frame:
            flags |= _RTR
            dlc, data = msg.dlc, b""
        else:
            dlc = len(data)
        if msg.is_error_frame:
            flags |= _ERR
            chunk.bus_errors += 1
            self._error_frame(stream, msg.arbitration_id, data)
        try:
            record = enc.encode(seq, mono_ns, utc_ns, msg.arbitration_id, flags, dlc, data)
        except BadData as exc:  # seq stays unused: counted dropped, described by an event
            chunk.dropped += 1
            self.emit.event(stream, rec.EventType.DROPPED, 1, msg.arbitration_id, str(exc)[:200])
            return
        chunk.records.append(record)
        chunk.mono.append(mono_ns)
        chunk.utc.append(utc_ns)
        self.emit.pending += 1

    def _error_frame(self, stream: str, err_class: int, data: bytes) -> None:
        if err_class & CAN_ERR_BUSOFF:
            self.emit.event(stream, rec.EventType.BUS_OFF, detail="controller went bus-off")
        if err_class & CAN_ERR_CRTL and len(data) > 1 and data[1] & CAN_ERR_CRTL_RX_OVERFLOW:
            self.emit.chunks[stream].dropped += 1
            self.emit.event(stream, rec.EventType.RX_OVERFLOW, 1, detail="controller rx overflow")


class _SysfsDrops:
    """Kernel drop counters of a SocketCAN interface (absent elsewhere: reads as None)."""

    def __init__(self, channel: str) -> None:
        base = Path("/sys/class/net") / channel / "statistics"
        self._files = [base / "rx_dropped", base / "rx_over_errors"]
        self.last = self.read()

    def read(self) -> int | None:
        try:
            return sum(int(f.read_text()) for f in self._files)
        except (OSError, ValueError):
            return None

    def delta(self) -> int:
        now = self.read()
        if now is None or self.last is None:
            return 0
        d, self.last = max(0, now - self.last), now
        return d


class CanBusSource(Source):
    """A live bus from config: interface, channel, bitrate, fd, extra options."""

    def __init__(self, cfg: SourceConfig, clock: rec.ClockSource) -> None:
        super().__init__(cfg.stream)
        self.cfg = cfg
        self.clock = clock

    def _capture(self, emit: Emitter, stop: threading.Event) -> None:
        """Capture until stopped; an adapter that goes away (USB unplug, EIO) is reopened
        every second, and each loss and each reopen is a SOURCE_STATE event."""
        c = self.cfg
        kwargs: dict[str, Any] = dict(c.options)
        if c.bitrate is not None:
            kwargs["bitrate"] = c.bitrate
        if c.fd:
            kwargs["fd"] = True
        capture = CanCapture(emit, c.stream, per_channel=False)
        drops = _SysfsDrops(c.channel) if c.interface == "socketcan" else None
        lost_at: int | None = None
        while not stop.is_set():
            try:
                with can.Bus(interface=c.interface, channel=c.channel, **kwargs) as bus:
                    down = (
                        ""
                        if lost_at is None
                        else f" after {(time.monotonic_ns() - lost_at) / 1e9:.1f} s down"
                    )
                    emit.event(c.stream, rec.EventType.SOURCE_STATE,
                               detail=f"opened {c.interface}:{c.channel}{down}")  # fmt: skip
                    lost_at = None
                    self._loop(bus, capture, drops, emit, stop)
            except (can.CanError, OSError, ValueError) as exc:
                if lost_at is None:
                    lost_at = time.monotonic_ns()
                    emit.event(c.stream, rec.EventType.SOURCE_STATE, detail=f"lost: {exc}"[:300])
                emit.flush()
                stop.wait(RETRY_S)

    def _loop(
        self,
        bus: can.BusABC,
        capture: CanCapture,
        drops: _SysfsDrops | None,
        emit: Emitter,
        stop: threading.Event,
    ) -> None:
        stream = self.cfg.stream
        while not stop.is_set():
            msg = bus.recv(timeout=0.05)
            if msg is not None:
                capture.message(msg, time.monotonic_ns(), time.time_ns())
            if drops is not None and (d := drops.delta()):
                emit.chunk(stream).dropped += d
                emit.event(stream, rec.EventType.RX_OVERFLOW, d, detail="kernel rx drops")
            emit.maybe_flush()


class ReplaySource(Source):
    """A recorded log through python-can's LogReader; UTC = the recorded time (REPLAY)."""

    clock = rec.ClockSource.REPLAY

    def __init__(self, cfg: SourceConfig) -> None:
        super().__init__(cfg.stream)
        self.cfg = cfg

    def _capture(self, emit: Emitter, stop: threading.Event) -> None:
        replay(self.cfg, emit, stop)


def replay(cfg: SourceConfig, emit: Emitter, stop: threading.Event | None = None) -> int:
    """Feed a log into `emit`; return the number of messages. Also the benchmark's path."""
    capture = CanCapture(emit, cfg.stream, cfg.per_channel)
    realtime = cfg.speed == "recorded"
    start_wall = time.monotonic()
    start_log: float | None = None
    mono = time.monotonic_ns
    n = 0
    with can.LogReader(cfg.file) as reader:
        for msg in reader:
            if realtime:
                if start_log is None:
                    start_log = msg.timestamp
                delay = (msg.timestamp - start_log) - (time.monotonic() - start_wall)
                if delay > 0.001:
                    emit.flush()
                    if stop is not None and stop.wait(delay):
                        break
            utc_ns = round(msg.timestamp * 1_000_000) * 1000
            capture.message(msg, mono(), utc_ns)
            n += 1
            if emit.pending >= 512:
                emit.flush()
                if stop is not None and stop.is_set():
                    break
    emit.flush()
    return n
