"""The compressed envelope of a sealed batch (docs/protocol.md §5.1): round trips, and every
way a payload can be wrong refused with its reason before it costs more than the limit."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notary_core import batch, envelope, limits
from notary_core.batch import SealedBatch
from notary_core.errors import BadData, Reason
from tests.collector.fleet import load_can_records
from tests.core.factories import signer, template

LIMIT = limits.MAX_BATCH_PAYLOAD


def head(length: int, version: int = 1, method: int = 1) -> bytes:
    return struct.pack(">8sBBI", envelope.MAGIC, version, method, length)


def reason(payload: bytes) -> Reason:
    with pytest.raises(BadData) as exc:
        envelope.unwrap(payload)
    return exc.value.reason


@pytest.fixture(scope="module")
def records(shared_data: Path) -> list[bytes]:
    return load_can_records(shared_data, 500)


def seal(records: list[bytes]) -> bytes:
    return batch.seal(template(), records, bytes([9]) * 32, signer()).to_bytes()


@pytest.fixture
def sealed(records: list[bytes]) -> bytes:
    """500 real CAN frames of the RAV4 trace, sealed."""
    return seal(records)


def test_a_real_batch_round_trips_smaller_and_parses(sealed: bytes) -> None:
    wire = envelope.for_wire(sealed, envelope.Method.ZLIB)
    assert wire.startswith(envelope.MAGIC) and len(wire) < len(sealed) / 2
    assert envelope.unwrap(wire) == sealed
    assert SealedBatch.from_bytes(envelope.unwrap(wire)).to_bytes() == sealed
    assert envelope.declared_size(wire) == len(sealed)


def test_a_bare_batch_is_read_as_before(sealed: bytes) -> None:
    assert sealed[0] == 0x84 and not envelope.is_envelope(sealed)
    assert envelope.unwrap(sealed) is sealed
    assert envelope.for_wire(sealed, None) is sealed
    assert envelope.declared_size(sealed) == len(sealed)


@given(st.binary(min_size=1, max_size=4096).filter(lambda b: not envelope.is_envelope(b)))
def test_any_bytes_round_trip_and_the_wire_is_never_larger(data: bytes) -> None:
    assert envelope.unwrap(envelope.wrap(data)) == data
    wire = envelope.for_wire(data, envelope.Method.ZLIB)
    assert len(wire) <= len(data) and envelope.unwrap(wire) == data


def test_a_bomb_is_refused_before_inflating_past_the_limit() -> None:
    """64 MiB of zeros in ~64 KB, declared at the limit: refused after limit + 1 bytes."""
    c = zlib.compressobj(9)
    body = b"".join(c.compress(bytes(1 << 20)) for _ in range(64)) + c.flush()
    assert len(body) < 100_000
    tracemalloc.start()
    try:
        assert reason(head(LIMIT) + body) == Reason.TOO_LARGE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * LIMIT  # inflating it all would take 64 MiB


def test_a_declared_length_over_the_limit_is_refused_before_inflating() -> None:
    # The body is not even zlib: the length is checked first.
    assert reason(head(LIMIT + 1) + b"\xff" * 32) == Reason.TOO_LARGE
    assert envelope.declared_size(head(2**32 - 1)) == LIMIT


def test_a_stream_longer_or_shorter_than_declared(sealed: bytes) -> None:
    body = zlib.compress(sealed)
    assert reason(head(len(sealed) - 1) + body) == Reason.TOO_LARGE
    assert reason(head(len(sealed) + 1) + body) == Reason.MALFORMED
    assert reason(head(0) + body) == Reason.MALFORMED


def test_truncated_anywhere_is_malformed(sealed: bytes) -> None:
    wire = envelope.wrap(sealed)
    for cut in [*range(len(envelope.MAGIC), envelope.HEADER_SIZE + 8), *range(20, len(wire), 97)]:
        assert reason(wire[:cut]) == Reason.MALFORMED, cut
    assert reason(wire[:-1]) == Reason.MALFORMED


def test_wrong_method_or_version(sealed: bytes) -> None:
    body = zlib.compress(sealed)
    assert reason(head(len(sealed), method=2) + body) == Reason.UNSUPPORTED_VERSION
    assert reason(head(len(sealed), method=0) + body) == Reason.UNSUPPORTED_VERSION
    assert reason(head(len(sealed), version=2) + body) == Reason.UNSUPPORTED_VERSION
    with pytest.raises(BadData):
        envelope.wrap(sealed, 2)  # type: ignore[arg-type]


def test_corrupt_streams_are_malformed(sealed: bytes) -> None:
    body = zlib.compress(sealed)
    n = len(sealed)
    bad_adler = body[:-1] + bytes([body[-1] ^ 1])
    assert reason(head(n) + bad_adler) == Reason.MALFORMED
    assert reason(head(n) + body + b"\x00") == Reason.MALFORMED  # trailing byte
    c = zlib.compressobj(zdict=b"vnotary")  # FDICT: a preset dictionary is not allowed
    assert reason(head(n) + c.compress(sealed) + c.flush()) == Reason.MALFORMED
    raw = zlib.compressobj(wbits=-15)  # raw deflate, no zlib header
    assert reason(head(n) + raw.compress(sealed) + raw.flush()) == Reason.MALFORMED
    gz = zlib.compressobj(wbits=31)  # gzip is not zlib
    assert reason(head(n) + gz.compress(sealed) + gz.flush()) == Reason.MALFORMED
    inner = envelope.wrap(sealed)
    assert reason(envelope.wrap(inner)) == Reason.MALFORMED  # no envelope in an envelope
    assert reason(envelope.MAGIC + b"\x01") == Reason.MALFORMED
    assert reason(b"\x00" * (LIMIT + 1)) == Reason.TOO_LARGE


def test_every_single_bit_flip_fails_or_changes_nothing(records: list[bytes]) -> None:
    """A flip in the magic makes a bare (invalid) batch; anywhere else it is refused, or
    lands in the deflate padding and gives back the very same batch."""
    sealed = seal(records[:20])
    wire = envelope.wrap(sealed)
    for bit in range(len(wire) * 8):
        flipped = bytearray(wire)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        try:
            got = envelope.unwrap(bytes(flipped))
        except BadData:
            continue
        if bit < len(envelope.MAGIC) * 8:
            assert got == flipped
            with pytest.raises(BadData):
                SealedBatch.from_bytes(got)
        else:
            assert got == sealed, bit
