"""Deterministic CBOR (RFC 8949 §4.2.1) on top of cbor2, with bounded, canonical decoding.

cbor2's `canonical=True` sorts map keys length-first (RFC 7049 §3.9). For the keys the
protocol uses (small integers, text under 256 bytes) that order is the same as RFC 8949's
bytewise order of encoded keys, because the first byte of an encoded key carries its length.
Decoding re-encodes and compares: any other encoding of the same value is NON_CANONICAL.
"""

from __future__ import annotations

from typing import Any

import cbor2

from notary_core.errors import BadData, Reason, too_large


class NotCbor(BadData):
    """The bytes are no CBOR data item at all (truncated, garbage): MALFORMED to most
    callers, UNREADABLE to a reader of bundle files."""


def dumps(value: Any) -> bytes:
    """Deterministic encoding of `value` (ints, bytes, text, lists, maps, tags)."""
    return bytes(cbor2.dumps(value, canonical=True))


def loads(data: bytes, limit: int, what: str, *, canonical: bool = True) -> Any:
    """Decode `data`, at most `limit` bytes, and (unless `canonical` is false) require it to
    be in deterministic form."""
    if len(data) > limit:
        raise too_large(what, len(data), limit)
    try:
        value = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types (CBORDecodeError, ValueError, ...)
        raise NotCbor(Reason.MALFORMED, f"{what} is not valid CBOR: {exc}") from None
    if not canonical:
        return value
    try:
        again = dumps(value)
    except Exception as exc:
        raise BadData(Reason.MALFORMED, f"{what} is not a CBOR data item: {exc}") from None
    if again != data:
        raise BadData(Reason.NON_CANONICAL, f"{what} is not deterministic CBOR")
    return value
