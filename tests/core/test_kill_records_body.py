"""A record's whole layout and every body kind (§4 of docs/protocol.md): the exact bytes
`encode` writes, the exact record `decode` reads back, and each refusal of `encode`,
`decode`, `scan` and the CAN hot-path encoder by its reason and words, each bound at its
value and one past (mutation run, docs/testing.md)."""

from __future__ import annotations

import struct

import pytest

from notary_core import limits
from notary_core import records as r
from notary_core.errors import BadData, Reason

GNSS = r.ClockSource.GNSS


def _refused(message: str, fn: object, *args: object, reason: Reason) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def _raw(kind: int, body: bytes, *, version: int = 1, clock: int = 3, stream: bytes = b"s",
         slen: int | None = None) -> bytes:  # fmt: skip
    """Record bytes laid out by hand from §4, not by `encode`."""
    n = len(stream) if slen is None else slen
    return struct.pack(">BBBQQqB", version, kind, clock, 7, 8, -9, n) + stream + body


def _rec(body: r.Body, stream: str = "s") -> r.Record:
    return r.Record(stream, 7, 8, -9, GNSS, body)


def test_each_kind_is_laid_out_as_the_spec_says_and_read_back_whole() -> None:
    can = r.CanFrame(0x1ABCDEF, r.CanFlags.EXT | r.CanFlags.FD | r.CanFlags.BRS, 9, bytes(12))
    cases: list[tuple[r.Body, int, bytes]] = [
        (can, 1, struct.pack(">IBB", 0x1ABCDEF, 0x19, 9) + bytes(12)),
        (r.NmeaSentence(r.NmeaStatus.CHECKSUM_BAD, b"$GPGGA"), 2, b"\x02$GPGGA"),
        (r.ImuSample((1.5, -2.0, 3.25), (0.5, 0.125, -8.0)), 3,
         struct.pack(">6d", 1.5, -2.0, 3.25, 0.5, 0.125, -8.0)),
        (r.BridgeFrame(r.BridgeStatus.REPLAYED, b"\x01\x02"), 4, b"\x02\x01\x02"),
        (r.AgentEvent(r.EventType.GNSS_TIME, -5, 1 << 40, "ß"), 5,
         struct.pack(">Bqq", 14, -5, 1 << 40) + "ß".encode()),
    ]  # fmt: skip
    for body, kind, wire in cases:
        raw = _raw(kind, wire, stream=b"gnss.0")
        assert r.encode(_rec(body, "gnss.0")) == raw
        got = r.decode(raw)
        assert got == _rec(body, "gnss.0") and got.kind == kind
        assert type(got.body) is type(body) and got.clock is GNSS
        assert r.scan(raw) == ("gnss.0", 7, 0x1ABCDEF if kind == 1 else -1,
                               0x19 if kind == 1 else 0)  # fmt: skip
    assert r.decode(_raw(1, struct.pack(">IBB", 5, 0, 0))).body == r.CanFrame(5, r.CanFlags(0), 0,
                                                                              b"")  # fmt: skip


def test_decode_refuses_by_size_version_and_stream() -> None:
    D = r.decode
    too = limits.MAX_RECORD_SIZE + 1
    _refused(f"record is {too}, limit {too - 1}", D, _raw(2, b"\x01" + b"$" * (too - 30)),
             reason=Reason.TOO_LARGE)  # fmt: skip
    # At the limit the size passes and the body's own bound speaks.
    at = _raw(2, b"\x01" + b"$" * (too - 31))
    assert len(at) == limits.MAX_RECORD_SIZE
    _refused(f"NMEA sentence is {too - 31}, limit 1024", D, at, reason=Reason.TOO_LARGE)
    _refused("record of 28 bytes is truncated", D, _raw(5, b"", stream=b""),
             reason=Reason.MALFORMED)  # fmt: skip
    _refused("record of 0 bytes is truncated", D, b"", reason=Reason.MALFORMED)
    # 29 bytes are enough to read the prefix: then the stream name is what is wrong.
    _refused("bad stream name b''", D, _raw(5, b"\x00", stream=b""), reason=Reason.NON_CANONICAL)
    for v in (0, 2, 255):
        _refused(f"record version {v}", D, _raw(5, bytes(17), version=v),
                 reason=Reason.UNSUPPORTED_VERSION)  # fmt: skip
    _refused("record truncated in its stream name", D, _raw(5, b"", stream=b"ab", slen=3),
             reason=Reason.MALFORMED)  # fmt: skip
    _refused("unknown clock source 6", D, _raw(5, bytes(17), clock=6),
             reason=Reason.NON_CANONICAL)  # fmt: skip
    assert D(_raw(5, b"\x01" + bytes(16), clock=5)).clock is r.ClockSource.REPLAY
    for kind in (0, 6, 255):
        _refused(f"unknown record kind {kind}", D, _raw(kind, bytes(17)),
                 reason=Reason.UNKNOWN_KIND)  # fmt: skip


