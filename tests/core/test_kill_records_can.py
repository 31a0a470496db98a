"""A CAN record's frame fields (ISO 11898-1 as §4.1 states them) and a stream's name, each
refusal by its reason and words, each bound at its value and one past (mutation run,
docs/testing.md)."""

from __future__ import annotations

import pytest

from notary_core import records as r
from notary_core.errors import BadData, Reason

EXT, RTR, ERR, FD, BRS, ESI = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def _refused(message: str, fn: object, *args: object, reason: Reason = Reason.NON_CANONICAL
             ) -> None:  # fmt: skip
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_data_length_by_flags_and_dlc() -> None:
    assert [r.can_data_length(0, d) for d in range(16)] == [*range(9), *[8] * 7]
    assert [r.can_data_length(FD, d) for d in range(16)] == [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]  # fmt: skip
    assert [r.can_data_length(RTR, d) for d in (0, 4, 8)] == [0, 0, 0]
    assert r.can_data_length(FD | BRS, 15) == 64 and r.can_data_length(EXT, 5) == 5
    assert r.FD_LEN_TO_DLC[64] == 15 and r.FD_LEN_TO_DLC[12] == 9


@pytest.mark.parametrize(
    ("can_id", "flags", "dlc", "n"),
    [(0, 0, 0, 0), (0x7FF, 0, 8, 8), ((1 << 29) - 1, EXT, 8, 8), ((1 << 29) - 1, ERR, 8, 8),
     (0x123, RTR, 4, 0), (0x123, FD, 15, 64), (0x123, FD | BRS | ESI, 9, 12),
     (0x123, FD | EXT, 0, 0), (0x123, 0x3F & ~RTR, 13, 32)],
)  # fmt: skip
def test_good_frames(can_id: int, flags: int, dlc: int, n: int) -> None:
    r._check_can(can_id, flags, dlc, n)


def test_bad_frames() -> None:
    c = r._check_can
    _refused("unknown CAN flag bits 0x40", c, 0, 0x40, 0, 0)
    _refused("unknown CAN flag bits 0x7f", c, 0, 0x7F, 0, 0)
    _refused("BRS/ESI set on a classic frame", c, 0, BRS, 0, 0)
    _refused("BRS/ESI set on a classic frame", c, 0, ESI, 0, 0)
    _refused("CAN FD has no remote frames", c, 0, FD | RTR, 0, 0)
    _refused("CAN id 0x800 out of range for its flags", c, 0x800, 0, 0, 0)
    _refused("CAN id 0x800 out of range for its flags", c, 0x800, FD | BRS, 0, 0)
    _refused("CAN id 0x20000000 out of range for its flags", c, 1 << 29, EXT, 0, 0)
    _refused("CAN id 0x20000000 out of range for its flags", c, 1 << 29, ERR, 0, 0)
    _refused("CAN id -0x1 out of range for its flags", c, -1, 0, 0, 0)
    _refused("DLC 9 invalid for this frame type", c, 0, 0, 9, 8)
    _refused("DLC 16 invalid for this frame type", c, 0, FD, 16, 64)
    _refused("DLC -1 invalid for this frame type", c, 0, 0, -1, 0)
    _refused("7 data bytes disagree with DLC 8", c, 0, 0, 8, 7)
    _refused("1 data bytes disagree with DLC 1", c, 0, RTR, 1, 1)
    _refused("63 data bytes disagree with DLC 15", c, 0, FD, 15, 63)


def test_stream_names() -> None:
    assert r.stream_name(b"can0") == "can0"
    assert r.stream_name(b"can0") == "can0"  # from the memo, the same answer
    for raw in (b"", b"Can0", b"can 0", b"can/0", "gnß".encode()):
        _refused(f"bad stream name {raw!r}", r.stream_name, raw)
        _refused(f"bad stream name {raw!r}", r.stream_name, raw)  # a refusal is not memoised


def test_the_envelope_fields() -> None:
    top, low = (1 << 64) - 1, -(1 << 63)
    r._check_envelope(b"can0", top, top, (1 << 63) - 1, 1)
    r._check_envelope(b"can0", 0, 0, low, 1)
    message = "seq, mono_ns or utc_ns out of range"
    for seq, mono, utc in (
        (-1, 0, 0),
        (1 << 64, 0, 0),
        (0, -1, 0),
        (0, 1 << 64, 0),
        (0, 0, low - 1),
        (0, 0, 1 << 63),
    ):
        _refused(message, r._check_envelope, b"can0", seq, mono, utc, 1,
                 reason=Reason.MALFORMED)  # fmt: skip
    bad = max(int(c) for c in r.ClockSource) + 1
    _refused(f"unknown clock source {bad}", r._check_envelope, b"can0", 0, 0, 0, bad)
    _refused("bad stream name b'A'", r._check_envelope, b"A", 0, 0, 0, 1)


def test_the_stream_name_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid names are remembered (the hot path), but no more than 4,096 of them: a hostile
    input of many names cannot grow the memo without bound."""
    monkeypatch.setattr(r, "_STREAM_NAMES", {})  # a memo of this test's own, dropped after
    r.stream_name(b"memo-me")
    assert r._STREAM_NAMES[b"memo-me"] == "memo-me"
    for i in range(5000):
        assert r.stream_name(b"s%d" % i) == f"s{i}"
    assert len(r._STREAM_NAMES) == 4096
