"""The C decoder (_fastdecode) against the Python reference: same streams, same everything.

Streams mix valid frames of every type (signed, unsigned, wrong key), sequence gaps and
resets, replays and stale signing timestamps, unknown types, bad payloads of every known
type, unsupported versions, garbage, bit flips, truncation and oversize runs; they are fed
in random chunks with drop_partial() between some. After every call the two decoders must
return equal frames (every attribute; the header and the message, which C builds without
calling their constructors, down to the type of every field), counters, pending bytes and
rejected segments.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import pickle
import random
import struct
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import cobs_ref, frame, limits
from firmware_bridge.decoder import Frame, StreamDecoder
from firmware_bridge.messages import (
    AnyMessage,
    GnssSentence,
    Heartbeat,
    Hello,
    ImuSample,
    LogEvent,
    Opaque,
    SensorReading,
    TimeSource,
    TimeSync,
    type_of,
)

KEY = hashlib.sha256(b"differential key").digest()
WRONG_KEY = hashlib.sha256(b"not the key").digest()
BOARDS = [0, 1, 7, 0xFFFFFFFF]
KEYS = {1: KEY, 0xFFFFFFFF: KEY}  # boards 0 and 7 have no key

# Payloads per type, around each bound of its layout (SPEC §4): valid and just invalid.
_printable = st.text(alphabet=[chr(c) for c in range(0x21, 0x7F)], max_size=18).map(str.encode)
_text = st.one_of(
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
    st.integers(254, 258).map(lambda n: b"t" * n),
)


def _sized(*sizes: int) -> st.SearchStrategy[bytes]:
    return st.sampled_from(sizes).flatmap(lambda n: st.binary(min_size=n, max_size=n))


PAYLOADS: dict[int, st.SearchStrategy[bytes]] = {
    1: _sized(39, 40, 40, 41),
    2: _sized(7, 8, 8, 9),
    3: _sized(31, 32, 32, 33),
    4: st.one_of(_sized(0, 1, 511, 512, 513), st.binary(max_size=60)),
    5: st.builds(
        lambda head, unit: head + unit,
        _sized(10, 11, 11, 11),
        st.one_of(_printable, st.integers(15, 17).map(lambda n: b"u" * n), st.binary(max_size=18)),
    ),
    6: st.builds(lambda src, rest: bytes([src]) + rest, st.integers(0, 4), _sized(15, 16, 16, 17)),
    7: st.builds(
        lambda level, code, text: bytes([level]) + code + text,
        st.integers(0, 9),
        _sized(1, 2, 2, 2),
        _text,
    ),
}


@st.composite
def pieces(draw: st.DrawFn, state: dict[str, Any]) -> bytes:
    """One piece of a stream: a frame (in one of many shapes) or some damage."""
    kind = draw(
        st.sampled_from(
            ["frame"] * 8
            + ["replay", "garbage", "oversize", "zeros", "flip", "truncate", "signed_short"]
            + ["delimiter", "short_cobs"]
        )
    )
    sent: list[bytes] = state["sent"]
    if kind == "replay" and sent:
        return draw(st.sampled_from(sent))
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=80))
    if kind == "oversize":  # runs around limits.MAX_ENCODED and far past it, ended or not
        n = draw(st.one_of(st.integers(1026, 1032), st.integers(1000, 2500)))
        end = draw(st.sampled_from([b"", b"\x00"]))
        return draw(st.integers(1, 255)).to_bytes(1, "big") * n + end
    if kind == "zeros":  # COBS of many zeros: short on the wire, decodes around MAX_FRAME
        return cobs_ref.encode(bytes(draw(st.integers(1022, 1027)))) + b"\x00"
    if kind == "delimiter":
        return b"\x00" * draw(st.integers(1, 3))
    if kind == "short_cobs":
        return cobs_ref.encode(draw(st.binary(max_size=40))) + b"\x00"
    board = draw(st.sampled_from(BOARDS))
    seqs: dict[int, int] = state["seq"]
    step = draw(st.sampled_from([1, 1, 1, 1, 2, 50, 0, -3, 2**31, 2**31 + 1, 2**31 + 2]))
    seq = seqs[board] = (seqs.get(board, 0) + step) % 2**32
    mcu_us = draw(st.integers(0, 2**64 - 1))
    mtype = draw(st.one_of(st.integers(1, 7), st.integers(0, 255)))
    flags = draw(st.sampled_from([0, 0, 0, 0x80, 0xFE]))
    version = draw(st.sampled_from([1] * 12 + [0, 2]))
    header = frame.Header(version, mtype, flags, board, seq, mcu_us)
    if kind == "signed_short":  # SIGNED flag but no room for a signature: CRC still right
        body = frame.HEADER.pack(1, mtype, 1, board, seq, mcu_us & 0xFFFF) + draw(
            st.binary(max_size=13)
        )
        return frame.to_wire(body + frame.crc32c(body).to_bytes(4, "little"))
    payload = draw(PAYLOADS.get(mtype, st.binary(max_size=60)))
    signer = draw(st.sampled_from([None, KEY, KEY, WRONG_KEY]))
    ts_step = draw(st.sampled_from([1, 1, 1, 1000, 0, -1, -100]))
    ts = state["ts"] = max(0, min(frame.TS_MASK, state["ts"] + ts_step))
    raw = frame.build(header, payload, signer, ts)
    if kind == "flip":
        wire = bytearray(frame.to_wire(raw))
        at = draw(st.integers(0, len(wire) - 1))
        wire[at] ^= 1 << draw(st.integers(0, 7))
        return bytes(wire)
    wire = frame.to_wire(raw)
    if kind == "truncate":
        return wire[: draw(st.integers(0, len(wire) - 1))]
    sent.append(wire)
    return wire


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, bool]], bool]:
    state: dict[str, Any] = {"sent": [], "seq": {}, "ts": 1000}
    data = b"".join(draw(st.lists(pieces(state), min_size=1, max_size=25)))
    cuts = draw(st.lists(st.tuples(st.integers(0, len(data)), st.booleans()), max_size=12))
    return data, sorted(cuts), draw(st.booleans())


def same_value(a: object, b: object) -> None:
    """Equal, and of the same type all the way down (True == 1 and 1 == 1.0 do not pass)."""
    assert type(a) is type(b) and a == b, (a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        for x, y in zip(a, b, strict=True):
            same_value(x, y)
    if isinstance(a, float) and isinstance(b, float):
        assert struct.pack("<d", a) == struct.pack("<d", b)  # -0.0 vs 0.0, NaN payloads


def same_message(a: AnyMessage, b: AnyMessage) -> None:
    """A C-built message against the one the Python constructors built."""
    assert type(a) is type(b)
    assert a == b and b == a and (a != b) is False
    assert hash(a) == hash(b) and repr(a) == repr(b)
    for f in dataclasses.fields(a):
        same_value(getattr(a, f.name), getattr(b, f.name))
    # No payload carries a float; the derived SI values must still agree to the bit.
    for prop in ("accel_si", "gyro_si", "value"):
        if hasattr(b, prop):
            same_value(getattr(a, prop), getattr(b, prop))
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert a.encode() == b.encode() and type_of(a) == type_of(b)
    assert pickle.loads(pickle.dumps(a)) == b and copy.copy(a) == b
    assert not hasattr(a, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, dataclasses.fields(a)[0].name, None)


def same_frame(a: Frame, b: Frame) -> None:
    assert type(a) is type(b)
    assert a.raw == b.raw
    assert a.header == b.header and type(a.header) is type(b.header)
    same_value(tuple(a.header), tuple(b.header))
    same_message(a.message, b.message)
    assert a.status is b.status
    assert a.sign_ts == b.sign_ts
    assert a.problem is b.problem
    assert a == b and tuple(a) == tuple(b) and hash(a) == hash(b) and repr(a) == repr(b)


def same_state(c: StreamDecoder, py: StreamDecoder) -> None:
    assert c.counters == py.counters
    assert c.pending == py.pending


def run_both(data: bytes, cuts: list[tuple[int, bool]], require_signed: bool) -> StreamDecoder:
    c = StreamDecoder(KEYS, require_signed=require_signed)
    py = StreamDecoder(KEYS, require_signed=require_signed, pure_python=True)
    assert c.accelerated and not py.accelerated
    pos = 0
    for cut, drop in [*cuts, (len(data), False)]:
        chunk = data[pos:cut]
        pos = max(pos, cut)
        got_c, got_py = c.feed(chunk), py.feed(chunk)
        assert len(got_c) == len(got_py)
        for a, b in zip(got_c, got_py, strict=True):
            same_frame(a, b)
        same_state(c, py)
        if drop:
            c.drop_partial()
            py.drop_partial()
            same_state(c, py)
        if cut % 3 == 0:
            assert c.take_rejected() == py.take_rejected()
    assert c.take_rejected() == py.take_rejected()
    return c


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_c_and_python_decoders_agree(case: tuple[bytes, list[tuple[int, bool]], bool]) -> None:
    run_both(*case)


def test_a_stream_that_moves_every_counter() -> None:
    """A stream that moves every counter, decoded alike by both (a floor under the random ones)."""
    rng = random.Random(7)
    board_frames = []
    for seq, ts, key in [(5, 10, KEY), (6, 11, KEY), (9, 12, KEY), (2, 13, KEY), (3, 13, KEY)]:
        board_frames.append(
            frame.to_wire(frame.build(frame.Header(1, 2, 0, 1, seq, 0), bytes(8), key, ts))
        )
    extra = [
        frame.to_wire(frame.build(frame.Header(1, 2, 0, 1, 4, 0), bytes(8), WRONG_KEY, 99)),
        frame.to_wire(frame.build(frame.Header(1, 9, 0, 0, 0, 0), b"opaque")),
        frame.to_wire(frame.build(frame.Header(1, 3, 0, 0, 1, 0), bytes(5))),
        frame.to_wire(frame.build(frame.Header(2, 3, 0, 0, 2, 0), bytes(32))),
        b"\x05ab\x00",
        cobs_ref.encode(b"tiny") + b"\x00",
        cobs_ref.encode(bytes(1028)) + b"\x00",
        b"\x02\x01\x00",
        b"\x07" * 1500 + b"\x00",
        _flip(frame.to_wire(frame.build(frame.Header(1, 2, 0, 7, 0, 0), b"\x11" * 8)), 25),
    ]
    data = b"".join(board_frames + extra) + b"\x01" * 3000
    cuts = sorted(rng.randrange(len(data)) for _ in range(5))
    c = run_both(data, [(x, False) for x in cuts], False)
    zero = {name for name, value in c.counters.as_dict().items() if value == 0}
    assert zero == {"rejects_evicted"}  # that one: test_rejected_queue_eviction_agrees


def _flip(wire: bytes, at: int) -> bytes:
    assert wire[at] not in (0, 1)
    return wire[:at] + bytes([wire[at] ^ 1]) + wire[at + 1 :]


def test_many_boards_stop_being_tracked_at_the_bound() -> None:
    """More boards than limits.MAX_TRACKED_BOARDS: both decoders stop tracking the same ones."""
    boards = range(1000, 1000 + limits.MAX_TRACKED_BOARDS + 20)
    keys = {b: KEY for b in boards}
    wires = []
    for rnd in range(3):
        for b in boards:
            seq = rnd * 2 if b % 2 else 5 - rnd
            ts = 100 + rnd if b % 3 else 100 - rnd
            wires.append(
                frame.to_wire(frame.build(frame.Header(1, 2, 0, b, seq, 0), bytes(8), KEY, ts))
            )
    data = b"".join(wires)
    for require_signed in (False, True):
        c = StreamDecoder(keys, require_signed=require_signed)
        py = StreamDecoder(keys, require_signed=require_signed, pure_python=True)
        for a, b in zip(c.feed(data), py.feed(data), strict=True):
            same_frame(a, b)
        same_state(c, py)
        assert c.counters.seq_gaps > 0 and c.counters.seq_resets > 0 and c.counters.replays > 0


def test_rejected_queue_eviction_agrees() -> None:
    data = b"\x09abc\x00" * (limits.MAX_KEPT_REJECTS + 7) + b"\x05" * 4000
    c, py = StreamDecoder(), StreamDecoder(pure_python=True)
    c.feed(data)
    py.feed(data)
    c.drop_partial()
    py.drop_partial()
    same_state(c, py)
    assert c.counters.rejects_evicted == 8
    assert c.take_rejected() == py.take_rejected()


@pytest.mark.parametrize("seed", range(3))
def test_differential_fuzz_for_a_bounded_time(seed: int) -> None:
    """1 s per seed of mutated signed streams, random chunking, compared call by call."""
    rng = random.Random(seed)
    base = b"".join(
        frame.to_wire(frame.build(frame.Header(1, t, 0, 1, i, i), p, KEY, 10 + i))
        for i, (t, p) in enumerate(
            [
                (3, bytes(32)),
                (4, b"$GPGGA*00"),
                (7, b"\x03\x01\x00hi"),
                (5, bytes(11) + b"degC"),
                (9, b"x" * 300),
            ]
        )
    )
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        data = bytearray(base * rng.randint(1, 3))
        for _ in range(rng.randint(0, 8)):
            k = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[k] ^= 1 << rng.randrange(8)
            elif choice < 0.7:
                data[k:k] = rng.randbytes(rng.randint(1, 40))
            else:
                del data[k : k + rng.randint(1, 40)]
        cuts = sorted(
            (rng.randrange(len(data) + 1), rng.random() < 0.1) for _ in range(rng.randint(0, 6))
        )
        run_both(bytes(data), cuts, rng.random() < 0.3)


def _bounds(mtype: int) -> list[bytes]:
    """Payloads of a known type at each edge of its layout (SPEC §4)."""
    head11, ok17 = bytes(11), bytes(16)
    return {
        1: [bytes(39), bytes(40), bytes(41)],
        2: [bytes(7), bytes(8), bytes(9)],
        3: [bytes(31), bytes(32), bytes(33)],
        4: [b"", b"$", b"$" * 512, b"$" * 513],
        5: [
            bytes(10),
            head11,
            head11 + b"u" * 16,
            head11 + b"u" * 17,
            head11 + b" ",
            head11 + b"\x7f",
        ],
        6: [bytes([s]) + ok17 for s in range(5)] + [b"\x01" + bytes(15), b"\x01" + bytes(17)],
        7: [
            *(b"\x07\x00", b"\x07\x00\x00", b"\x08\x00\x00"),
            *(b"\x07\x00\x00" + b"t" * 256, b"\x07\x00\x00" + b"t" * 257),
            *(b"\x00\x00\x00\xed\xa0\x80", b"\x00\x00\x00\xc3\xa9"),
        ],
    }[mtype]


def test_payload_bounds_of_every_type() -> None:
    for mtype in range(1, 8):
        wires = [
            frame.to_wire(frame.build(frame.Header(1, mtype, 0, 3, i, 0), p))
            for i, p in enumerate(_bounds(mtype))
        ]
        c = run_both(b"".join(wires), [], False)
        assert c.counters.frames == len(wires)
        assert 0 < c.counters.bad_payloads < len(wires), mtype


def test_sequence_and_pending_bounds() -> None:
    half = 2**31
    seqs = [0, half, 1, 5, 6]  # a gap of 2^31 - 1, a jump of exactly 2^31 (reset), a gap of 3
    wire = b"".join(
        frame.to_wire(frame.build(frame.Header(1, 2, 0, 3, s, 0), bytes(8))) for s in seqs
    )
    c = run_both(wire, [], False)
    assert c.counters.seq_gaps == half - 1 + 3 and c.counters.seq_resets == 1
    run = b"\x01" * limits.MAX_ENCODED
    for data, cuts in [
        (run, []),
        (run + b"\x01", []),
        (run + b"\x00", []),
        (run + b"\x01\x00", []),
        (run + b"\x01\x00", [(500, False), (limits.MAX_ENCODED, False)]),
        (run + b"\x00", [(500, False), (limits.MAX_ENCODED, False)]),
    ]:
        run_both(data, cuts, False)


I32, I64 = 2**31, 2**63
EXTREMES: list[AnyMessage] = [  # every type, at the ends of every field's range
    Hello((0, 0, 0), bytes(32), 0),
    Hello((255, 255, 65535), bytes(range(32)), 2**32 - 1),
    Heartbeat(0, 0),
    Heartbeat(2**32 - 1, 2**31),
    ImuSample((-I32, I32 - 1, 0), (-1, 1, 0), 0, 2**32 - 1),
    ImuSample((0, 0, 0), (-I32, -I32, -I32), 2**32 - 1, 1),
    GnssSentence(b"$"),
    GnssSentence(bytes(range(256)) * 2),
    SensorReading(0, 0, 0, ""),
    SensorReading(65535, -I64, -128, "u" * 16),
    SensorReading(1, I64 - 1, 127, "m/s2"),
    SensorReading(2, -1, -128, "Cel"),  # value -1e-128
    SensorReading(3, 0, -1, "%"),
    *(TimeSync(src, 0, -I64) for src in TimeSource),
    *(TimeSync(src, 2**64 - 1, I64 - 1) for src in TimeSource),
    LogEvent(0, 0, ""),
    LogEvent(7, 65535, "é\u20ac\U0001f600" * 28),  # 252 bytes of UTF-8
    LogEvent(3, 1, "\x00nul and ascii"),
    Opaque(0, b""),
    Opaque(255, bytes(range(256))),
    Opaque(8, b"x" * 987),
]


@pytest.mark.parametrize("signed", [False, True])
def test_every_message_type_is_built_as_its_constructor_builds_it(signed: bool) -> None:
    """C-built messages against the Python ones (the reference decoder's, the constructor's),
    at the ends of every field: same type, fields, equality, hash, repr, pickling."""
    wire, made = b"", []
    for i, msg in enumerate(EXTREMES):
        header = frame.Header(1, type_of(msg), 0, 1, i, 2**64 - 1 - i)
        wire += frame.to_wire(frame.build(header, msg.encode(), KEY if signed else None, i))
        made.append(msg)
    c, py = StreamDecoder(KEYS), StreamDecoder(KEYS, pure_python=True)
    got_c, got_py = c.feed(wire), py.feed(wire)
    assert [f.problem for f in got_c] == [None] * len(EXTREMES)
    for a, b, msg in zip(got_c, got_py, made, strict=True):
        same_frame(a, b)
        same_message(a.message, msg)
        assert a == Frame(a.raw, a.header, msg, a.status, a.sign_ts, None)
    same_state(c, py)
