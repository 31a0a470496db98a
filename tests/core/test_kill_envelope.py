"""notary_core.envelope, the edges and words the round trips leave open: each refusal by its
reason and message, the limits at and one past their value, and the bytes `wrap` sends."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from notary_core import envelope, limits
from notary_core.errors import BadData, Reason

LIMIT = limits.MAX_BATCH_PAYLOAD


def head(length: int, version: int = 1, method: int = 1) -> bytes:
    return struct.pack(">8sBBI", envelope.MAGIC, version, method, length)


def refused(payload: bytes, limit: int = LIMIT) -> BadData:
    with pytest.raises(BadData) as exc:
        envelope.unwrap(payload, limit)
    return exc.value


DATA = bytes(random.Random(19).choices(b"abcdefgh  \n0123", k=200_000))


def test_wrap_sends_level_4_memlevel_9_with_a_32k_window() -> None:
    """What the module says it sends, byte for byte (another window or memLevel is other
    bytes: the second assertion shows this input tells memLevel 8 from 9)."""
    c = zlib.compressobj(4, zlib.DEFLATED, 15, 9)
    want = c.compress(DATA) + c.flush()
    eight = zlib.compressobj(4, zlib.DEFLATED, 15, 8)
    assert eight.compress(DATA) + eight.flush() != want
    assert envelope.wrap(DATA) == head(len(DATA)) + want
    assert envelope.wrap(DATA)[14:16] == b"\x78\x5e"  # CINFO 7 (32 KiB), FLEVEL 1


def test_wrap_bounds_the_sealed_batch_at_both_ends() -> None:
    for bad in (b"", bytes(LIMIT + 1)):
        with pytest.raises(BadData) as exc:
            envelope.wrap(bad)
        e = exc.value
        assert e.reason == Reason.TOO_LARGE
        assert e.message == f"sealed batch is {len(bad)}, limit {LIMIT}"
        assert e.fields == {"size": len(bad), "limit": LIMIT}
    assert envelope.unwrap(envelope.wrap(bytes(LIMIT))) == bytes(LIMIT)
    assert envelope.unwrap(envelope.wrap(b"\x07")) == b"\x07"


def test_an_unknown_method_is_named() -> None:
    for call in (lambda: envelope.wrap(b"x", 2), lambda: envelope.for_wire(b"x" * 99, 2)):  # type: ignore[arg-type]
        with pytest.raises(BadData) as exc:
            call()
        assert exc.value.reason == Reason.UNSUPPORTED_VERSION
        assert exc.value.message == "compression method 2 unknown"


def test_for_wire_sends_the_bare_batch_when_the_envelope_is_no_smaller() -> None:
    equal = next(d for m in range(64) if len(envelope.wrap(d := b"\x07" + bytes(m))) == len(d))
    assert envelope.for_wire(equal, envelope.Method.ZLIB) is equal
    one_less = equal + b"\x00"
    assert len(envelope.wrap(one_less)) < len(one_less)
    assert envelope.for_wire(one_less, envelope.Method.ZLIB) == envelope.wrap(one_less)


def test_a_payload_at_the_limit_is_read_and_one_past_it_refused() -> None:
    assert envelope.unwrap(b"\x84" * 10, 10) == b"\x84" * 10
    e = refused(b"\x84" * 11, 10)
    assert (e.reason, e.message, e.fields) == (
        Reason.TOO_LARGE, "payload is 11, limit 10", {"size": 11, "limit": 10})  # fmt: skip


def test_a_declared_length_at_the_limit_is_inflated_and_one_past_it_refused() -> None:
    data = bytes(1000)
    assert envelope.unwrap(envelope.wrap(data), 1000) == data
    e = refused(envelope.wrap(data), 999)
    assert (e.reason, e.message) == (Reason.TOO_LARGE, "declared sealed batch is 1000, limit 999")
    assert e.fields == {"size": 1000, "limit": 999}


def test_each_malformed_header_by_its_words() -> None:
    cases = [
        (
            envelope.MAGIC + b"\x01\x01\x00\x00",
            Reason.MALFORMED,
            "envelope truncated in its header",
        ),
        (head(5, version=2), Reason.UNSUPPORTED_VERSION, "envelope version 2"),
        (head(5, method=3), Reason.UNSUPPORTED_VERSION, "compression method 3 unknown"),
        (
            head(0) + zlib.compress(b"x"),
            Reason.MALFORMED,
            "envelope declares an empty sealed batch",
        ),
        # A header with nothing after it is a whole header: the stream is what is missing.
        (head(5), Reason.MALFORMED, "envelope's zlib stream is truncated"),
    ]
    for payload, reason, message in cases:
        e = refused(payload)
        assert (e.reason, e.message) == (reason, message), payload


def test_each_bad_stream_by_its_words() -> None:
    body = zlib.compress(DATA)
    n = len(DATA)
    e = refused(head(n - 1) + body)
    assert (e.reason, e.message) == (
        Reason.TOO_LARGE, f"envelope inflates past its declared length {n - 1}")  # fmt: skip
    assert e.fields == {"limit": n - 1}
    e = refused(head(n) + b"\x78\x9c\xff\xff")
    assert e.reason == Reason.MALFORMED
    assert e.message.startswith("envelope's zlib stream: Error -3 while decompressing")
    e = refused(head(n) + body[:-3])
    assert (e.reason, e.message) == (Reason.MALFORMED, "envelope's zlib stream is truncated")
    e = refused(head(n + 1) + body)
    assert (e.reason, e.message) == (
        Reason.MALFORMED, f"envelope inflates to {n} bytes, declares {n + 1}")  # fmt: skip
    e = refused(head(n) + body + b"\x00")
    assert (e.reason, e.message) == (Reason.MALFORMED, "bytes after the envelope's zlib stream")
    inner = envelope.wrap(DATA)
    e = refused(head(len(inner)) + zlib.compress(inner))
    assert (e.reason, e.message) == (Reason.MALFORMED, "an envelope inside an envelope")
