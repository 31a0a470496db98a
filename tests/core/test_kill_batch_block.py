"""A sealed batch's records block and wire form, each refusal by its reason and words, each
bound at its value and one past (mutation run, docs/testing.md)."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from notary_core import batch, cbor, limits
from notary_core.errors import BadData, Reason
from tests.core.factories import can_records, sealed, signer


def _refused(reason: Reason, message: str, fn: object, *args: object) -> BadData:
    with pytest.raises(BadData) as err:
        result = fn(*args)  # type: ignore[operator]
        if not isinstance(result, (bytes, batch.SealedBatch)):
            list(result)
    assert err.value.reason is reason
    assert err.value.message == message
    return err.value


def _entry(r: bytes) -> bytes:
    return struct.pack(">H", len(r)) + r


def test_a_block_splits_back_into_its_records_at_every_size_bound() -> None:
    records = [b"\x01", b"ab" * 7, bytes(limits.MAX_RECORD_SIZE)]
    block = batch.encode_records_block(records)
    assert block == b"".join(_entry(r) for r in records)
    assert batch.split_records_block(block) == records
    assert list(batch.iter_records_block(b"")) == []
    assert batch.encode_records_block([]) == b""


def test_each_broken_block_is_refused_where_it_breaks() -> None:
    one = _entry(b"xyz")
    _refused(Reason.MALFORMED, "records block truncated in a length prefix",
             batch.iter_records_block, one + b"\x00")  # fmt: skip
    _refused(Reason.MALFORMED, "record length 0 at offset 5",
             batch.iter_records_block, one + b"\x00\x00")  # fmt: skip
    too_long = limits.MAX_RECORD_SIZE + 1
    _refused(Reason.MALFORMED, f"record length {too_long} at offset 0",
             batch.iter_records_block, struct.pack(">H", too_long) + bytes(too_long))  # fmt: skip
    _refused(Reason.MALFORMED, "records block truncated inside a record",
             batch.iter_records_block, one + b"\x00\x04abc")  # fmt: skip
    assert batch.split_records_block(one + b"\x00\x03abc") == [b"xyz", b"abc"]


def test_a_block_holds_at_most_the_batch_bound_of_records() -> None:
    n = limits.MAX_RECORDS_PER_BATCH
    full = _entry(b"r") * n
    assert len(batch.split_records_block(full)) == n
    err = _refused(Reason.TOO_LARGE, f"record count is {n + 1}, limit {n}",
                   batch.iter_records_block, full + _entry(b"r"))  # fmt: skip
    assert (err.fields["size"], err.fields["limit"]) == (n + 1, n)
    _refused(Reason.TOO_LARGE, f"record count is {n + 1}, limit {n}",
             batch.encode_records_block, [b"r"] * (n + 1))  # fmt: skip
    big = limits.MAX_RECORD_SIZE + 1
    _refused(Reason.TOO_LARGE, f"record is {big}, limit {limits.MAX_RECORD_SIZE}",
             batch.encode_records_block, [b"ok", bytes(big)])  # fmt: skip


def _wire(*value: object) -> bytes:
    return cbor.dumps(list(value))


def test_a_sealed_batch_on_the_wire_is_read_field_by_field() -> None:
    sb = sealed(3)
    raw, salt, block = sb.signed.raw, sb.salt_key, sb.records_block
    back = batch.SealedBatch.from_bytes(_wire(1, raw, salt, block))
    assert (back.signed.raw, back.salt_key, back.records_block) == (raw, salt, block)
    f = batch.SealedBatch.from_bytes
    _refused(Reason.MALFORMED, "sealed batch must be an array of 4", f, _wire(1, raw, salt))
    _refused(Reason.MALFORMED, "sealed batch must be an array of 4", f, cbor.dumps({1: 2}))
    _refused(Reason.MALFORMED, "sealed batch must be an array of 4",
             f, _wire(1, raw, salt, block, b""))  # fmt: skip
    _refused(Reason.UNSUPPORTED_VERSION, "sealed batch version 2", f, _wire(2, raw, salt, block))
    _refused(Reason.UNSUPPORTED_VERSION, "sealed batch version '1'",
             f, _wire("1", raw, salt, block))  # fmt: skip
    for odd in (True, 1.0):  # equal to 1 in Python, and neither is the integer 1
        _refused(Reason.UNSUPPORTED_VERSION, f"sealed batch version {odd!r}",
                 f, _wire(odd, raw, salt, block))  # fmt: skip
    with pytest.raises(BadData) as err:
        f(_wire(1, raw, salt, block)[:-1])
    assert err.value.reason is Reason.MALFORMED
    assert err.value.message.startswith("sealed batch is not valid CBOR: ")
    over = limits.MAX_BATCH_PAYLOAD + 1
    _refused(Reason.TOO_LARGE, f"sealed batch is {over}, limit {over - 1}", f, bytes(over))
    for signed, salt_key in ((raw.hex(), salt), (raw, salt.hex())):
        _refused(Reason.MALFORMED, "sealed batch fields have the wrong types",
                 f, _wire(1, signed, salt_key, block))  # fmt: skip
    _refused(Reason.MALFORMED, "bad salt key or records block",
             f, _wire(1, raw, salt, block.hex()))  # fmt: skip
    for size in (limits.SALT_KEY_SIZE - 1, limits.SALT_KEY_SIZE + 1):
        _refused(Reason.MALFORMED, "bad salt key or records block",
                 f, _wire(1, raw, bytes(size), block))  # fmt: skip


def test_verify_refuses_a_block_that_is_not_the_signed_one() -> None:
    sb = sealed(3)
    key = signer().public
    assert sb.verify(key) == can_records(3)
    fewer = replace(sb, records_block=batch.encode_records_block(can_records(2)))
    _refused(Reason.COUNT_MISMATCH, "header says 3 records, block holds 2", fewer.verify, key)
    other = can_records(3)
    other[1] = other[2]
    swapped = replace(sb, records_block=batch.encode_records_block(other))
    err = _refused(Reason.ROOT_MISMATCH, "records and salts do not give the signed root",
                   swapped.verify, key)  # fmt: skip
    assert err.fields["expected"] == sb.signed.header.merkle_root
    assert err.fields["calculated"] == batch.merkle_root(sb.salt_key, other)
    salted = replace(sb, salt_key=bytes(32))
    _refused(Reason.ROOT_MISMATCH, "records and salts do not give the signed root",
             salted.verify, key)  # fmt: skip


def test_a_version_2_header_counts_its_records_and_a_version_1_header_does_not() -> None:
    records = can_records(3)
    v2 = sealed(3).signed.header
    assert v2.counts == batch.item_counts(records) != {}
    batch.check_counts(v2, records)
    _refused(Reason.COUNT_MISMATCH, "the header's per-item counts are not the records'",
             batch.check_counts, v2, records[:2])  # fmt: skip
    v1 = sealed(3, version=1).signed.header
    assert v1.version == 1 and v1.counts is None
    batch.check_counts(v1, records)  # version 1 states no counts: nothing to compare
