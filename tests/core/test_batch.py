"""Batch headers, salted leaves, sealed batches and receipts."""

from __future__ import annotations

import hashlib
import hmac

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from notary_core import batch, cbor, cose, header, limits, merkle, receipt
from notary_core.errors import BadData, Reason
from tests.core.factories import can_records, sealed, signer, template


def test_salt_and_leaf_follow_the_brief_exactly() -> None:
    key = bytes(range(32))
    rec = b"record bytes"
    expected_salt = hmac.new(key, (5).to_bytes(8, "big"), hashlib.sha256).digest()[:16]
    assert batch.salt(key, 5) == expected_salt
    leaf = hashlib.sha256(b"\x00" + expected_salt + rec).digest()
    assert batch.salted_leaf_hash(expected_salt, rec) == leaf
    hashes = batch.leaf_hashes(key, [b"a", b"b", b"c", b"d", b"e", rec])
    assert hashes[5] == leaf
    assert batch.merkle_root(key, [b"x"]) == merkle.hash_leaf(batch.salt(key, 0) + b"x")


def test_seal_verify_round_trip_on_the_wire() -> None:
    sb = sealed(100)
    wire = sb.to_bytes()
    back = batch.SealedBatch.from_bytes(wire)
    assert back.verify(signer().public) == can_records(100)
    h = back.signed.header
    assert h.record_count == 100 and h.key_id == signer().kid
    assert back.signed.header_hash == h.hash() == hashlib.sha256(h.to_cbor()).digest()
    assert back.to_bytes() == wire


def test_es256_batches_verify() -> None:
    s = cose.Signer.from_key(ec.generate_private_key(ec.SECP256R1()))
    sb = batch.seal(template(), can_records(5), bytes(32), s)
    assert len(batch.SealedBatch.from_bytes(sb.to_bytes()).verify(s.public)) == 5


def _rewrap(sb: batch.SealedBatch, **kw: bytes) -> batch.SealedBatch:
    fields = {"salt_key": sb.salt_key, "records_block": sb.records_block} | kw
    return batch.SealedBatch(sb.signed, fields["salt_key"], fields["records_block"])


def test_tampered_record_wrong_salt_and_missing_record_fail() -> None:
    sb = sealed(20)
    block = bytearray(sb.records_block)
    block[50] ^= 0x01
    with pytest.raises(BadData) as err:
        _rewrap(sb, records_block=bytes(block)).verify(signer().public)
    assert err.value.reason is Reason.ROOT_MISMATCH
    with pytest.raises(BadData) as err:
        _rewrap(sb, salt_key=bytes(32)).verify(signer().public)
    assert err.value.reason is Reason.ROOT_MISMATCH
    fewer = batch.encode_records_block(can_records(20)[:19])
    with pytest.raises(BadData) as err:
        _rewrap(sb, records_block=fewer).verify(signer().public)
    assert err.value.reason is Reason.COUNT_MISMATCH
    swapped = can_records(20)
    swapped[3], swapped[4] = swapped[4], swapped[3]
    with pytest.raises(BadData) as err:
        _rewrap(sb, records_block=batch.encode_records_block(swapped)).verify(signer().public)
    assert err.value.reason is Reason.ROOT_MISMATCH


def test_forged_header_fails_signature() -> None:
    sb = sealed(3)
    value = cbor2.loads(sb.signed.raw)
    prot, unprot, payload, sig = value.value
    forged_payload = header.BatchHeader.from_cbor(payload)
    forged = cbor.dumps(cbor2.CBORTag(18, [prot, dict(unprot), _with_seq(forged_payload, 7), sig]))
    with pytest.raises(BadData) as err:
        header.SignedHeader.parse(forged).verify(signer().public)
    assert err.value.reason is Reason.BAD_SIGNATURE
    with pytest.raises(BadData) as err:
        sb.signed.verify(signer(2).public)
    assert err.value.reason is Reason.KEY_MISMATCH


def _with_seq(h: header.BatchHeader, seq: int) -> bytes:
    from dataclasses import replace

    return replace(h, batch_seq=seq, prev_header_hash=bytes([1]) * 32).to_cbor()


def test_header_rejects_non_canonical_unknown_and_missing_fields() -> None:
    h = template(key_id=signer().kid)
    data = h.to_cbor()
    assert header.BatchHeader.from_cbor(data) == h
    value = cbor2.loads(data)
    with pytest.raises(BadData) as err:  # same map, keys in the wrong order
        header.BatchHeader.from_cbor(cbor2.dumps(dict(reversed(list(value.items())))))
    assert err.value.reason is Reason.NON_CANONICAL
    with pytest.raises(BadData) as err:
        header.BatchHeader.from_cbor(cbor.dumps({**value, 30: 1}))
    assert err.value.reason is Reason.MALFORMED
    del value[6]
    with pytest.raises(BadData) as err:
        header.BatchHeader.from_cbor(cbor.dumps(value))
    assert err.value.reason is Reason.MALFORMED
    with pytest.raises(BadData) as err:
        header.BatchHeader.from_cbor(cbor.dumps({**cbor2.loads(data), 1: 3}))
    assert err.value.reason is Reason.UNSUPPORTED_VERSION


def test_extensions_survive_and_stay_signed() -> None:
    sb = sealed(2, extensions={100: "future field", 64: [1, 2]})
    back = batch.SealedBatch.from_bytes(sb.to_bytes())
    back.verify(signer().public)
    assert back.signed.header.extensions == {64: [1, 2], 100: "future field"}


def test_field_validation() -> None:
    for bad in (
        {"device_id": "has/slash"},
        {"boot_id": b"short"},
        {"batch_seq": -1},
        {"prev_header_hash": b"x"},
        {"first_mono_ns": 5, "last_mono_ns": 4},
        {"batch_seq": 0, "prev_header_hash": bytes([1]) * 32},
    ):
        with pytest.raises(BadData):
            sealed(1, **bad)


def test_sealed_batch_bounds_and_garbage() -> None:
    with pytest.raises(BadData) as err:
        batch.SealedBatch.from_bytes(bytes(limits.MAX_BATCH_PAYLOAD + 1))
    assert err.value.reason is Reason.TOO_LARGE
    for garbage in (b"", b"\x00", b"\x9f\xff", bytes(range(256)), cbor.dumps([2, b"", b"", b""])):
        with pytest.raises(BadData):
            batch.SealedBatch.from_bytes(garbage)
    with pytest.raises(BadData):
        list(batch.iter_records_block(b"\x00\x05abc"))
    with pytest.raises(BadData):
        list(batch.iter_records_block(b"\x00"))
    with pytest.raises(BadData):
        list(batch.iter_records_block(b"\x00\x00"))


def test_receipt_round_trip_and_forgery() -> None:
    collector = signer(3)
    rc = receipt.Receipt("veh-0001", 4, bytes(32), receipt.ReceiptStatus.STORED, 123, 9)
    data = rc.sign(collector)
    assert receipt.open_receipt(data, collector.public) == rc
    with pytest.raises(BadData) as err:
        receipt.open_receipt(data, signer(4).public)
    assert err.value.reason is Reason.KEY_MISMATCH
    device_signed = rc.sign(signer(1))
    with pytest.raises(BadData):
        receipt.open_receipt(device_signed, collector.public)
