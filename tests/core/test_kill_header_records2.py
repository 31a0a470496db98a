"""A signed batch header read at its size bound and refused by the words of each check (content
type, COSE kid), a header's CBOR refused with its name in the words, the per-batch counts at
their bounds, a version-2 header without counts, a CAN record scanned under a stream name not
yet remembered, and an error's exception arguments (mutation run of 2026-12-03,
docs/testing.md)."""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace
from typing import Any

import pytest

from notary_core import cbor, cose, header, limits
from notary_core import records as r
from notary_core.errors import BadData, NotaryError, Reason, Unreachable
from tests.core.factories import signer, template
from tests.core.test_kill_header_fields import _map

SIGNER = signer()
HEADER = template(key_id=SIGNER.kid)


def _signed(h: header.BatchHeader, by: cose.Signer = SIGNER, cty: str | None = None) -> bytes:
    return cose.sign1(by, h.to_cbor(), header.HEADER_CONTENT_TYPE if cty is None else cty)


def _refused(fn: Any, data: Any, reason: Reason, message: str) -> None:
    with pytest.raises(BadData) as err:
        fn(data)
    assert (err.value.reason, err.value.message) == (reason, message)


def _padded_to(size: int) -> bytes:
    """A valid signed header of exactly `size` bytes, made so by an extension's length."""
    base = len(_signed(replace(HEADER, extensions={header.FIRST_EXTENSION_KEY: b""})))
    pad = size - base
    for k in range(pad - 6, pad + 1):
        data = _signed(replace(HEADER, extensions={header.FIRST_EXTENSION_KEY: b"x" * k}))
        if len(data) == size:
            return data
    raise AssertionError(f"no padding gives {size} bytes")


def test_a_signed_header_of_exactly_the_size_limit_is_read() -> None:
    data = _padded_to(limits.MAX_HEADER_SIZE)
    assert len(data) == limits.MAX_HEADER_SIZE
    signed = header.SignedHeader.parse(data)
    assert signed.raw == data and signed.header.key_id == SIGNER.kid
    assert signed.verify(SIGNER.public) == signed.header


def test_a_signed_header_one_byte_over_the_limit_is_too_large_by_its_words() -> None:
    with pytest.raises(BadData) as err:
        header.SignedHeader.parse(bytes(limits.MAX_HEADER_SIZE + 1))
    assert (err.value.reason, err.value.message, err.value.fields) == (
        Reason.TOO_LARGE,
        "signed header is 16385, limit 16384",
        {"size": 16385, "limit": 16384},
    )


def test_a_signed_header_of_another_content_type_is_refused() -> None:
    _refused(header.SignedHeader.parse, _signed(HEADER, cty="application/cbor"),
             Reason.MALFORMED, "content type 'application/cbor'")  # fmt: skip


def test_a_cose_kid_other_than_the_header_key_id_is_refused() -> None:
    _refused(header.SignedHeader.parse, _signed(HEADER, by=signer(2)),
             Reason.KEY_MISMATCH, "COSE kid differs from the header key_id")  # fmt: skip


def test_a_batch_header_that_is_no_proper_cbor_is_named_batch_header() -> None:
    read = header.BatchHeader.from_cbor
    _refused(read, bytes(limits.MAX_HEADER_SIZE + 1), Reason.TOO_LARGE,
             "batch header is 16385, limit 16384")  # fmt: skip
    _refused(read, b"\x18\x01", Reason.NON_CANONICAL, "batch header is not deterministic CBOR")
    # A shared value that contains itself (tags 28/29) decodes, but has no plain encoding.
    _refused(read, bytes.fromhex("d81c81d81d00"), Reason.MALFORMED,
             "batch header is not a CBOR data item: "
             "cyclic data structure detected but value sharing is disabled")  # fmt: skip


def test_counts_of_exactly_the_stream_limit_are_read() -> None:
    counts = {f"s{i}": {0: 1} for i in range(limits.MAX_STREAMS_PER_BATCH)}
    m = _map(HEADER)
    m[6], m[18] = len(counts), counts
    assert header.BatchHeader.from_cbor(cbor.dumps(m)).counts == counts


def test_counts_of_exactly_the_item_limit_are_taken_and_one_more_is_refused() -> None:
    items = {i: 1 for i in range(limits.MAX_RECORDS_PER_BATCH)}
    assert header._counts({"c": items}) == {"c": items}
    items[limits.MAX_RECORDS_PER_BATCH] = 1
    _refused(header._counts, {"c": items}, Reason.MALFORMED, "too many items in the header counts")


@pytest.mark.parametrize("record_count", [0, 1])
def test_a_version_2_header_without_counts_is_not_encoded(record_count: int) -> None:
    h = replace(HEADER, counts=None, record_count=record_count)
    _refused(header.BatchHeader.to_cbor, h, Reason.MALFORMED, "invalid header fields: counts")


@pytest.mark.parametrize("record_count", [-1, -2])
def test_a_negative_record_count_without_counts_names_both_fields(record_count: int) -> None:
    h = replace(HEADER, counts=None, record_count=record_count)
    _refused(header.BatchHeader.to_cbor, h, Reason.MALFORMED,
             "invalid header fields: record_count, counts")  # fmt: skip


def test_scan_names_a_stream_it_has_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    data = r.CanEncoder("can7", r.ClockSource.GNSS).encode(4, 5, -6, 0x123, 0, 2, b"\x01\x02")
    monkeypatch.setattr(r, "_STREAM_NAMES", {})  # a memo of this test's own, dropped after
    assert r.scan(data) == ("can7", 4, 0x123, 0)
    assert r._STREAM_NAMES == {b"can7": "can7"}
    assert r.scan(data) == ("can7", 4, 0x123, 0)


def test_an_error_carries_its_message_as_its_exception_argument() -> None:
    e = BadData(Reason.MALFORMED, "the words", size=3)
    assert e.args == ("the words",)
    assert repr(e) == "BadData('the words')"
    assert str(e) == "MALFORMED: the words"


class _Refusal(NotaryError):
    """A subclass with its own arguments and an attribute of its own, as the witness has."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(Reason.STALE_SIZE, message)
        self.status = status


@pytest.mark.parametrize(
    "err",
    [
        BadData(Reason.MALFORMED, "the words", size=3, key=b"\x01"),
        Unreachable("no checkpoint", what="a batch"),
        _Refusal(409, "older than what I cosigned"),
    ],
)
def test_an_error_copies_and_pickles_as_itself(err: NotaryError) -> None:
    """A worker process hands its refusal back whole: class, reason, words, fields and every
    attribute of its own."""
    for twin in (copy.copy(err), copy.deepcopy(err), pickle.loads(pickle.dumps(err))):
        assert type(twin) is type(err)
        assert (twin.reason, twin.message, twin.fields) == (err.reason, err.message, err.fields)
        assert twin.args == err.args and str(twin) == str(err)
        assert vars(twin) == vars(err)
