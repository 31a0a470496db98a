"""Frame layout of protocol version 1 (SPEC.md §3, §5): header, payload, signature, CRC.

    header   version u8 | type u8 | flags u8 | board id u32 | seq u32 | MCU us u64
    payload  0..987 bytes (layout per type, messages.py)
    [signed] signing timestamp u48 | HMAC-SHA256(key, header|payload|timestamp)[:8]
    crc      CRC-32C (Castagnoli) of everything above, u32
All integers little-endian. On the wire: COBS(frame) followed by one 0x00.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import NamedTuple

import crc32c as _crc32c
from cobs import cobs as _cobs  # type: ignore[import-untyped]

from firmware_bridge import limits
from firmware_bridge.errors import BadFrame, BridgeReason

VERSION = 1
FLAG_SIGNED = 0x01
"""Bit 0 of flags: a signature block precedes the CRC. Bits 1-7 are reserved (sent as 0,
ignored by receivers of version 1, covered by the CRC and the signature)."""

TS_MASK = (1 << 48) - 1
HEADER = struct.Struct("<BBBIIQ")
_U32 = struct.Struct("<I")

crc32c = _crc32c.crc32c
"""CRC-32C (iSCSI polynomial 0x1EDC6F41, reflected, init and xor-out 0xFFFFFFFF); C-accelerated."""


class Header(NamedTuple):
    version: int
    type: int
    flags: int
    board_id: int
    seq: int
    mcu_us: int


def signature_tag(key: bytes, signed: bytes) -> bytes:
    """The 64-bit truncated HMAC-SHA256 tag over header | payload | timestamp (SPEC §5)."""
    return hmac.new(key, signed, hashlib.sha256).digest()[: limits.TAG_SIZE]


def build(header: Header, payload: bytes, key: bytes | None = None, sign_ts: int = 0) -> bytes:
    """The decoded frame (CRC included) for `header` and `payload`; signed when `key` is set.

    The SIGNED flag is set or cleared to match `key`."""
    if len(payload) > limits.MAX_PAYLOAD:
        raise BadFrame(BridgeReason.TOO_LARGE, f"payload of {len(payload)} bytes")
    flags = (header.flags | FLAG_SIGNED) if key is not None else (header.flags & ~FLAG_SIGNED)
    try:
        head = HEADER.pack(
            header.version, header.type, flags, header.board_id, header.seq, header.mcu_us
        )
    except struct.error as exc:
        raise BadFrame(BridgeReason.BAD_VALUE, f"header: {exc}") from None
    body = head + payload
    if key is not None:
        if len(key) != limits.KEY_SIZE:
            raise BadFrame(BridgeReason.BAD_KEY, f"signing key of {len(key)} bytes")
        if not 0 <= sign_ts <= TS_MASK:
            raise BadFrame(BridgeReason.BAD_VALUE, "signing timestamp beyond 48 bits")
        body += sign_ts.to_bytes(6, "little")
        body += signature_tag(key, body)
    return body + _U32.pack(crc32c(body))


def to_wire(frame: bytes) -> bytes:
    """COBS-encode a decoded frame and append the 0x00 delimiter (SPEC §2)."""
    return bytes(_cobs.encode(frame)) + b"\x00"


def unstuff(segment: bytes) -> bytes:
    """COBS-decode one segment between delimiters; BadFrame(BAD_COBS) if it is not COBS."""
    try:
        return bytes(_cobs.decode(segment))
    except _cobs.DecodeError as exc:
        raise BadFrame(BridgeReason.BAD_COBS, str(exc)) from None


def check(frame: bytes) -> Header:
    """Check length, CRC and version of a decoded frame and return its header.

    Raises BadFrame with TOO_SHORT, TOO_LARGE, BAD_CRC or UNSUPPORTED_VERSION."""
    n = len(frame)
    if n < limits.MIN_FRAME:
        raise BadFrame(BridgeReason.TOO_SHORT, f"frame of {n} bytes")
    if n > limits.MAX_FRAME:
        raise BadFrame(BridgeReason.TOO_LARGE, f"frame of {n} bytes")
    if crc32c(frame[:-4]) != _U32.unpack_from(frame, n - 4)[0]:
        raise BadFrame(BridgeReason.BAD_CRC, "CRC-32C mismatch")
    header = Header._make(HEADER.unpack_from(frame))
    if header.version != VERSION:
        raise BadFrame(BridgeReason.UNSUPPORTED_VERSION, f"version {header.version}")
    if header.flags & FLAG_SIGNED and n < limits.MIN_FRAME + limits.SIGNATURE_SIZE:
        raise BadFrame(BridgeReason.TOO_SHORT, "signed frame without room for a signature")
    return header


def split(frame: bytes, header: Header) -> tuple[bytes, int | None, bytes | None]:
    """(payload, signing timestamp, tag) of a checked frame; the last two None if unsigned."""
    if header.flags & FLAG_SIGNED:
        end = len(frame) - limits.CRC_SIZE - limits.SIGNATURE_SIZE
        ts = int.from_bytes(frame[end : end + 6], "little")
        return frame[limits.HEADER_SIZE : end], ts, frame[end + 6 : end + limits.SIGNATURE_SIZE]
    return frame[limits.HEADER_SIZE : -limits.CRC_SIZE], None, None