def test_decode_refuses_each_bad_body() -> None:
    D = r.decode
    M, N, K, T = Reason.MALFORMED, Reason.NON_CANONICAL, Reason.UNKNOWN_KIND, Reason.TOO_LARGE
    _refused("CAN record truncated", D, _raw(1, bytes(5)), reason=M)
    _refused("CAN record truncated", D, _raw(1, b""), reason=M)
    for kind in (2, 4):
        _refused("record body truncated", D, _raw(kind, b"\x00"), reason=M)
        _refused("record body truncated", D, _raw(kind, b""), reason=M)
    assert D(_raw(2, b"\x03$")).body == r.NmeaSentence(r.NmeaStatus.MALFORMED, b"$")
    _refused("unknown NMEA status 4", D, _raw(2, b"\x04$"), reason=N)
    assert D(_raw(2, b"\x00" + b"$" * 1024)).body == r.NmeaSentence(r.NmeaStatus(0), b"$" * 1024)
    _refused("NMEA sentence is 1025, limit 1024", D, _raw(2, b"\x00" + b"$" * 1025), reason=T)
    assert D(_raw(4, b"\x02\x00")).body == r.BridgeFrame(r.BridgeStatus.REPLAYED, b"\x00")
    _refused("unknown bridge status 3", D, _raw(4, b"\x03\x00"), reason=N)
    assert D(_raw(4, b"\x00" + bytes(1024))).body == r.BridgeFrame(r.BridgeStatus.OK, bytes(1024))
    _refused("bridge frame is 1025, limit 1024", D, _raw(4, b"\x00" + bytes(1025)), reason=T)
    for n in (47, 49, 0):
        _refused(f"IMU body is {n} bytes, not 48", D, _raw(3, bytes(n)), reason=M)
    for i in range(6):
        values = [0.0] * 6
        values[i] = float("inf") if i % 2 else float("nan")
        _refused("IMU value is not finite", D, _raw(3, struct.pack(">6d", *values)), reason=N)
    _refused("event record truncated", D, _raw(5, bytes(16)), reason=M)
    assert D(_raw(5, b"\x01" + bytes(16))).body == r.AgentEvent(r.EventType.AGENT_START)
    for code in (0, 15, 255):
        _refused(f"unknown event type {code}", D, _raw(5, bytes([code]) + bytes(16)), reason=K)
    event = struct.pack(">Bqq", 1, 0, 0)
    assert D(_raw(5, event + b"v" * 1024)).body == r.AgentEvent(r.EventType(1), 0, 0, "v" * 1024)
    _refused("event detail is 1025, limit 1024", D, _raw(5, event + b"v" * 1025), reason=T)
    _refused("event detail is not UTF-8", D, _raw(5, event + b"\xc3"), reason=N)


def test_encode_refuses_each_bad_record(monkeypatch: pytest.MonkeyPatch) -> None:
    E = r.encode
    M, N, T = Reason.MALFORMED, Reason.NON_CANONICAL, Reason.TOO_LARGE
    ok = r.AgentEvent(r.EventType.AGENT_START)
    IMU = "IMU sample needs 6 finite values"
    _refused("bad stream name b'g?ss'", E, _rec(ok, "gñss"), reason=N)
    _refused("seq, mono_ns or utc_ns out of range", E, r.Record("s", -1, 0, 0, GNSS, ok), reason=M)
    _refused("unknown clock source 6", E, r.Record("s", 0, 0, 0, 6, ok), reason=N)  # type: ignore[arg-type]
    for body, message in (
        (r.NmeaSentence(r.NmeaStatus.CHECKSUM_OK, b""), "empty NMEA sentence"),
        (r.BridgeFrame(r.BridgeStatus.OK, b""), "empty bridge frame"),
        (r.ImuSample((1.0, 2.0), (3.0, 4.0, 5.0)), IMU),  # type: ignore[arg-type]
        (r.ImuSample((1.0, 2.0, 3.0), (3.0, 4.0, float("nan"))), IMU),
        (r.ImuSample((float("-inf"), 2.0, 3.0), (3.0, 4.0, 5.0)), IMU),
        (r.AgentEvent(r.EventType.SEQ_GAP, 1 << 63), "event value out of i64 range"),
        (r.AgentEvent(r.EventType.SEQ_GAP, 0, 1 << 63), "event value out of i64 range"),
        (r.AgentEvent(r.EventType.SEQ_GAP, -(1 << 63) - 1), "event value out of i64 range"),
        (r.AgentEvent(r.EventType.SEQ_GAP, 0, -(1 << 63) - 1), "event value out of i64 range"),
    ):  # fmt: skip
        _refused(message, E, _rec(body), reason=M)
    low, high = -(1 << 63), (1 << 63) - 1
    assert r.decode(E(_rec(r.AgentEvent(r.EventType.SEQ_GAP, low, high)))).body.a == low  # type: ignore[union-attr]
    # The detail's bound is in UTF-8 bytes, not characters.
    assert E(_rec(r.AgentEvent(r.EventType.SOURCE_STATE, 0, 0, "é" * 512)))
    _refused("event detail is 1026, limit 1024", E,
             _rec(r.AgentEvent(r.EventType.SOURCE_STATE, 0, 0, "é" * 513)), reason=T)  # fmt: skip
    nmea, bridge = (
        r.NmeaSentence(r.NmeaStatus(0), b"$" * 1025),
        r.BridgeFrame(r.BridgeStatus(0), bytes(1025)),
    )
    for body, what in ((nmea, "NMEA sentence"), (bridge, "bridge frame")):
        _refused(f"{what} is 1025, limit 1024", E, _rec(body), reason=T)
        assert E(_rec(type(body)(body.status, bytes(1024))))  # type: ignore[arg-type]
    # No valid body reaches the record's own bound today; a smaller bound shows it is applied.
    monkeypatch.setattr(limits, "MAX_RECORD_SIZE", 48)
    fits = _rec(r.NmeaSentence(r.NmeaStatus(0), b"$" * 18))
    assert len(E(fits)) == 48
    _refused("record is 49, limit 48", E,
             _rec(r.NmeaSentence(r.NmeaStatus(0), b"$" * 19)), reason=T)  # fmt: skip


