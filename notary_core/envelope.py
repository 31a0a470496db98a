"""The compressed envelope of a sealed batch on the MQTT batch topic (docs/protocol.md §5.1).

    magic (8)  89 56 4E 5A 0D 0A 1A 0A         ("\\x89VNZ\\r\\n\\x1a\\n")
    u8         envelope version = 1
    u8         method: 1 = zlib (RFC 1950 stream of RFC 1951 deflate)
    u32be      length of the sealed batch it carries, 1..MAX_BATCH_PAYLOAD
    ...        the compressed stream, ending exactly at the end of the payload

Transport only: nothing signs, hashes, stores or discloses these bytes. `unwrap` gives back
the sealed batch's own bytes (§5), the canonical ones every check runs on; a payload
without the magic is a bare sealed batch and comes back as it is. The inflated size is
bounded by the declared length, itself bounded by MAX_BATCH_PAYLOAD, before anything is
inflated: a decompression bomb costs at most the limit (plus one byte) of memory.
"""

from __future__ import annotations

import struct
import zlib
from enum import IntEnum

from notary_core import limits
from notary_core.errors import BadData, Reason, too_large

MAGIC = b"\x89VNZ\r\n\x1a\n"
VERSION = 1
_HEAD = struct.Struct(">8sBBI")
HEADER_SIZE = _HEAD.size  # 14

ZLIB_LEVEL = 4
ZLIB_MEM_LEVEL = 9
"""What this implementation sends (any level is valid on the wire): on the RAV4 trace in
1 s batches, level 4 with memLevel 9 compresses as well as level 6 (2.8x) at a third of its
CPU (docs/performance.md, edge agent: wire)."""


class Method(IntEnum):
    ZLIB = 1


def is_envelope(payload: bytes) -> bool:
    """True when the payload claims to be an envelope (starts with the magic)."""
    return payload[: len(MAGIC)] == MAGIC


def wrap(sealed: bytes, method: Method = Method.ZLIB) -> bytes:
    """The envelope of a sealed batch's bytes (always an envelope, even if not smaller)."""
    if not 0 < len(sealed) <= limits.MAX_BATCH_PAYLOAD:
        raise too_large("sealed batch", len(sealed), limits.MAX_BATCH_PAYLOAD)
    if method != Method.ZLIB:
        raise BadData(Reason.UNSUPPORTED_VERSION, f"compression method {int(method)} unknown")
    c = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, ZLIB_MEM_LEVEL)
    body = c.compress(sealed) + c.flush()
    return _HEAD.pack(MAGIC, VERSION, method, len(sealed)) + body


def for_wire(sealed: bytes, method: Method | None) -> bytes:
    """What a sender publishes: the envelope if it is smaller, else the bare batch (§5.1
    SHOULD), so a payload is never larger than the sealed batch and its limit."""
    if method is None:
        return sealed
    wrapped = wrap(sealed, method)
    return wrapped if len(wrapped) < len(sealed) else sealed


def declared_size(payload: bytes) -> int:
    """The bytes a payload stands for once opened: an envelope's declared length (a bound:
    `unwrap` refuses more), else its own length. For memory accounting before opening."""
    if is_envelope(payload) and len(payload) >= HEADER_SIZE:
        declared: int = min(_HEAD.unpack_from(payload)[3], limits.MAX_BATCH_PAYLOAD)
        return max(len(payload), declared)
    return len(payload)


def unwrap(payload: bytes, limit: int = limits.MAX_BATCH_PAYLOAD) -> bytes:
    """The sealed batch a payload carries. Raises BadData: TOO_LARGE (payload, declared or
    inflated length over its bound), UNSUPPORTED_VERSION (envelope version or method),
    MALFORMED (anything else: truncated, corrupt, short, trailing bytes, nested)."""
    if len(payload) > limit:
        raise too_large("payload", len(payload), limit)
    if not is_envelope(payload):
        return payload
    if len(payload) < HEADER_SIZE:
        raise BadData(Reason.MALFORMED, "envelope truncated in its header")
    _magic, version, method, length = _HEAD.unpack_from(payload)
    if version != VERSION:
        raise BadData(Reason.UNSUPPORTED_VERSION, f"envelope version {version}")
    if method != Method.ZLIB:
        raise BadData(Reason.UNSUPPORTED_VERSION, f"compression method {method} unknown")
    if length == 0:
        raise BadData(Reason.MALFORMED, "envelope declares an empty sealed batch")
    if length > limit:  # refused before inflating a single byte
        raise too_large("declared sealed batch", length, limit)
    return _inflate(memoryview(payload)[HEADER_SIZE:], length)


def _inflate(body: memoryview, length: int) -> bytes:
    # RFC 1950 with a 32 KiB window at most; a preset dictionary (FDICT) fails as "need
    # dictionary", the Adler-32 of the output is checked at the end of the stream.
    d = zlib.decompressobj(zlib.MAX_WBITS)
    try:
        out = d.decompress(body, length)  # never more than the declared length
        # One byte more than declared is enough to know it is too long.
        if len(out) == length and not d.eof and d.decompress(d.unconsumed_tail, 1):
            raise BadData(
                Reason.TOO_LARGE,
                f"envelope inflates past its declared length {length}",
                limit=length,
            )
    except zlib.error as exc:
        raise BadData(Reason.MALFORMED, f"envelope's zlib stream: {exc}") from None
    if not d.eof:
        raise BadData(Reason.MALFORMED, "envelope's zlib stream is truncated")
    if len(out) != length:
        raise BadData(Reason.MALFORMED, f"envelope inflates to {len(out)} bytes, declares {length}")
    if d.unused_data:
        raise BadData(Reason.MALFORMED, "bytes after the envelope's zlib stream")
    if is_envelope(out):
        raise BadData(Reason.MALFORMED, "an envelope inside an envelope")
    return out
