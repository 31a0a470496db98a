"""Receipt refusals by reason and message, field by field, and key rotation (open_receipt_any)."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from notary_core import cbor, cose, receipt
from notary_core.errors import BadData, Reason
from notary_core.header import Beacon
from tests.core.factories import signer

COLLECTOR = signer(3)
BEACON = Beacon(1, 100, bytes([7]) * 32, 1_700_000_000)


def _body(**changes: Any) -> dict[int, Any]:
    body: dict[int, Any] = {1: 2, 2: "veh-0001", 3: 4, 4: bytes(32), 5: 0, 6: 123, 7: 9, 8: None}
    for key, value in changes.items():
        body[int(key[1:])] = value
    return body


def _signed(payload: bytes, content_type: str = receipt.RECEIPT_CONTENT_TYPE) -> bytes:
    return cose.sign1(COLLECTOR, payload, content_type)


def _refusal(data: bytes) -> BadData:
    with pytest.raises(BadData) as err:
        receipt.open_receipt(data, COLLECTOR.public)
    return err.value


def test_a_version_1_receipt_cannot_carry_a_beacon() -> None:
    rc = receipt.Receipt("veh-0001", 4, bytes(32), receipt.ReceiptStatus.STORED, 1, 2, BEACON, 1)
    with pytest.raises(BadData) as err:
        rc.to_cbor()
    assert err.value.reason is Reason.MALFORMED
    assert err.value.message == "a version-1 receipt has no beacon"


def test_version_2_round_trips_with_a_beacon_and_version_1_without() -> None:
    v2 = receipt.Receipt("veh-0001", 4, bytes(32), receipt.ReceiptStatus.REJECTED, 1, 2, BEACON)
    assert receipt.open_receipt(v2.sign(COLLECTOR), COLLECTOR.public) == v2
    v1 = receipt.Receipt("veh-0001", 4, bytes(32), receipt.ReceiptStatus.STORED, 1, 2, None, 1)
    assert cbor2.loads(v1.to_cbor()) == {1: 1, 2: "veh-0001", 3: 4, 4: bytes(32), 5: 0, 6: 1, 7: 2}
    assert receipt.open_receipt(v1.sign(COLLECTOR), COLLECTOR.public) == v1


def test_another_content_type_is_refused_by_name() -> None:
    err = _refusal(_signed(cbor.dumps(_body()), "application/cbor"))
    assert err.reason is Reason.MALFORMED
    assert err.message == "content type 'application/cbor'"


def test_a_non_deterministic_payload_is_named_a_receipt() -> None:
    err = _refusal(_signed(b"\xa1\x18\x01\x02"))
    assert err.reason is Reason.NON_CANONICAL
    assert err.message == "receipt is not deterministic CBOR"


@pytest.mark.parametrize(
    "body", [[1, 2], {1: 3}, {2: "x"}, {**_body(), 1: 2.0}, {**_body(_1=1), 1: True}]
)
def test_an_unknown_version_is_refused(body: Any) -> None:
    err = _refusal(_signed(cbor.dumps(body)))
    assert err.reason is Reason.UNSUPPORTED_VERSION
    assert err.message == "receipt version"


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in _body().items() if k != 8},  # version 2 without its beacon
        {**_body(_1=1)},  # version 1 with a beacon key
        {**_body(), 9: 0},
        {k: v for k, v in _body().items() if k != 7},
    ],
)
def test_missing_or_extra_keys_are_refused(body: dict[int, Any]) -> None:
    err = _refusal(_signed(cbor.dumps(body)))
    assert err.reason is Reason.MALFORMED
    assert err.message == "receipt keys"


def test_an_unknown_status_is_refused_with_the_cause() -> None:
    err = _refusal(_signed(cbor.dumps(_body(_5=7))))
    assert err.reason is Reason.MALFORMED
    assert err.message == "receipt field: 7 is not a valid ReceiptStatus"


@pytest.mark.parametrize(
    "change",
    [
        {"_2": 5},
        {"_3": "4"},
        {"_4": "a" * 32},
        {"_4": bytes(31)},
        {"_4": bytes(33)},
        {"_6": "123"},
        {"_7": "9"},
    ],
)
def test_each_field_of_the_wrong_type_alone_is_refused(change: dict[str, Any]) -> None:
    err = _refusal(_signed(cbor.dumps(_body(**change))))
    assert err.reason is Reason.MALFORMED
    assert err.message == "receipt fields have the wrong types"


def _tampered() -> bytes:
    data = bytearray(
        receipt.Receipt("veh-0001", 4, bytes(32), receipt.ReceiptStatus.STORED, 1, 2).sign(
            COLLECTOR
        )
    )
    data[-1] ^= 1
    return bytes(data)


def test_any_key_needs_at_least_one_key() -> None:
    with pytest.raises(BadData) as err:
        receipt.open_receipt_any(_tampered(), [])
    assert err.value.reason is Reason.UNKNOWN_KEY
    assert err.value.message == "no receipt key pinned"


def test_any_key_accepts_under_a_later_key_of_a_rotation() -> None:
    rc = receipt.Receipt("veh-0001", 4, bytes(32), receipt.ReceiptStatus.STORED, 1, 2)
    data = rc.sign(COLLECTOR)
    assert receipt.open_receipt_any(data, [signer(4).public, COLLECTOR.public]) == rc
    assert receipt.open_receipt_any(data, [COLLECTOR.public, signer(4).public]) == rc


def test_any_key_raises_the_first_keys_refusal() -> None:
    other = signer(4).public
    with pytest.raises(BadData) as err:
        receipt.open_receipt_any(_tampered(), [other, COLLECTOR.public])
    assert err.value.reason is Reason.KEY_MISMATCH
    with pytest.raises(BadData) as err:
        receipt.open_receipt_any(_tampered(), [COLLECTOR.public, other, other])
    assert err.value.reason is Reason.BAD_SIGNATURE
