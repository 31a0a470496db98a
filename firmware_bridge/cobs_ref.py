"""Consistent Overhead Byte Stuffing (Cheshire & Baker, IEEE/ACM ToN 7(2), 1999).

COBS removes every 0x00 from a frame so 0x00 can delimit frames on the wire (SPEC §2):
a receiver that joins mid-stream or meets garbage resynchronises at the next 0x00.
This is the readable reference; the hot path (frame.py, decoder.py) uses the `cobs`
package's C extension, 50x faster, and the tests check the two agree byte for byte.
"""

from __future__ import annotations

from firmware_bridge.errors import BadFrame, BridgeReason

_BLOCK = 254  # data bytes per code byte when no zero occurs (code 0xFF)


def encode(data: bytes) -> bytes:
    """COBS-encode `data` (the result holds no 0x00; the caller appends the delimiter)."""
    out = bytearray()
    chunks = data.split(b"\x00")
    last = len(chunks) - 1
    for k, chunk in enumerate(chunks):
        pos = 0
        # A full block (code 0xFF) carries 254 bytes and implies no zero after it.
        while len(chunk) - pos >= _BLOCK:
            out.append(0xFF)
            out += chunk[pos : pos + _BLOCK]
            pos += _BLOCK
        rest = len(chunk) - pos
        if k == last and rest == 0 and pos > 0:
            break  # the data ends on a full block: no trailing code (canonical COBS)
        out.append(rest + 1)
        out += chunk[pos:]
    return bytes(out)


def decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (no delimiter inside); BadFrame(BAD_COBS) if invalid."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            raise BadFrame(BridgeReason.BAD_COBS, "COBS code runs past the segment", at=i)
        out += data[i + 1 : end]
        if code != 0xFF and end < n:
            out.append(0)
        i = end
    return bytes(out)
