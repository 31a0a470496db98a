"""Log leaves (§6, §7): links, batch leaves and index leaves, and the leaf-type dispatch, each
refusal by its reason and words, each bound at its value and one past (mutation run,
docs/testing.md)."""

from __future__ import annotations

import pytest

from notary_core import cbor, logleaf
from notary_core.errors import BadData, Reason
from notary_core.logleaf import BatchLeaf, IndexLeaf, Link

H = bytes(range(32))
TOP = (1 << 63) - 1


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_links() -> None:
    assert Link.parse([0, None, None]) == Link(0)
    assert Link.parse([TOP, TOP, H]) == Link(TOP, TOP, H)
    assert Link(3, 2, H).to_cbor() == [3, 2, H]
    for bad in (
        [0, None],
        [0, None, None, 1],
        (0, None, None),
        [-1, None, None],
        [1 << 63, 0, H],
        [True, None, None],
        ["0", None, None],
    ):
        _refused(Reason.MALFORMED, "a link is [n, prev index, prev hash]", Link.parse, bad)
    for bad in ([0, 0, None], [0, None, H]):
        _refused(Reason.MALFORMED, "the first entry of a chain names no previous",
                 Link.parse, bad)  # fmt: skip
    for bad in (
        [1, None, H],
        [1, 0, None],
        [1, 1 << 63, H],
        [1, 0, H[:31]],
        [1, 0, H + b"x"],
        [1, 0, H.hex()],
    ):
        _refused(Reason.MALFORMED, "a link names the previous entry's index and hash",
                 Link.parse, bad)  # fmt: skip


def test_version_1_batch_leaves() -> None:
    assert logleaf.batch_leaf(H) == b"\x01" + H
    assert logleaf.parse_leaf(b"\x01" + H) == H
    for bad in (H[:31], H + b"x"):
        _refused(Reason.BAD_HASH_LENGTH, "header hash must be 32 bytes", logleaf.batch_leaf, bad)
        _refused(Reason.MALFORMED, "a version-1 batch leaf is 33 bytes",
                 logleaf.parse_leaf, b"\x01" + bad)  # fmt: skip
    _refused(Reason.MALFORMED, "an empty log leaf", logleaf.parse_leaf, b"")
    for kind in (0, 6, 0xFF):
        _refused(Reason.UNKNOWN_KIND, f"log leaf type {kind:#04x}",
                 logleaf.parse_leaf, bytes([kind]) + H)  # fmt: skip


def test_version_2_batch_leaves() -> None:
    for device, seq in (("d", 0), ("d" * 64, TOP)):
        leaf = BatchLeaf(H, seq, device)
        data = leaf.to_leaf()
        assert data == b"\x04" + H + seq.to_bytes(8, "big") + device.encode()
        assert BatchLeaf.from_leaf(data) == leaf == logleaf.parse_leaf(data)
    message = "batch leaf: device id 1..64 bytes, u64 batch_seq"
    for device, seq in (("", 0), ("d" * 65, 0), ("d", -1), ("d", 1 << 63), ("d", True)):
        _refused(Reason.MALFORMED, message, BatchLeaf(H, seq, device).to_leaf)
    _refused(Reason.BAD_HASH_LENGTH, "header hash must be 32 bytes",
             BatchLeaf(H[:31], 0, "d").to_leaf)  # fmt: skip
    good = BatchLeaf(H, 5, "dev").to_leaf()
    for bad in (b"", b"\x01" + good[1:]):
        _refused(Reason.UNKNOWN_KIND, "not a batch leaf", BatchLeaf.from_leaf, bad)
    for bad in (good[:41], good[:41] + b"d" * 65):
        _refused(Reason.MALFORMED, "a batch leaf is 42..105 bytes", BatchLeaf.from_leaf, bad)
    assert BatchLeaf.from_leaf(good[:41] + b"d" * 64).device_id == "d" * 64
    _refused(Reason.MALFORMED, "a batch leaf's device id is ASCII",
             BatchLeaf.from_leaf, good[:41] + "é".encode())  # fmt: skip
    top_bit = good[:33] + (1 << 63).to_bytes(8, "big") + b"dev"
    _refused(Reason.MALFORMED, message, BatchLeaf.from_leaf, top_bit)


def test_index_leaves() -> None:
    for covered in (0, TOP):
        leaf = IndexLeaf(covered, H)
        data = leaf.to_leaf()
        assert data == b"\x05" + cbor.dumps({1: 1, 2: covered, 3: H})
        assert IndexLeaf.from_leaf(data) == leaf == logleaf.parse_leaf(data)
    message = "index leaf: u63 size and a 32-byte root"
    for covered, root in ((-1, H), (1 << 63, H), (0, H[:31]), (0, H + b"x")):
        _refused(Reason.MALFORMED, message, IndexLeaf(covered, root).to_leaf)
    for bad in (b"", b"\x04" + cbor.dumps({1: 1, 2: 0, 3: H})):
        _refused(Reason.UNKNOWN_KIND, "not an index leaf", IndexLeaf.from_leaf, bad)
    for body in ({1: 2, 2: 0, 3: H}, {2: 0, 3: H}, [1, 0, H], {1: True, 2: 0, 3: H},
                 {1: 1.0, 2: 0, 3: H}):  # fmt: skip
        _refused(Reason.UNSUPPORTED_VERSION, "index leaf version",
                 IndexLeaf.from_leaf, b"\x05" + cbor.dumps(body))  # fmt: skip
    for body in (
        {1: 1, 2: 0},
        {1: 1, 2: 0, 3: H, 4: 0},
        {1: 1, 2: -1, 3: H},
        {1: 1, 2: 1 << 63, 3: H},
        {1: 1, 2: 0, 3: "root"},
        {1: 1, 2: 0, 3: H[:31]},
        {1: 1, 2: 0, 3: H + b"x"},
        {1: 1, 2: True, 3: H},
    ):
        _refused(Reason.MALFORMED, "index leaf fields",
                 IndexLeaf.from_leaf, b"\x05" + cbor.dumps(body))  # fmt: skip