def test_the_can_hot_path_encoder() -> None:
    enc = r.CanEncoder("can0", r.ClockSource.NTP)
    raw = enc.encode(1, 2, -3, 0x7FF, 0, 8, bytes(8))
    assert raw == r.encode(r.Record("can0", 1, 2, -3, r.ClockSource.NTP,
                                    r.CanFrame(0x7FF, r.CanFlags(0), 8, bytes(8))))  # fmt: skip
    N = Reason.NON_CANONICAL
    # Each of the fast path's four tests sends an unusual frame to the full check.
    _refused("CAN id 0x800 out of range for its flags", enc.encode, 0, 0, 0, 0x800, 0, 0, b"",
             reason=N)  # fmt: skip
    _refused("DLC 9 invalid for this frame type", enc.encode, 0, 0, 0, 1, 0, 9, bytes(8),
             reason=N)  # fmt: skip
    _refused("7 data bytes disagree with DLC 8", enc.encode, 0, 0, 0, 1, 0, 8, bytes(7),
             reason=N)  # fmt: skip
    _refused("BRS/ESI set on a classic frame", enc.encode, 0, 0, 0, 1, 0x10, 0, b"", reason=N)
    assert enc.encode(0, 0, 0, 0x800, 1, 0, b"")[-6:] == struct.pack(">IBB", 0x800, 1, 0)
    with pytest.raises(BadData) as e:
        enc.encode(-1, 0, 0, 1, 0, 0, b"")
    assert e.value.reason is Reason.MALFORMED
    assert e.value.message.startswith("CAN record field out of range: ")
    _refused("unknown clock source 9", r.CanEncoder, "can0", 9, reason=N)
    _refused("bad stream name b'CAN'", r.CanEncoder, "CAN", r.ClockSource.NTP, reason=N)


def test_scan_takes_the_full_checks_on_unusual_frames() -> None:
    S, N = r.scan, Reason.NON_CANONICAL
    head = _raw(1, b"", stream=b"can9")
    assert S(head + struct.pack(">IBB", 0x7FF, 0, 1) + b"\x00") == ("can9", 7, 0x7FF, 0)
    _refused("CAN id 0x800 out of range for its flags", S, head + struct.pack(">IBB", 0x800, 0, 0),
             reason=N)  # fmt: skip
    _refused("DLC 9 invalid for this frame type", S, head + struct.pack(">IBB", 1, 0, 9) + bytes(9),
             reason=N)  # fmt: skip
    _refused("2 data bytes disagree with DLC 1", S, head + struct.pack(">IBB", 1, 0, 1) + bytes(2),
             reason=N)  # fmt: skip
    _refused("unknown CAN flag bits 0x40", S, head + struct.pack(">IBB", 1, 0x40, 0), reason=N)
    _refused("unknown clock source 7", S, _raw(1, struct.pack(">IBB", 1, 0, 0), clock=7), reason=N)
    _refused("bad stream name b'Q'", S, _raw(1, struct.pack(">IBB", 1, 0, 0), stream=b"Q"),
             reason=N)  # fmt: skip
    # Not a CAN record, or not version 1: the full decode answers.
    assert S(_raw(5, b"\x01" + bytes(16))) == ("s", 7, -1, 0)
    _refused("record version 2", S, _raw(1, struct.pack(">IBB", 1, 0, 0), version=2),
             reason=Reason.UNSUPPORTED_VERSION)  # fmt: skip
    _refused("CAN record truncated", S, head + bytes(5), reason=Reason.MALFORMED)
