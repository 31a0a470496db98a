"""Every bound the bridge decoder enforces, in one place, each with its reason (SPEC.md §6).

A decoder checks a length against these before it allocates or loops, so a hostile or
noisy serial line costs at most the bound. Narrowing a bound is a protocol change.
"""

from __future__ import annotations

HEADER_SIZE = 19
"""version u8, type u8, flags u8, board id u32, seq u32, MCU microseconds u64 (SPEC §3)."""

CRC_SIZE = 4
"""CRC-32C, little-endian, over everything before it (SPEC §3)."""

SIGNATURE_SIZE = 14
"""48-bit signing timestamp + 64-bit truncated HMAC-SHA256 tag (SPEC §5)."""

TAG_SIZE = 8
"""Truncated HMAC-SHA256: 64 bits; a forger needs 2^63 tries on a 921,600-baud link."""

KEY_SIZE = 32
"""Per-board signing key (as MAVLink 2 signing)."""

MIN_FRAME = HEADER_SIZE + CRC_SIZE
"""An unsigned frame with an empty payload."""

MAX_FRAME = 1024
"""Largest decoded frame, CRC included; equals notary_core.limits.MAX_BRIDGE_FRAME so
every accepted frame can be stored as an evidence record. An MCU needs one such buffer."""

MAX_PAYLOAD = MAX_FRAME - HEADER_SIZE - SIGNATURE_SIZE - CRC_SIZE
"""What is left for a payload in a signed frame of MAX_FRAME bytes (987)."""

MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1
"""COBS adds at most one byte per 254 (plus one): a longer run without a 0x00 delimiter is
not a frame, and the decoder drops it instead of buffering without bound."""

MAX_GNSS_SENTENCE = 512
"""NMEA 0183 caps a sentence at 82 characters; proprietary ones ($PUBX, $PSRF) are longer.
512 keeps every real one and stays under notary_core's NMEA record bound (1 KiB)."""

MAX_UNIT = 16
"""Unit text of a generic sensor reading ("degC", "kPa", "m/s2"): UCUM codes are short."""

MAX_LOG_TEXT = 256
"""Event/log text from the board: a line, not a dump."""

MAX_TRACKED_BOARDS = 64
"""Boards whose sequence and signing timestamp one decoder tracks. One serial link carries
one board in practice; a flood of forged board ids cannot grow memory past this."""

MAX_KEPT_REJECTS = 256
"""Rejected segments kept (bytes + reason) until the caller takes them for quarantine."""
