"""The C decoder extension: present where it must be, a drop-in Frame, memory-safe, warning-free.

Behaviour against the Python reference is in test_fastdecode_differential.py.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import crc32c
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import decoder, frame
from firmware_bridge.board import BoardEncoder
from firmware_bridge.decoder import Frame, FrameStatus, StreamDecoder
from firmware_bridge.errors import BadFrame, BridgeReason
from firmware_bridge.messages import (
    GnssSentence,
    Heartbeat,
    Hello,
    ImuSample,
    LogEvent,
    Opaque,
    SensorReading,
    TimeSource,
    TimeSync,
)

REPO = Path(__file__).resolve().parents[2]
KEY = hashlib.sha256(b"fastdecode key").digest()
STRICT = ["-Wall", "-Wextra", "-Werror", "-std=c99", "-O2"]


def test_the_extension_is_built_in_ci() -> None:
    """CI (CI=true) and `make setup` build it: a silent fallback to Python would hide a
    broken build and a 10x slower gateway."""
    try:
        importlib.import_module("firmware_bridge._fastdecode")
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"firmware_bridge._fastdecode is not importable in CI: {exc}")
        raise
    assert decoder.ACCELERATED or os.environ.get("VNOTARY_PURE_PYTHON") == "1"


def test_pure_python_is_forced_by_the_environment() -> None:
    code = (
        "from firmware_bridge import decoder as d\n"
        "from firmware_bridge.board import BoardEncoder\n"
        "from firmware_bridge.messages import Heartbeat\n"
        "(f,) = d.StreamDecoder().feed(BoardEncoder(1).wire(Heartbeat(1, 2), 3))\n"
        "print(d.ACCELERATED, d.StreamDecoder().accelerated, type(f).__name__, f.message)\n"
    )
    env = {**os.environ, "VNOTARY_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split(maxsplit=3) == [
        "False",
        "False",
        "Frame",
        "Heartbeat(status=1, tx_dropped=2)\n",
    ]


def _frames() -> list[Frame]:
    board = BoardEncoder(5, KEY)
    wire = board.wire(ImuSample((1, -2, 3), (4, 5, -6), 7, 8), 10) + board.wire(
        Opaque(7, b"\x09\x01\x00x"),
        11,  # a log event of level 9: BAD_PAYLOAD
    )
    return StreamDecoder({5: KEY}).feed(wire)


def test_frames_are_the_named_tuple_built_in_feed() -> None:
    """The C decoder returns decoder.Frame itself, every field already built (nothing lazy)."""
    imu, bad = _frames()
    assert type(imu) is Frame and type(imu.header) is frame.Header
    assert imu.status is FrameStatus.OK and imu.sign_ts == 10 and imu.problem is None
    assert isinstance(imu.message, ImuSample) and imu.header.board_id == 5
    assert bad.problem is BridgeReason.BAD_PAYLOAD and isinstance(bad.message, Opaque)
    raw, header, message, status, sign_ts, problem = imu
    made = Frame(raw, header, message, status, sign_ts, problem=problem)
    assert made == imu and hash(made) == hash(imu) and repr(made) == repr(imu)
    assert imu._asdict() == made._asdict() and pickle.loads(pickle.dumps(imu)) == imu
    copy = imu._replace(status=FrameStatus.REPLAYED)
    assert copy.status is FrameStatus.REPLAYED and copy.raw == imu.raw and copy != imu
    match imu:
        case Frame(raw=r, status=FrameStatus.OK):
            assert r == raw
        case _:
            pytest.fail("no match")


def test_built_objects_are_left_to_refcounting_and_still_collectable() -> None:
    """feed() makes frames, headers and messages untracked by the cyclic GC (they hold only
    atomic values and enum members, so no garbage cycle runs through them); a cycle that
    holds one is still collected, and the frame freed with it."""
    imu, bad = _frames()
    for f in (imu, bad):
        assert not gc.is_tracked(f) and not gc.is_tracked(f.header)
        assert not gc.is_tracked(f.message)
    payload = imu.message.accel
    before = sys.getrefcount(payload)
    cycle: list[object] = [imu]
    cycle.append(cycle)
    del cycle, imu
    gc.collect()
    assert sys.getrefcount(payload) == before - 1  # only the local name is left


def test_bind_refuses_classes_it_cannot_build() -> None:
    """bind() checks each class has exactly the fields C fills, so a changed messages.py or
    frame.py fails at import instead of building wrong objects."""
    from dataclasses import dataclass
    from typing import NamedTuple

    from firmware_bridge import _fastdecode, messages

    @dataclass(frozen=True, slots=True)
    class Extra:
        raw: bytes
        note: str = ""

    @dataclass(frozen=True, slots=True)
    class Checked:
        raw: bytes

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class NoSlots:
        raw: bytes

    class Wrong(NamedTuple):
        a: int

    good = decoder._BIND_ARGS
    gnss = decoder._BIND_ARGS[5].index(messages.GnssSentence)
    for cls in (Extra, Checked, NoSlots):
        msgs = tuple(cls if i == gnss else m for i, m in enumerate(good[5]))
        with pytest.raises(TypeError, match=r"fields|slots"):
            _fastdecode.bind(*good[:5], msgs, *good[6:])
    for at in (0, 1, 2):
        with pytest.raises(TypeError, match=r"NamedTuple|fields"):
            _fastdecode.bind(*good[:at], Wrong, *good[at + 1 :])
    _fastdecode.bind(*good)  # (a refused bind changed nothing; this one is a no-op)
    assert StreamDecoder().feed(BoardEncoder(1).wire(GnssSentence(b"$"), 0))[0].message == (
        GnssSentence(b"$")
    )


def test_a_decoded_frame_lives_on_after_its_decoder() -> None:
    dec = StreamDecoder({5: KEY})
    wire = BoardEncoder(5, KEY).wire(GnssSentence(b"$GP*00"), 1)
    (got,) = dec.feed(wire)
    del dec
    gc.collect()
    assert got.message == GnssSentence(b"$GP*00") and got.header.seq == 0


def test_keys_are_checked_the_same_for_both() -> None:
    for pure in (False, True):
        with pytest.raises(BadFrame, match="not 32 bytes"):
            StreamDecoder({1: b"short"}, pure_python=pure)
        with pytest.raises(BadFrame, match="not a u32"):
            StreamDecoder({2**32: KEY}, pure_python=pure)
        with pytest.raises(BadFrame, match="not a u32"):
            StreamDecoder({"1": KEY}, pure_python=pure)  # type: ignore[dict-item]


def test_feed_takes_any_bytes_like_and_refuses_text() -> None:
    wire = BoardEncoder(1).wire(GnssSentence(b"$GP*00"), 1)
    for data in (wire, bytearray(wire), memoryview(wire)):
        (got,) = StreamDecoder().feed(data)  # type: ignore[arg-type]
        assert got.message == GnssSentence(b"$GP*00")
    with pytest.raises(TypeError):
        StreamDecoder().feed("text")  # type: ignore[arg-type]


@given(st.one_of(st.binary(max_size=300), st.binary(min_size=1000, max_size=1100)))
def test_crc32c_matches(data: bytes) -> None:
    """Both C paths (the SSE4.2 instruction where the CPU has it, slice-by-8 everywhere)."""
    from firmware_bridge import _fastdecode

    assert _fastdecode.crc32c(data) == crc32c.crc32c(data) == frame.crc32c(data)
    assert _fastdecode.crc32c_slice8(data) == crc32c.crc32c(data)


EDGES = [  # around each boundary of UTF-8 well-formedness (overlong, surrogate, > U+10FFFF)
    *(b"\xc0\x80", b"\xc2\x80", b"\xe0\x9f\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf"),
    *(b"\xed\xa0\x80", b"\xf0\x8f\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf"),
    *(b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\x80", b"\xe1\x80", b"a", b"\xff"),
]
utf8ish = st.one_of(
    st.binary(max_size=12),
    st.text(max_size=8).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(EDGES), max_size=4).map(b"".join),
)


@given(utf8ish)
def test_utf8_check_is_pythons(data: bytes) -> None:
    from firmware_bridge import _fastdecode

    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _fastdecode.utf8_valid(data) is expected


EVERY_TYPE = [
    Hello((1, 2, 3), bytes(32), 4),
    Heartbeat(1, 2),
    ImuSample((1, -2, 3), (4, 5, -6), 7, 8),
    GnssSentence(b"$GP*00"),
    SensorReading(1, -5, -3, "Cel"),
    TimeSync(TimeSource.GNSS_PPS, 5, -7),
    LogEvent(3, 4, "h\u00e9"),
    Opaque(9, b"?"),
]


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_long_run_does_not_leak() -> None:
    """Many feeds (frames of every fate, rejects, new decoders): the resident set stays flat
    and shared objects (the classes too: each instance holds one) keep their reference counts."""
    board = BoardEncoder(5, KEY)
    good = b"".join(board.wire(GnssSentence(b"$GP,%d*00" % i), 10 + i) for i in range(50))
    replay = good[: len(good) // 5]
    junk = b"\x05ab\x00" + b"\x07" * 1500 + b"\x00" + BoardEncoder(6).wire(LogEvent(1, 2, "x"), 1)
    every = b"".join(BoardEncoder(7).wire(m, i) for i, m in enumerate(EVERY_TYPE))
    chunk = good + replay + junk + every + good[:40]

    def run(rounds: int) -> None:
        for i in range(rounds):
            dec = StreamDecoder({5: KEY})
            for got in dec.feed(chunk) + dec.feed(chunk[40:] + chunk):
                if i % 2:
                    _ = (got.header, got.message, got.sign_ts)
            dec.drop_partial()
            dec.take_rejected()

    singletons = [FrameStatus.OK, FrameStatus.REPLAYED, BridgeReason.BAD_COBS, None]
    singletons += [TimeSource.GNSS_PPS, Frame, frame.Header, *map(type, EVERY_TYPE)]
    run(200)  # warm up: allocator pools, caches
    gc.collect()
    counts = [sys.getrefcount(s) for s in singletons]
    before = _rss_kib()
    run(2000)
    gc.collect()
    growth = _rss_kib() - before
    assert [sys.getrefcount(s) for s in singletons] == counts
    assert growth < 2048, f"RSS grew by {growth} KiB"


def _compiler() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is a dev dependency (make system-deps)"
    return cc


def test_extension_compiles_without_warnings(tmp_path: Path) -> None:
    """The build uses the platform's default flags; here -Wall -Wextra -Werror, C99."""
    sources = [
        "firmware_bridge/_fastdecode.c",
        "firmware_bridge/c/vnb_rx.c",
        "firmware_bridge/c/vnb.c",
    ]
    include = sysconfig.get_paths()["include"]
    out = tmp_path / ("_fastdecode" + sysconfig.get_config_var("EXT_SUFFIX"))
    cmd = [_compiler(), *STRICT, "-shared", "-fPIC", f"-I{include}", "-Ifirmware_bridge/c"]
    subprocess.run([*cmd, *sources, "-o", str(out)], cwd=REPO, check=True)


def test_decoder_core_is_strict_c99(tmp_path: Path) -> None:
    """c/vnb_rx.c and c/vnb.c need nothing but C99 and <string.h>: any gateway compiles them."""
    for src in ("vnb_rx.c", "vnb.c"):
        obj = tmp_path / (src + ".o")
        subprocess.run(
            [_compiler(), *STRICT, "-pedantic", "-c", f"firmware_bridge/c/{src}", "-o", str(obj)],
            cwd=REPO,
            check=True,
        )
