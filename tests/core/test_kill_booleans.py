"""A CBOR `true` where an integer belongs (§1: no booleans in a signed field a verifier
reads). Python takes True for 1 in every comparison and isinstance(True, int) holds, so each
of these fields checks the exact type: an index head's count, index and batch_seq, a header's
clock, item key and UTC times, a bundle's log indices, a receipt's numbers (mutation run,
docs/testing.md)."""

from __future__ import annotations

from typing import Any

import pytest

from notary_core import bundle, cbor, heads, limits, receipt
from notary_core.errors import BadData, Reason
from tests.core.factories import sealed
from tests.core.test_kill_receipt import COLLECTOR, _body, _signed

H = bytes(range(32))


def _refused(message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (Reason.MALFORMED, message)


def test_index_heads() -> None:
    chain = "an index chain head is [count, last index, last hash]"
    assert heads._chain([1, 0, H]) == heads.ChainHead(1, 0, H)
    _refused(chain, heads._chain, [True, 0, H])
    _refused(chain, heads._chain, [1, True, H])
    _refused(chain, heads._chain, [-1, None, None])
    good = [5, H, 9, 0, None, None]
    assert heads.DeviceHead.parse(cbor.dumps(good)) == heads.DeviceHead(5, H, 9)
    for i in (0, 2):
        bad = list(good)
        bad[i] = True
        _refused("a device head's batch fields", heads.DeviceHead.parse, cbor.dumps(bad))


def _header_map(**changes: Any) -> dict[int, Any]:
    m: dict[int, Any] = cbor.loads(sealed(2).signed.header.to_cbor(), limits.MAX_HEADER_SIZE, "h")
    m.update({int(k[1:]): v for k, v in changes.items()})
    return m


def test_batch_header_fields() -> None:
    from notary_core.header import BatchHeader

    read = BatchHeader.from_cbor
    assert read(cbor.dumps(_header_map())).clock_source == 2  # the map reads back
    _refused("unknown clock source True", read, cbor.dumps(_header_map(_12=True)))
    with pytest.raises(BadData) as e:
        read(cbor.dumps(_header_map(_10=True)))
    assert e.value.reason is Reason.MALFORMED and "first_utc_ns" in e.value.message
    _refused("bad count True: 1 in 'can0'", read, cbor.dumps(_header_map(_18={"can0": {True: 1}})))


def test_bundle_log_indices() -> None:
    _refused("logged entry fields have the wrong types", bundle._logged, [b"", True, []])
    assert bundle._logged([b"", 1, []]).log_index == 1
    _refused("batch evidence fields have the wrong types", bundle._batch,
             [b"", True, [], [], []])  # fmt: skip


@pytest.mark.parametrize("key", [3, 6, 7])
def test_receipt_numbers(key: int) -> None:
    assert receipt.open_receipt(_signed(cbor.dumps(_body())), COLLECTOR.public).log_index == 9
    body = {**_body(), key: True}
    with pytest.raises(BadData) as e:
        receipt.open_receipt(_signed(cbor.dumps(body)), COLLECTOR.public)
    assert (e.value.reason, e.value.message) == (Reason.MALFORMED,
                                                 "receipt fields have the wrong types")  # fmt: skip
