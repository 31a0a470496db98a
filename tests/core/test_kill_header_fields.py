"""A batch header read from CBOR and checked field by field (§4.3): each refusal by its reason
and words, each bound at its value and one past (mutation run, docs/testing.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from notary_core import cbor, header, limits
from notary_core.errors import BadData, Reason
from tests.core.factories import sealed

MAX = 1 << 64


@pytest.fixture(scope="module")
def h() -> header.BatchHeader:
    return sealed(3).signed.header


def _map(h: header.BatchHeader) -> dict[Any, Any]:
    m: dict[Any, Any] = cbor.loads(h.to_cbor(), limits.MAX_HEADER_SIZE, "batch header")
    return m


def _read_refused(m: Any, reason: Reason, message: str) -> None:
    with pytest.raises(BadData) as err:
        header.BatchHeader.from_cbor(cbor.dumps(m))
    assert (err.value.reason, err.value.message) == (reason, message)


def _invalid(h: header.BatchHeader, message: str, **changes: Any) -> None:
    with pytest.raises(BadData) as err:
        header._validate(replace(h, **changes))
    assert (err.value.reason, err.value.message) == (Reason.MALFORMED, message)


def test_a_header_reads_back_as_itself(h: header.BatchHeader) -> None:
    assert header.BatchHeader.from_cbor(h.to_cbor()) == h
    v1 = replace(h, version=1, counts=None)
    assert header.BatchHeader.from_cbor(v1.to_cbor()) == v1
    m = _map(h)
    m[header.FIRST_EXTENSION_KEY] = "later"
    read = header.BatchHeader.from_cbor(cbor.dumps(m))
    assert read.extensions == {header.FIRST_EXTENSION_KEY: "later"}


def test_the_map_and_its_keys(h: header.BatchHeader) -> None:
    _read_refused([1, 2], Reason.MALFORMED, "batch header is not a map")
    for version in (0, 3, None, "2", True, 1.0, 2.0):
        m = _map(h)
        m[1] = version
        _read_refused(m, Reason.UNSUPPORTED_VERSION, f"batch header version {version!r}")
    m = _map(h)
    m[20] = 0
    _read_refused(m, Reason.MALFORMED, "header keys: unknown [20], missing []")
    m = _map(h)
    m[header.FIRST_EXTENSION_KEY - 1] = 0
    _read_refused(m, Reason.MALFORMED, "header keys: unknown [63], missing []")
    m = _map(h)
    m["x"] = 0
    _read_refused(m, Reason.MALFORMED, "header keys: unknown ['x'], missing []")
    m = _map(h)
    del m[1]
    _read_refused(m, Reason.UNSUPPORTED_VERSION, "batch header version None")
    m = _map(h)
    del m[19], m[17]
    _read_refused(m, Reason.MALFORMED, "header keys: unknown [], missing [17, 19]")
    v1 = _map(replace(h, version=1, counts=None))
    v1[18] = {}
    _read_refused(v1, Reason.MALFORMED, "header keys: unknown [18], missing []")


def test_stream_counters_and_clock(h: header.BatchHeader) -> None:
    m = _map(h)
    m[14] = [1]
    _read_refused(m, Reason.MALFORMED, "header stream counters are not a bounded map")
    m[14] = {f"s{i}": [0] * 6 for i in range(limits.MAX_STREAMS_PER_BATCH + 1)}
    _read_refused(m, Reason.MALFORMED, "header stream counters are not a bounded map")
    m[14] = {f"s{i}": [0] * 6 for i in range(limits.MAX_STREAMS_PER_BATCH)}
    assert len(header.BatchHeader.from_cbor(cbor.dumps(m)).streams) == 64
    for bad in ({"can0": [0] * 5}, {"can0": [0] * 7}, {"can0": "xxxxxx"}, {1: [0] * 6}):
        m[14] = bad
        name = next(iter(bad))
        _read_refused(m, Reason.MALFORMED, f"bad counters for stream {name!r}")
    m = _map(h)
    for clock in (99, "1", None):
        m[12] = clock
        _read_refused(m, Reason.MALFORMED, f"unknown clock source {clock!r}")


def test_counts(h: header.BatchHeader) -> None:
    def refused(counts: Any, message: str) -> None:
        m = _map(h)
        m[18] = counts
        _read_refused(m, Reason.MALFORMED, message)

    refused([1], "header counts are not a bounded map")
    refused({f"s{i}": {0: 1} for i in range(65)}, "header counts are not a bounded map")
    refused({"can0": {}}, "bad counts for stream 'can0'")
    refused({"can0": [1]}, "bad counts for stream 'can0'")
    refused({7: {0: 1}}, "bad counts for stream 7")
    for key, n in ((-2, 1), (1 << 32, 1), (0, 0), (0, MAX), ("0", 1), (0, True)):
        refused({"can0": {key: n}}, f"bad count {key!r}: {n!r} in 'can0'")
    assert header._counts({"c": {-1: 1, (1 << 32) - 1: MAX - 1}}) == {
        "c": {-1: 1, (1 << 32) - 1: MAX - 1}
    }
    too_many = {i: 1 for i in range(limits.MAX_RECORDS_PER_BATCH + 1)}
    with pytest.raises(BadData, match="too many items in the header counts"):
        header._counts({"c": too_many})


def test_beacon() -> None:
    good = [1, 2, bytes(32), 3]
    assert header.Beacon.parse(good) == header.Beacon(1, 2, bytes(32), 3)
    assert header.Beacon.parse(good).to_cbor() == good
    for bad in ([1, 2, bytes(32)], (1, 2, bytes(32), 3), [1, 2, bytes(32), 3, 4]):
        with pytest.raises(BadData) as err:
            header.Beacon.parse(bad)
        assert err.value.message == "a beacon is [chain id, number, hash, time]"
    for i, value in ((0, -1), (1, MAX), (3, True), (2, bytes(31)), (2, "00" * 32), (0, "1")):
        bad = list(good)
        bad[i] = value
        with pytest.raises(BadData) as err:
            header.Beacon.parse(bad)
        assert err.value.message == "beacon fields have the wrong types"


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("device_id", "a" * 64, "a" * 65),
        ("device_id", "a._-Z9", "a/b"),
        ("device_id", "A", "-a"),
        ("boot_id", bytes(16), bytes(15)),
        ("batch_seq", MAX - 1, MAX),
        ("batch_seq", 0, -1),
        ("prev_header_hash", bytes(32), bytes(33)),
        ("merkle_root", bytes(32), bytes(31)),
        ("first_mono_ns", 0, -1),
        ("last_mono_ns", MAX - 1, MAX),
        ("clock_uncertainty_ns", MAX - 1, MAX),
        ("first_utc_ns", -(1 << 63), -(1 << 63) - 1),
        ("last_utc_ns", (1 << 63) - 1, 1 << 63),
        ("first_utc_ns", 0, "0"),
        ("agent_version", "é" * 128, "é" * 128 + "x"),
        ("agent_version", "v", ""),
        ("config_hash", bytes(32), bytes(31)),
        ("key_id", bytes(32), bytes(33)),
        ("key_id", b"k", b""),
        ("key_id", b"k", "k"),
    ],
)
def test_each_field_at_its_bound_and_past_it(
    h: header.BatchHeader, field: str, good: Any, bad: Any
) -> None:
    changes: dict[str, Any] = {field: good}
    if field == "batch_seq" and good != 0:
        changes["prev_header_hash"] = bytes([1]) * 32
    header._validate(replace(h, **changes))
    changes[field] = bad
    _invalid(h, f"invalid header fields: {field}", **changes)


def test_every_bad_field_is_named_in_order(h: header.BatchHeader) -> None:
    _invalid(h, "invalid header fields: device_id, boot_id, key_id",
             device_id="", boot_id=b"", key_id=b"")  # fmt: skip
    _invalid(h, "invalid header fields: counts", record_count=4)  # the counts say 3
    over = limits.MAX_RECORDS_PER_BATCH + 1
    _invalid(h, "invalid header fields: record_count, counts", record_count=over)
    _invalid(h, "invalid header fields: record_count", record_count=over,
             version=1, counts=None)  # fmt: skip
    header._validate(replace(h, record_count=over - 1, version=1, counts=None))
    counters = {"can0": header.StreamCounters(MAX, 0)}
    _invalid(h, "invalid header fields: stream counters", streams=counters)
    _invalid(h, "invalid header fields: version", version=3)
    _invalid(h, "invalid header fields: counts", counts=None)
    _invalid(h, "invalid header fields: counts or beacon in a version-1 header", version=1)
    beacon = header.Beacon(1, 2, bytes(32), 3)
    _invalid(h, "invalid header fields: counts or beacon in a version-1 header",
             version=1, counts=None, beacon=beacon)  # fmt: skip
    header._validate(replace(h, version=1, counts=None))
    header._validate(replace(h, beacon=beacon))


def test_time_order_and_the_chain_start(h: header.BatchHeader) -> None:
    header._validate(replace(h, first_mono_ns=5, last_mono_ns=5))
    _invalid(h, "last_mono_ns before first_mono_ns", first_mono_ns=6, last_mono_ns=5)
    with pytest.raises(BadData) as err:
        header._validate(replace(h, prev_header_hash=bytes([1]) * 32))
    assert (err.value.reason, err.value.message) == (
        Reason.CHAIN_BROKEN,
        "batch 0 must name the genesis hash (32 zero bytes)",
    )
    header._validate(replace(h, batch_seq=1, prev_header_hash=bytes([1]) * 32))
