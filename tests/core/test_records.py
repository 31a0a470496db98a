"""Canonical record encoding: round trips, real traces, and rejection of non-canonical bytes."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import can
import pytest
from hypothesis import given
from hypothesis import strategies as st

from notary_core import limits
from notary_core import records as r
from notary_core.errors import BadData, Reason

streams = st.from_regex(r"[a-z0-9][a-z0-9:._-]{0,31}", fullmatch=True)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def can_frames(draw: st.DrawFn) -> r.CanFrame:
    fd = draw(st.booleans())
    if fd:
        flags = r.CanFlags.FD | draw(st.sampled_from([0, r.CanFlags.BRS, r.CanFlags.ESI]))
        dlc = draw(st.integers(0, 15))
    else:
        flags = r.CanFlags(draw(st.sampled_from([0, r.CanFlags.RTR, r.CanFlags.ERR])))
        dlc = draw(st.integers(0, 8))
    ext = draw(st.booleans())
    if ext:
        flags |= r.CanFlags.EXT
    limit = 1 << 29 if flags & (r.CanFlags.EXT | r.CanFlags.ERR) else 1 << 11
    can_id = draw(st.integers(0, limit - 1))
    n = r.can_data_length(flags, dlc)
    return r.CanFrame(can_id, r.CanFlags(flags), dlc, draw(st.binary(min_size=n, max_size=n)))


bodies = st.one_of(
    can_frames(),
    st.builds(
        r.NmeaSentence,
        st.sampled_from(r.NmeaStatus),
        st.binary(min_size=1, max_size=limits.MAX_NMEA_SENTENCE),
    ),
    st.builds(r.ImuSample, st.tuples(finite, finite, finite), st.tuples(finite, finite, finite)),
    st.builds(
        r.BridgeFrame,
        st.sampled_from(r.BridgeStatus),
        st.binary(min_size=1, max_size=limits.MAX_BRIDGE_FRAME),
    ),
    st.builds(r.AgentEvent, st.sampled_from(r.EventType), i64, i64, st.text(max_size=100)),
)
records = st.builds(r.Record, streams, u64, u64, i64, st.sampled_from(r.ClockSource), bodies)


@given(records)
def test_round_trip_is_exact(rec: r.Record) -> None:
    data = r.encode(rec)
    back = r.decode(data)
    assert back == rec
    assert r.encode(back) == data


@given(records, st.data())
def test_any_decodable_mutation_is_still_canonical(rec: r.Record, data: st.DataObject) -> None:
    """There is exactly one encoding per record: whatever still decodes re-encodes the same."""
    raw = bytearray(r.encode(rec))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= 1 << data.draw(st.integers(0, 7))
    try:
        back = r.decode(bytes(raw))
    except BadData:
        return
    assert r.encode(back) == bytes(raw)


@given(records, st.data())
def test_truncation_and_trailing_bytes_are_rejected(rec: r.Record, data: st.DataObject) -> None:
    raw = r.encode(rec)
    cut = data.draw(st.integers(0, len(raw) - 1))
    truncated = raw[:cut]
    if isinstance(rec.body, r.NmeaSentence | r.BridgeFrame | r.AgentEvent):
        # Variable-length bodies run to the end: a shorter record may still be valid,
        # but it is then a different record, never the original.
        with contextlib.suppress(BadData):
            assert r.decode(truncated) != rec
    else:
        with pytest.raises(BadData):
            r.decode(truncated)
        with pytest.raises(BadData):
            r.decode(raw + b"\x00")


@given(can_frames(), u64, u64, i64)
def test_hot_path_encoder_matches_generic_encoder(
    frame: r.CanFrame, seq: int, mono: int, utc: int
) -> None:
    enc = r.CanEncoder("can0", r.ClockSource.NTP)
    fast = enc.encode(seq, mono, utc, frame.can_id, frame.flags, frame.dlc, frame.data)
    assert fast == r.encode(r.Record("can0", seq, mono, utc, r.ClockSource.NTP, frame))


def _base() -> bytes:
    frame = r.CanFrame(0x123, r.CanFlags(0), 2, b"\x01\x02")
    return r.encode(r.Record("can0", 1, 2, 3, r.ClockSource.RTC, frame))


@pytest.mark.parametrize(
    ("name", "mutate", "reason"),
    [
        ("version-2", lambda b: b"\x02" + b[1:], Reason.UNSUPPORTED_VERSION),
        ("kind-9", lambda b: b[:1] + b"\x09" + b[2:], Reason.UNKNOWN_KIND),
        ("clock-77", lambda b: b[:2] + b"\x4d" + b[3:], Reason.NON_CANONICAL),
        ("stream-uppercase", lambda b: b.replace(b"can0", b"CAN0"), Reason.NON_CANONICAL),
        ("stream-length-long", lambda b: b[:27] + b"\x05" + b[28:], Reason.NON_CANONICAL),
        ("can-flags-unknown-bit", lambda b: b[:36] + b"\x40" + b[37:], Reason.NON_CANONICAL),
        (
            "can-id-11bit-overflow",
            lambda b: b[:32] + b"\x00\x00\x08\x00" + b[36:],
            Reason.NON_CANONICAL,
        ),
        ("can-dlc-disagrees", lambda b: b[:37] + b"\x03" + b[38:], Reason.NON_CANONICAL),
        ("can-dlc-9-classic", lambda b: b[:37] + b"\x09" + b[38:], Reason.NON_CANONICAL),
        ("trailing-byte", lambda b: b + b"\x00", Reason.NON_CANONICAL),
        ("truncated-prefix", lambda b: b[:20], Reason.MALFORMED),
    ],
)
def test_named_corruptions_fail_with_their_reason(
    name: str, mutate: object, reason: Reason
) -> None:
    raw = _base()
    assert r.decode(raw).body == r.CanFrame(0x123, r.CanFlags(0), 2, b"\x01\x02")
    with pytest.raises(BadData) as err:
        r.decode(mutate(raw))  # type: ignore[operator]
    assert err.value.reason is reason, name


def test_other_kinds_reject_bad_content() -> None:
    imu = r.encode(r.Record("imu", 0, 0, 0, r.ClockSource.GNSS, r.ImuSample((1, 2, 3), (4, 5, 6))))
    nan = imu[:-8] + b"\x7f\xf8" + bytes(6)
    with pytest.raises(BadData) as err:
        r.decode(nan)
    assert err.value.reason is Reason.NON_CANONICAL
    with pytest.raises(BadData):
        r.encode(
            r.Record("imu", 0, 0, 0, r.ClockSource.GNSS, r.ImuSample((math.inf, 0, 0), (0, 0, 0)))
        )
    ev = r.encode(
        r.Record(
            "agent", 0, 0, 0, r.ClockSource.RTC, r.AgentEvent(r.EventType.CLOCK_STEP, 5, 6, "x")
        )
    )
    with pytest.raises(BadData) as err:
        r.decode(ev[:-1] + b"\xff")
    assert err.value.reason is Reason.NON_CANONICAL
    with pytest.raises(BadData) as err:
        r.encode(
            r.Record(
                "gnss",
                0,
                0,
                0,
                r.ClockSource.GNSS,
                r.NmeaSentence(r.NmeaStatus.CHECKSUM_OK, b"$" * 1025),
            )
        )
    assert err.value.reason is Reason.TOO_LARGE
    with pytest.raises(BadData) as err:
        r.decode(bytes(limits.MAX_RECORD_SIZE + 1))
    assert err.value.reason is Reason.TOO_LARGE


def test_fd_and_classic_rules() -> None:
    fd = r.CanFrame(0x1ABCDEF, r.CanFlags.FD | r.CanFlags.EXT | r.CanFlags.BRS, 15, bytes(64))
    rec = r.Record("can1", 0, 0, 0, r.ClockSource.PTP, fd)
    assert r.decode(r.encode(rec)) == rec
    with pytest.raises(BadData):  # an FD frame cannot be a remote frame
        r.encode(
            r.Record(
                "can1",
                0,
                0,
                0,
                r.ClockSource.PTP,
                r.CanFrame(1, r.CanFlags.FD | r.CanFlags.RTR, 0, b""),
            )
        )
    rtr = r.CanFrame(0x7FF, r.CanFlags.RTR, 8, b"")
    assert r.decode(r.encode(r.Record("can0", 0, 0, 0, r.ClockSource.RTC, rtr))).body == rtr


def test_every_frame_of_the_real_traces_round_trips(shared_data: Path) -> None:
    count = 0
    for path in sorted((shared_data / "can").glob("*.log.gz")):
        encoders: dict[str, r.CanEncoder] = {}
        with can.LogReader(str(path)) as reader:
            for seq, msg in enumerate(reader):
                channel = str(msg.channel)
                enc = encoders.setdefault(channel, r.CanEncoder(channel, r.ClockSource.REPLAY))
                flags = r.CanFlags.EXT if msg.is_extended_id else r.CanFlags(0)
                ts = int(msg.timestamp * 1e9)
                raw = enc.encode(seq, ts, ts, msg.arbitration_id, flags, msg.dlc, bytes(msg.data))
                body = r.decode(raw).body
                assert isinstance(body, r.CanFrame)
                assert body.data == bytes(msg.data) and body.can_id == msg.arbitration_id
                count += 1
    assert count == 135_408 + 33_005 + 150_000


@given(records, st.data())
def test_scan_agrees_with_decode_on_valid_and_mutated_records(
    rec_: r.Record, data: st.DataObject
) -> None:
    raw = bytearray(r.encode(rec_))
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        full = r.decode(bytes(raw))
    except BadData as exc:
        with pytest.raises(BadData) as err:
            r.scan(bytes(raw))
        assert err.value.reason is exc.reason
        return
    body = full.body
    can = (body.can_id, int(body.flags)) if isinstance(body, r.CanFrame) else (-1, 0)
    assert r.scan(bytes(raw)) == (full.stream, full.seq, *can)


def test_scan_reports_errors_in_decodes_order() -> None:
    """Several faults at once: scan must name the same one decode names first."""
    good = r.CanEncoder("can0", r.ClockSource.NTP).encode(1, 2, 3, 0x123, 0, 8, bytes(8))
    cases = [
        b"\x02" + good[1:-5],  # wrong version and truncated body
        good[:28] + b"C" + good[29:-5],  # bad stream name and truncated body
        good[:2] + b"\x63" + good[3:-3],  # unknown clock and truncated body
        good[:28],  # nothing after the stream length
        good + bytes(3000),  # too large
    ]
    for raw in cases:
        with pytest.raises(BadData) as full:
            r.decode(raw)
        with pytest.raises(BadData) as fast:
            r.scan(raw)
        assert fast.value.reason is full.value.reason, raw[:40].hex()
