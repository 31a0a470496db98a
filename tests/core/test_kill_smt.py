"""The sparse Merkle tree's lookups and absence refusals, pinned by value, reason and message.

`Snapshot.get` of a key the tree does not hold is None whether its path ends in nothing or in
another key's leaf; `verify_absence` refuses a malformed "other" leaf (either half of the
wrong length), one off the key's path and a proof that leads elsewhere, each with its reason
code and its own message.
"""

from __future__ import annotations

import hashlib

import pytest

from notary_core import smt
from notary_core.errors import BadData, Reason


def _sha(x: bytes) -> bytes:
    return hashlib.sha256(x).digest()


def _key(first: int) -> bytes:
    """A key hash whose first byte is `first` (so its path is known), the rest zero."""
    return bytes([first]) + bytes(31)


def _refused(reason: Reason, message: str, *args: object) -> None:
    with pytest.raises(BadData) as err:
        smt.verify_absence(*args)  # type: ignore[arg-type]
    assert err.value.reason is reason
    assert err.value.message == message


def test_get_of_an_absent_key_is_none_whether_its_path_ends_in_a_leaf_or_nothing() -> None:
    a, b = _key(0x00), _key(0x40)  # 00..., 01...: the root's left subtree splits on bit 1
    tree = smt.SparseTree([(a, _sha(b"a")), (b, _sha(b"b"))])
    assert tree.get(a) == _sha(b"a")
    assert tree.get(b) == _sha(b"b")
    assert tree.get(_key(0x80)) is None  # right of the root: an empty subtree
    assert tree.get(_key(0x01)) is None  # same path as a down to a's leaf, another key
    single = smt.SparseTree([(a, _sha(b"a"))])
    assert single.get(_key(0xFF)) is None  # the root is a's leaf
    assert smt.SparseTree().get(a) is None


def test_absence_refuses_an_other_leaf_with_either_half_of_the_wrong_length() -> None:
    tree = smt.SparseTree([(_key(0x00), _sha(b"a"))])
    k = _key(0x01)
    p = tree.prove(k)
    assert p.other == (_key(0x00), _sha(b"a")) and p.siblings == ()
    smt.verify_absence(tree.root(), k, p.other, p.siblings)
    message = "index keys and values are 32-byte hashes"
    for other in [(_key(0x00)[:31], _sha(b"a")), (_key(0x00), _sha(b"a")[:31])]:
        _refused(Reason.BAD_HASH_LENGTH, message, tree.root(), k, other, p.siblings)


def test_absence_refusals_name_what_is_wrong() -> None:
    a, b = _key(0x00), _key(0x80)
    tree = smt.SparseTree([(a, _sha(b"a")), (b, _sha(b"b"))])
    k = _key(0x01)  # left of the root, where a's leaf is
    p = tree.prove(k)
    assert p.other == (a, _sha(b"a"))
    smt.verify_absence(tree.root(), k, p.other, p.siblings)
    off_path = "the other leaf does not share the key's path"
    _refused(Reason.BAD_PROOF, off_path, tree.root(), k, (b, _sha(b"b")), p.siblings)
    _refused(Reason.BAD_PROOF, off_path, tree.root(), k, (k, _sha(b"a")), p.siblings)
    elsewhere = "the absence proof does not lead to the index root"
    _refused(Reason.BAD_PROOF, elsewhere, tree.root(), k, (a, _sha(b"x")), p.siblings)
    _refused(Reason.BAD_PROOF, elsewhere, tree.root(), k, None, p.siblings)


def test_a_snapshot_keeps_its_size_and_root_after_later_sets() -> None:
    tree = smt.SparseTree([(_key(0x00), _sha(b"a")), (_key(0x80), _sha(b"b"))])
    snap = tree.snapshot()
    root = tree.root()
    tree.set(_key(0x40), _sha(b"c"))
    assert (snap.size, len(tree)) == (2, 3)
    assert snap.root() == root != tree.root()
    assert snap.get(_key(0x40)) is None


@pytest.mark.parametrize(
    "keys",
    [
        [
            bytes([0x00, i]) + bytes(30) for i in range(8)
        ],  # one first byte: paths part below depth 8
        [bytes(16) + bytes([i]) + bytes(15) for i in range(4)],  # part at depth 128 and below
        [
            bytes(31) + bytes([i]) for i in (0, 1, 0x80, 0xFF)
        ],  # part in the last byte, down to bit 255
    ],
    ids=["second-byte", "middle-byte", "last-byte"],
)
def test_keys_that_share_a_long_prefix_are_placed_by_every_bit_of_their_path(
    keys: list[bytes],
) -> None:
    """Random key hashes part within the first few bits; these share up to 255, so every
    byte of a key is read to place it (`_insert` reads bit d of byte d >> 3)."""
    items = {k: _sha(k) for k in keys}
    tree = smt.SparseTree()
    for i, k in enumerate(keys):
        tree.set(k, items[k])
        assert tree.root() == smt.reference_root({j: items[j] for j in keys[: i + 1]})
    assert len(tree) == len(keys)
    for k in keys:
        assert tree.get(k) == items[k]
