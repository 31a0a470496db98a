"""Property tests of the stream decoder: splits, garbage, bit flips, truncation, fuzz.

Model: after corruption the stream is a sequence of 0x00-delimited segments; the frames the
decoder must return are exactly the segments equal to an original frame's COBS encoding,
in order. Every other non-delimiter byte is counted as discarded or still pending.
"""

from __future__ import annotations

import contextlib
import hashlib
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import cobs_ref, frame, limits
from firmware_bridge.board import BoardEncoder
from firmware_bridge.decoder import Frame, FrameStatus, StreamDecoder
from firmware_bridge.errors import BridgeError
from firmware_bridge.messages import GnssSentence, Heartbeat, ImuSample, LogEvent, Opaque

pytestmark = pytest.mark.usefixtures("each_decoder")

KEY = hashlib.sha256(b"property key").digest()

messages = st.one_of(
    st.builds(
        ImuSample,
        st.tuples(*[st.integers(-(2**31), 2**31 - 1)] * 3),
        st.tuples(*[st.integers(-(2**31), 2**31 - 1)] * 3),
        st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(Heartbeat, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.builds(GnssSentence, st.binary(min_size=1, max_size=100)),
    st.builds(LogEvent, st.integers(0, 7), st.integers(0, 65535), st.text(max_size=40)),
    st.builds(Opaque, st.integers(0x08, 0xFF), st.binary(max_size=600)),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[bytes], bool]:
    signed = draw(st.booleans())
    board = BoardEncoder(3, KEY if signed else None, seq=draw(st.integers(0, 2**32 - 1)))
    msgs = draw(st.lists(messages, min_size=1, max_size=12))
    return [board.frame(m, 1000 + i) for i, m in enumerate(msgs)], signed


def _feed_in_chunks(dec: StreamDecoder, data: bytes, cuts: list[int]) -> list[Frame]:
    out: list[Frame] = []
    pos = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        out += dec.feed(data[pos:cut])
        pos = max(pos, cut)
    return out


@given(streams(), st.lists(st.integers(0, 10**6), max_size=20))
def test_any_split_yields_every_frame_in_order(
    case: tuple[list[bytes], bool], cuts: list[int]
) -> None:
    raws, signed = case
    dec = StreamDecoder({3: KEY} if signed else None)
    data = b"".join(frame.to_wire(r) for r in raws)
    got = _feed_in_chunks(dec, data, cuts)
    assert [f.raw for f in got] == raws
    assert all(f.status is FrameStatus.OK for f in got)
    assert dec.counters.bytes_discarded == 0 and dec.counters.resyncs == 0
    assert dec.counters.seq_gaps == 0 and dec.pending == 0


corruption = st.one_of(
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=80)),
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(1, 10**6)),
    st.tuples(st.just("drop_delimiter"), st.integers(0, 10**6)),
)


def _corrupt(wires: list[bytes], ops: list[tuple]) -> bytes:  # type: ignore[type-arg]
    pieces = [bytearray(w) for w in wires]
    for op in ops:
        i = op[1] % len(pieces) if op[0] != "garbage" else 0
        if op[0] == "garbage":
            pieces.insert(len(op[1]) % (len(pieces) + 1), bytearray(op[1]))
        elif not pieces[i]:
            continue
        elif op[0] == "flip":
            p = pieces[i]
            p[op[1] % len(p)] ^= 1 << op[2]
        elif op[0] == "truncate":
            p = pieces[i]
            del p[op[1] % len(p) :]
        elif op[0] == "drop_delimiter" and pieces[i].endswith(b"\x00"):
            del pieces[i][-1]
    return b"".join(pieces)


@given(
    streams(),
    st.lists(corruption, min_size=1, max_size=6),
    st.lists(st.integers(0, 10**6), max_size=8),
)
def test_corrupted_stream_yields_exactly_the_intact_frames(
    case: tuple[list[bytes], bool],
    ops: list[tuple],
    cuts: list[int],  # type: ignore[type-arg]
) -> None:
    raws, signed = case
    wires = [frame.to_wire(r) for r in raws]
    data = _corrupt(wires, ops)
    encoded = {cobs_ref.encode(r): r for r in raws}
    segments = data.split(b"\x00")
    tail = segments.pop()
    expected = [encoded[s] for s in segments if s in encoded]
    dec = StreamDecoder({3: KEY} if signed else None)
    got = _feed_in_chunks(dec, data, cuts)
    assert [f.raw for f in got] == expected
    # Exact accounting: every non-delimiter byte is in a returned frame, discarded or pending.
    in_frames = sum(len(cobs_ref.encode(f.raw)) for f in got)
    nonzero = len(data) - data.count(0)
    assert in_frames + dec.counters.bytes_discarded + dec.pending == nonzero
    assert dec.pending == (len(tail) if len(tail) <= limits.MAX_ENCODED else 0)
    c = dec.counters
    dropped = c.crc_failures + c.cobs_errors + c.short_frames + c.oversize_frames
    assert dropped + c.unsupported_version == c.resyncs
    if signed:  # a corrupted frame is never accepted, so nothing is replayed or forged
        assert all(f.status is FrameStatus.OK for f in got)


@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**6), max_size=10))
def test_fuzz_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    dec = StreamDecoder({3: KEY}, require_signed=True)
    _feed_in_chunks(dec, data, cuts)
    nonzero = len(data) - data.count(0)
    got = dec.counters.frames
    assert got == 0 or nonzero > limits.MIN_FRAME  # random bytes essentially never pass CRC


def test_fuzz_mutated_frames_for_a_bounded_time() -> None:
    """A bounded fuzz run (2 s): mutate valid streams at random; only our errors may appear."""
    import random

    rng = random.Random(1234)
    board = BoardEncoder(3, KEY)
    base = b"".join(
        board.wire(m, 10 + i)
        for i, m in enumerate(
            [
                ImuSample((1, 2, 3), (4, 5, 6), 7, 8),
                GnssSentence(b"$GPGGA*00"),
                Opaque(9, b"x" * 300),
            ]
        )
    )
    dec = StreamDecoder({3: KEY})
    deadline = time.monotonic() + 2.0
    runs = 0
    while time.monotonic() < deadline:
        data = bytearray(base * rng.randint(1, 4))
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[k] ^= 1 << rng.randrange(8)
            elif choice < 0.7:
                data[k:k] = rng.randbytes(rng.randint(1, 40))
            else:
                del data[k : k + rng.randint(1, 40)]
        with contextlib.suppress(BridgeError):  # the only errors allowed (none is raised)
            dec.feed(bytes(data))
        runs += 1
    assert runs > 100
    assert dec.counters.frames > 0 and dec.counters.resyncs > 0


def test_oversize_run_is_dropped_and_counted() -> None:
    board = BoardEncoder(3)
    good = board.wire(Heartbeat(0, 0), 1)
    dec = StreamDecoder()
    got = dec.feed(b"\x01" * 5000) + dec.feed(b"\x01" * 5000 + b"\x00" + good)
    assert len(got) == 1 and dec.counters.oversize_frames == 1
    assert dec.counters.bytes_discarded == 10000 and dec.pending == 0


def test_rejected_segments_are_kept_for_quarantine_and_bounded() -> None:
    dec = StreamDecoder()
    dec.feed(b"\x09abc\x00" * (limits.MAX_KEPT_REJECTS + 5))
    kept = dec.take_rejected()
    assert len(kept) == limits.MAX_KEPT_REJECTS
    assert kept[0].data == b"\x09abc" and str(kept[0].reason) == "BAD_COBS"
    assert dec.counters.rejects_evicted == 5 and dec.take_rejected() == []
