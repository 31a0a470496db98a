"""Sensor boards on serial through firmware_bridge (SerialBridge + StreamDecoder).

Every decoded frame is stored as a BRIDGE record on stream `<stream>:<board id, 8 hex>`
with the decoder's status (OK, UNAUTHENTICATED, REPLAYED): the link-level evidence. A GNSS
passthrough frame is also stored as an NMEA record on stream `gnss` (its sentence bytes
verbatim, checksum checked) and an IMU frame as an IMU record on stream `imu` (counts times
the board's scale), right after the frame they transcribe, so that grants can name `gnss`
or `imu` alone and the offline verifier needs only the core to read them.
Losses the decoder counts go into the signed counters (CRC failures, sequence gaps, other
rejects as dropped); every rejected segment is kept as a DROPPED event with its bytes;
each outage is an event.
"""

from __future__ import annotations

import asyncio
import threading
import time

from edge_agent.config import SourceConfig
from edge_agent.sources.base import Emitter, Source
from firmware_bridge import messages as msg
from firmware_bridge.decoder import Counters, FrameStatus, StreamDecoder
from firmware_bridge.nmea import check_sentence
from firmware_bridge.serial_port import SerialBridge
from notary_core import records as rec

_REJECTS = ("cobs_errors", "short_frames", "oversize_frames", "unsupported_version")


class BridgeSerialSource(Source):
    def __init__(self, cfg: SourceConfig, clock: rec.ClockSource) -> None:
        super().__init__(cfg.stream)
        self.cfg = cfg
        self.clock = clock

    def _capture(self, emit: Emitter, stop: threading.Event) -> None:
        asyncio.run(self._main(emit, stop))

    async def _main(self, emit: Emitter, stop: threading.Event) -> None:
        decoder = StreamDecoder()
        self._last = Counters()
        link = SerialBridge(self.cfg.port, self.cfg.baudrate, decoder)
        async with link:
            watcher = asyncio.create_task(self._watch(link, emit, decoder, stop))
            try:
                async for frame in link:
                    stream = f"{self.cfg.stream}:{frame.header.board_id:08x}"
                    body = rec.BridgeFrame(rec.BridgeStatus(int(frame.status)), frame.raw)
                    mono, utc = time.monotonic_ns(), time.time_ns()
                    emit.record(stream, body, mono, utc)
                    derived = _transcribe(frame.message)
                    if derived is not None and frame.status == FrameStatus.OK:
                        emit.record(derived[0], derived[1], mono, utc)
                    self._account(emit, decoder)
                    emit.maybe_flush()
            finally:
                watcher.cancel()
                self._account(emit, decoder)

    async def _watch(
        self, link: SerialBridge, emit: Emitter, decoder: StreamDecoder, stop: threading.Event
    ) -> None:
        """Flush quiet periods, record outages, and end the link when asked to stop."""
        while not stop.is_set():
            await asyncio.sleep(0.05)
            for o in link.take_outages():
                emit.event(
                    self.cfg.stream, rec.EventType.SERIAL_OUTAGE, o.end_ns - o.start_ns, 0, o.error
                )
            self._account(emit, decoder)
            emit.maybe_flush()
        link.close()

    def _account(self, emit: Emitter, decoder: StreamDecoder) -> None:
        now, last = decoder.counters, self._last
        c = emit.chunk(self.cfg.stream)
        c.crc_failures += now.crc_failures - last.crc_failures
        c.gaps += now.seq_gaps - last.seq_gaps
        c.dropped += sum(getattr(now, k) - getattr(last, k) for k in _REJECTS)
        for r in decoder.take_rejected():
            emit.event(
                self.cfg.stream,
                rec.EventType.DROPPED,
                len(r.data),
                0,
                f"{r.reason}:{r.data.hex()}"[:1000],
            )
        self._last = Counters(**now.as_dict())


def _transcribe(message: object) -> tuple[str, rec.Body] | None:
    """The core record a bridge message stands for, if any (see the module docstring)."""
    if isinstance(message, msg.GnssSentence):
        status = rec.NmeaStatus(int(check_sentence(message.raw)))
        return "gnss", rec.NmeaSentence(status, message.raw)
    if isinstance(message, msg.ImuSample):
        # The integer product is exact; one division is the only rounding.
        a, g = message.accel_scale_nano, message.gyro_scale_nano
        ax, ay, az = (c * a / 1e9 for c in message.accel)
        gx, gy, gz = (c * g / 1e9 for c in message.gyro)
        return "imu", rec.ImuSample((ax, ay, az), (gx, gy, gz))
    return None
