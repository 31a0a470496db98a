"""What a version-1 bundle discloses of a batch (§12): the records inside the window, both
ends included, and inside the scope, by stream or by CAN id (11- and 29-bit), with their
salts and one multiproof; nothing at all when nothing qualifies (mutation run,
docs/testing.md)."""

from __future__ import annotations

from notary_core import batch, bundle, merkle
from notary_core import records as r

KEY = bytes(range(32))


def _can(utc: int, can_id: int, ext: bool = False) -> bytes:
    flags = r.CanFlags.EXT if ext else r.CanFlags(0)
    return r.encode(r.Record("can0", utc, utc, utc, r.ClockSource.GNSS,
                             r.CanFrame(can_id, flags, 1, b"\x01")))  # fmt: skip


def _nmea(utc: int) -> bytes:
    return r.encode(r.Record("gnss", utc, utc, utc, r.ClockSource.GNSS,
                             r.NmeaSentence(r.NmeaStatus.CHECKSUM_OK, b"$GPRMC")))  # fmt: skip


def _picked(records: list[bytes], window: tuple[int, int], scope: list[str]) -> list[int]:
    chosen, multi = bundle.disclose(records, KEY, window, scope)
    picked = [d.leaf_index for d in chosen]
    assert [d.record for d in chosen] == [records[i] for i in picked]
    assert [d.salt for d in chosen] == [batch.salt(KEY, i) for i in picked]
    if picked:
        tree = merkle.MerkleTree(batch.leaf_hashes(KEY, records))
        assert list(multi) == tree.multiproof(picked)
    else:
        assert multi == ()
    return picked


def test_the_window_includes_both_ends_and_skips_what_lies_outside() -> None:
    # Out-of-window records first and between: each is skipped, the walk goes on.
    utcs = [5, 10, 9, 20, 21, 15, 30]
    records = [_can(u, 0x123) for u in utcs]
    assert _picked(records, (10, 20), ["can0"]) == [1, 3, 5]
    assert _picked(records, (10, 10), ["can0"]) == [1]
    assert _picked(records, (31, 40), ["can0"]) == []
    assert _picked(records, (0, 4), ["can0"]) == []


def test_the_scope_by_stream_and_by_can_id() -> None:
    records = [_can(1, 0x123), _can(2, 0x124), _nmea(3), _can(4, 0x123, ext=True), _nmea(5)]
    everything = (0, 10)
    assert _picked(records, everything, ["can0#123"]) == [0]
    assert _picked(records, everything, ["can0#00000123"]) == [3]
    assert _picked(records, everything, ["gnss"]) == [2, 4]
    assert _picked(records, everything, ["can0"]) == [0, 1, 3]
    assert _picked(records, everything, ["can0#124", "gnss"]) == [1, 2, 4]
    assert _picked(records, everything, ["imu"]) == []
