"""MCU <-> gateway serial protocol: framing, checks, link authentication (see SPEC.md).

Public API (the edge agent uses these; nothing here imports the rest of the project):

    from firmware_bridge import StreamDecoder, Frame, FrameStatus, SerialBridge
    decoder = StreamDecoder(keys={board_id: key32}, require_signed=False)
    frames = decoder.feed(data)          # sans-IO: bytes in, intact frames out, in order
    frame.raw                            # decoded frame, CRC included: the evidence bytes
    frame.header                         # version, type, flags, board_id, seq, mcu_us
    frame.message                        # Hello, ImuSample, GnssSentence, ... or Opaque
    frame.status                         # FrameStatus.OK / UNAUTHENTICATED / REPLAYED
    decoder.counters.as_dict()           # crc_failures, seq_gaps, replays, resyncs, ...
    decoder.take_rejected()              # dropped segments + reason, for quarantine

    async with SerialBridge("/dev/serial/by-id/...", 921_600, decoder) as link:
        async for frame in link: ...     # reopens after unplug/EIO; never raises
        link.take_outages()              # [(start_ns, end_ns, error)] for outage events

    from firmware_bridge.nmea import check_sentence, NmeaCheck   # NMEA checksum status

Errors: `BadFrame` (bad bytes) and `PortUnavailable` (port), both `BridgeError` with a
stable `BridgeReason` code. Only `decoder`, `frame`, `messages`, `nmea` and `limits` are
needed on the decode path; `serial_port` needs pyserial, `frame` needs crc32c and cobs.
"""

from firmware_bridge.decoder import Counters, Frame, FrameStatus, Rejected, StreamDecoder
from firmware_bridge.errors import BadFrame, BridgeError, BridgeReason, PortUnavailable
from firmware_bridge.frame import Header
from firmware_bridge.serial_port import Outage, SerialBridge

__all__ = [
    "BadFrame",
    "BridgeError",
    "BridgeReason",
    "Counters",
    "Frame",
    "FrameStatus",
    "Header",
    "Outage",
    "PortUnavailable",
    "Rejected",
    "SerialBridge",
    "StreamDecoder",
]
