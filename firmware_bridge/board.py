"""The board side in Python: numbers and signs frames exactly as the C encoder does.

Used by the simulator, the vector generator and the tests; byte-identical to
firmware_bridge/c/vnb.c for the same inputs (checked against the golden vectors).
"""

from __future__ import annotations

from firmware_bridge import frame, limits
from firmware_bridge.errors import BadFrame, BridgeReason
from firmware_bridge.messages import AnyMessage, type_of


class BoardEncoder:
    """Per-board state: next sequence number and last signing timestamp (SPEC §3, §5).

    The signing timestamp of a frame is max(mcu_us mod 2^48, previous + 1), so it strictly
    increases even when two frames share a microsecond; a board must persist it across
    reboots (SPEC §5.3) or the gateway flags its frames as replayed."""

    def __init__(
        self, board_id: int, key: bytes | None = None, *, seq: int = 0, last_sign_ts: int = 0
    ) -> None:
        if key is not None and len(key) != limits.KEY_SIZE:
            raise BadFrame(BridgeReason.BAD_KEY, f"signing key of {len(key)} bytes")
        self.board_id = board_id
        self.key = key
        self.seq = seq
        self.last_sign_ts = last_sign_ts

    def frame(self, message: AnyMessage, mcu_us: int) -> bytes:
        """The next decoded frame (CRC included) carrying `message`, sampled at `mcu_us`."""
        header = frame.Header(frame.VERSION, type_of(message), 0, self.board_id, self.seq, mcu_us)
        sign_ts = 0
        if self.key is not None:
            sign_ts = max(mcu_us & frame.TS_MASK, self.last_sign_ts + 1)
        raw = frame.build(header, message.encode(), self.key, sign_ts)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        if self.key is not None:
            self.last_sign_ts = sign_ts
        return raw

    def wire(self, message: AnyMessage, mcu_us: int) -> bytes:
        """The next frame as sent on the serial line: COBS + 0x00 delimiter."""
        return frame.to_wire(self.frame(message, mcu_us))
