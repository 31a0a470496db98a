"""The index's head values (§7.1.2): device and vehicle heads read back from their CBOR, and
each malformed one refused by its words (mutation run, docs/testing.md)."""

from __future__ import annotations

import hashlib

import pytest

from notary_core import cbor, heads
from notary_core.errors import BadData, Reason
from notary_core.heads import ChainHead, DeviceHead, VehicleHead

H = bytes(range(32))
CHAIN = "an index chain head is [count, last index, last hash]"


def _refused(message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (Reason.MALFORMED, message)


def test_keys_and_leaf_hashes() -> None:
    assert heads.device_key("d-1") == b"\x01d-1"
    assert heads.vehicle_key("vé") == b"\x02" + "vé".encode()
    assert heads.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    c = ChainHead().append(7, b"x")
    assert c == ChainHead(1, 7, heads.leaf_hash(b"x"))
    assert c.append(9, b"y") == ChainHead(2, 9, heads.leaf_hash(b"y"))
    assert c.link().to_cbor() == [1, 7, heads.leaf_hash(b"x")]


def test_heads_read_back() -> None:
    for d in (DeviceHead(), DeviceHead(0, H, 0, ChainHead(1, 0, H)), DeviceHead(5, H, 9)):
        assert DeviceHead.parse(d.value()) == d
    for v in (VehicleHead(), VehicleHead(ChainHead(2, 4, H), ChainHead(1, 3, H))):
        assert VehicleHead.parse(v.value()) == v


@pytest.mark.parametrize(
    "chain",
    [[-1, None, None], [0, 0, None], [0, None, H], [0, 0, H], [1, None, H], [1, -1, H],
     [1, 0, None], [1, 0, H[:31]], [1, 0, H + b"x"], [1, "0", H], ["1", 0, H], [1, 0, H.hex()]],
)  # fmt: skip
def test_a_bad_chain_head_is_refused(chain: list[object]) -> None:
    _refused(CHAIN, VehicleHead.parse, cbor.dumps([0, None, None, *chain]))
    _refused(CHAIN, VehicleHead.parse, cbor.dumps([*chain, 0, None, None]))
    _refused(CHAIN, DeviceHead.parse, cbor.dumps([None, None, None, *chain]))


def test_a_bad_device_or_vehicle_head_is_refused() -> None:
    empty = [0, None, None]
    for bad in ([None] * 5, [None] * 7, {1: 2}):
        _refused("a device head is an array of 6", DeviceHead.parse, cbor.dumps(bad))
    for bad in ([*empty, *empty, 0], empty):
        _refused("a vehicle head is an array of 6", VehicleHead.parse, cbor.dumps(bad))
    for batch in (
        [0, None, None],
        [None, H, None],
        [None, None, 0],
        [-1, H, 0],
        [0, H, -1],
        [0, H[:31], 0],
        [0, H, "0"],
        ["0", H, 0],
        [0, H.hex(), 0],
    ):
        _refused("a device head's batch fields", DeviceHead.parse, cbor.dumps([*batch, *empty]))


def test_a_device_head_that_is_not_cbor_is_named() -> None:
    with pytest.raises(BadData) as e:
        DeviceHead.parse(b"\x18")
    assert e.value.reason is Reason.MALFORMED
    assert e.value.message.startswith("device head is not valid CBOR: ")
