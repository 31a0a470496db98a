"""Every refusal of the RFC 9162 Merkle code, pinned by reason code, message and fields, at
its edges: the first bad value on each side is refused and the last good one is not.

The property tests of test_merkle.py show that corrupted proofs fail; these show that each
one fails for the reason a transcript will print, and that the bounds sit exactly where
docs/protocol.md and `limits` put them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from notary_core import limits, merkle
from notary_core.errors import BadData, Reason

MAX = limits.MAX_TREE_SIZE
NODE = bytes(range(32))


def _leaf(i: int) -> bytes:
    return merkle.hash_leaf(b"leaf %d" % i)


def _tree(n: int) -> merkle.MerkleTree:
    return merkle.MerkleTree([_leaf(i) for i in range(n)])


def _refusal(fn: Callable[..., Any], *args: Any) -> BadData:
    with pytest.raises(BadData) as err:
        fn(*args)
    return err.value


def _refused(reason: Reason, message: str, fn: Callable[..., Any], *args: Any) -> BadData:
    e = _refusal(fn, *args)
    assert (e.reason, e.message) == (reason, message)
    return e


def test_hashes_are_the_rfc_ones_by_value() -> None:
    sha = hashlib.sha256
    assert sha(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.hash_leaf(b"ab") == sha(b"\x00ab").digest()
    assert merkle.hash_children(b"l", b"r") == sha(b"\x01lr").digest()
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT
    assert merkle.root_from_leaf_hashes([NODE]) == NODE
    a, b, c = _leaf(0), _leaf(1), _leaf(2)
    ab = merkle.hash_children(a, b)
    assert merkle.root_from_leaf_hashes([a, b, c]) == merkle.hash_children(ab, c)
    assert _tree(3).root == merkle.hash_children(ab, c)
    assert merkle.MerkleTree([]).root == merkle.EMPTY_ROOT
    assert merkle.MerkleTree([]).size == 0


def test_tree_inclusion_proof_bounds() -> None:
    t = _tree(5)
    size_msg = "tree size {} not in 1..5"
    for size in (0, 6, -1):
        _refused(Reason.BAD_TREE_SIZE, size_msg.format(size), t.inclusion_proof, 0, size)
    assert len(t.inclusion_proof(0, 5)) == 3
    assert t.inclusion_proof(0) == t.inclusion_proof(0, 5)
    assert t.inclusion_proof(0, 1) == []
    _refused(Reason.BAD_INDEX, "leaf index 5 not in 0..4", t.inclusion_proof, 5)
    _refused(Reason.BAD_INDEX, "leaf index -1 not in 0..4", t.inclusion_proof, -1)
    _refused(Reason.BAD_INDEX, "leaf index 3 not in 0..2", t.inclusion_proof, 3, 3)
    for i in range(5):
        for size in range(i + 1, 6):
            p = t.inclusion_proof(i, size)
            root = merkle.root_from_leaf_hashes([_leaf(j) for j in range(size)])
            merkle.verify_inclusion(_leaf(i), i, size, p, root)


def test_tree_consistency_proof_bounds() -> None:
    t = _tree(6)
    msg = "consistency needs 0 < size1 <= size2 <= 6, got {}, {}"
    for s1, s2 in [(0, 6), (4, 3), (1, 7), (-1, 2)]:
        _refused(Reason.BAD_TREE_SIZE, msg.format(s1, s2), t.consistency_proof, s1, s2)
    assert t.consistency_proof(6) == []
    assert t.consistency_proof(3, 3) == []
    assert t.consistency_proof(3) == t.consistency_proof(3, 6)
    for s1 in range(1, 7):
        for s2 in range(s1, 7):
            r1 = merkle.root_from_leaf_hashes([_leaf(j) for j in range(s1)])
            r2 = merkle.root_from_leaf_hashes([_leaf(j) for j in range(s2)])
            merkle.verify_consistency(s1, s2, r1, r2, t.consistency_proof(s1, s2))


def test_tree_multiproof_bounds() -> None:
    t = _tree(4)
    _refused(Reason.BAD_INDEX, "a multiproof needs at least one leaf", t.multiproof, [])
    for bad in ([-1, 2], [0, 4]):
        e = _refused(Reason.BAD_INDEX, "leaf index out of 0..3", t.multiproof, bad)
        assert e.fields == {"tree_size": 4}
    assert t.multiproof([0, 1, 2, 3]) == []
    assert t.multiproof([3, 0, 0]) == [t.subtree_root(1, 2), t.subtree_root(2, 3)]


def test_root_from_inclusion_proof_bounds_and_messages() -> None:
    f = merkle.root_from_inclusion_proof
    for size in (-1, MAX + 1):
        _refused(Reason.BAD_TREE_SIZE, f"tree size {size} out of range", f, NODE, 0, size, [])
    _refused(Reason.BAD_INDEX, "leaf index 0 not below tree size 0", f, NODE, 0, 0, [])
    _refused(Reason.BAD_INDEX, "leaf index 3 not below tree size 3", f, NODE, 3, 3, [])
    _refused(Reason.BAD_INDEX, "leaf index -1 not below tree size 3", f, NODE, -1, 3, [])
    _refused(Reason.BAD_HASH_LENGTH, "leaf hash is 31 bytes, not 32", f, NODE[:31], 0, 1, [])
    _refused(Reason.BAD_HASH_LENGTH, "leaf hash is 33 bytes, not 32", f, NODE + b"x", 0, 1, [])
    _refused(Reason.BAD_HASH_LENGTH, "proof node is 0 bytes, not 32", f, NODE, 0, 2, [b""])
    _refused(Reason.TOO_LARGE, "proof has 65 nodes", f, NODE, 0, MAX, [NODE] * 65)
    # The largest tree needs 63 nodes; 64 are not too many to read, but one too many to use.
    longer = "inclusion proof is longer than the path"
    _refused(Reason.BAD_PROOF, longer, f, NODE, 0, MAX, [NODE] * 64)
    _refused(Reason.BAD_PROOF, longer, f, NODE, 0, 1, [NODE])
    shorter = "inclusion proof is shorter than the path"
    _refused(Reason.BAD_PROOF, shorter, f, NODE, 0, MAX, [NODE] * 62)
    _refused(Reason.BAD_PROOF, shorter, f, NODE, 4, 5, [])
    assert f(NODE, 0, 1, []) == NODE
    assert len(f(NODE, 0, MAX, [NODE] * 63)) == 32


def test_root_from_inclusion_proof_walks_the_rfc_path() -> None:
    t = _tree(7)
    for i in range(7):
        for size in range(i + 1, 8):
            p = t.inclusion_proof(i, size)
            assert merkle.root_from_inclusion_proof(_leaf(i), i, size, p) == t.subtree_root(0, size)


def test_verify_inclusion_names_both_roots() -> None:
    t = _tree(3)
    p = t.inclusion_proof(1)
    merkle.verify_inclusion(_leaf(1), 1, 3, p, t.root)
    e = _refused(
        Reason.ROOT_MISMATCH,
        "inclusion proof leads to another root",
        merkle.verify_inclusion,
        _leaf(1),
        1,
        3,
        p,
        NODE,
    )
    assert e.fields == {"expected": NODE, "calculated": t.root}
    _refused(
        Reason.BAD_HASH_LENGTH,
        "root is 31 bytes, not 32",
        merkle.verify_inclusion,
        _leaf(1),
        1,
        3,
        p,
        t.root[:31],
    )


def test_verify_consistency_refusals() -> None:
    f = merkle.verify_consistency
    t = _tree(8)
    r = [merkle.EMPTY_ROOT] + [t.subtree_root(0, n) for n in range(1, 9)]
    p35 = t.consistency_proof(3, 5)
    f(3, 5, r[3], r[5], p35)
    for s in (-1, MAX + 1):
        _refused(Reason.BAD_TREE_SIZE, f"size1 {s} out of range", f, s, 5, r[3], r[5], p35)
        _refused(Reason.BAD_TREE_SIZE, f"size2 {s} out of range", f, 3, s, r[3], r[5], p35)
    empty = "consistency from the empty tree proves nothing"
    _refused(Reason.BAD_TREE_SIZE, empty, f, 0, 5, r[3], r[5], p35)
    _refused(Reason.BAD_TREE_SIZE, "size1 5 > size2 3", f, 5, 3, r[5], r[3], p35)
    _refused(Reason.BAD_PROOF, "equal sizes need an empty proof", f, 4, 4, r[4], r[4], [NODE])
    _refused(Reason.ROOT_MISMATCH, "equal sizes but different roots", f, 4, 4, r[4], r[3], [])
    f(4, 4, r[4], r[4], [])
    f(MAX, MAX, NODE, NODE, [])
    _refused(Reason.BAD_HASH_LENGTH, "root1 is 31 bytes, not 32", f, 3, 5, r[3][:31], r[5], p35)
    _refused(Reason.BAD_HASH_LENGTH, "root2 is 31 bytes, not 32", f, 3, 5, r[3], r[5][:31], p35)
    _refused(Reason.BAD_PROOF, "empty consistency proof", f, 3, 5, r[3], r[5], [])
    _refused(Reason.TOO_LARGE, "proof has 65 nodes", f, 1, MAX, NODE, NODE, [NODE] * 65)
    too_long = "consistency proof is too long"
    _refused(Reason.BAD_PROOF, too_long, f, 1, MAX, NODE, NODE, [NODE] * 64)
    _refused(Reason.BAD_PROOF, too_long, f, 3, 5, r[3], r[5], [*p35, NODE])
    short = "consistency proof is too short"
    _refused(Reason.BAD_PROOF, short, f, 3, 5, r[3], r[5], p35[:-1])
    _refused(Reason.BAD_HASH_LENGTH, "proof node is 1 bytes, not 32", f, 3, 5, r[3], r[5], [b"x"])
    e = _refused(Reason.ROOT_MISMATCH, "proof does not lead to root1", f, 3, 5, NODE, r[5], p35)
    assert e.fields == {"calculated": r[3]}
    e = _refused(Reason.ROOT_MISMATCH, "proof does not lead to root2", f, 3, 5, r[3], NODE, p35)
    assert e.fields == {"calculated": r[5]}
    # A power-of-two size1 is its own first node: the proof leaves root1 out.
    p48 = t.consistency_proof(4, 8)
    assert len(p48) == 1
    f(4, 8, r[4], r[8], p48)
    # so a wrong root1 shows only as a wrong root2.
    _refused(Reason.ROOT_MISMATCH, "proof does not lead to root2", f, 4, 8, NODE, r[8], p48)


def test_consistency_between_every_pair_of_small_trees() -> None:
    t = _tree(9)
    r = [merkle.EMPTY_ROOT] + [t.subtree_root(0, n) for n in range(1, 10)]
    for s1 in range(1, 10):
        for s2 in range(s1 + 1, 10):
            p = t.consistency_proof(s1, s2)
            merkle.verify_consistency(s1, s2, r[s1], r[s2], p)
            for j in range(len(p)):
                bad = [*p[:j], NODE, *p[j + 1 :]]
                e = _refusal(merkle.verify_consistency, s1, s2, r[s1], r[s2], bad)
                assert e.reason is Reason.ROOT_MISMATCH


def test_root_from_multiproof_refusals() -> None:
    f = merkle.root_from_multiproof
    t = _tree(4)
    leaves = {1: _leaf(1), 2: _leaf(2)}
    proof = t.multiproof(leaves)
    assert f(4, leaves, proof) == t.root
    for s in (-1, MAX + 1):
        _refused(Reason.BAD_TREE_SIZE, f"tree size {s} out of range", f, s, leaves, proof)
    _refused(Reason.BAD_TREE_SIZE, "no leaf can be in an empty tree", f, 0, leaves, proof)
    _refused(Reason.BAD_INDEX, "a multiproof needs at least one leaf", f, 4, {}, proof)
    e = _refused(Reason.BAD_INDEX, "leaf index out of 0..3", f, 4, {4: NODE}, proof)
    assert e.fields == {"tree_size": 4}
    cap = limits.MAX_MULTIPROOF_NODES
    big = [NODE] * (cap + 1)
    _refused(Reason.TOO_LARGE, f"multiproof has {cap + 1} nodes", f, 2, {0: NODE}, big)
    _refused(Reason.BAD_PROOF, "multiproof has unused nodes", f, 2, {0: NODE}, big[:cap])
    length = "leaf hashes and proof nodes are 32 bytes"
    _refused(Reason.BAD_HASH_LENGTH, length, f, 4, {1: NODE[:31], 2: NODE}, proof)
    _refused(Reason.BAD_HASH_LENGTH, length, f, 4, leaves, [proof[0], proof[1] + b"x"])
    _refused(Reason.BAD_PROOF, "multiproof is too short", f, 4, leaves, proof[:1])
    _refused(Reason.BAD_PROOF, "multiproof has unused nodes", f, 4, leaves, [*proof, NODE])
    assert f(1, {0: NODE}, []) == NODE
    assert f(4, {i: _leaf(i) for i in range(4)}, []) == t.root


def test_verify_multiproof_names_both_roots() -> None:
    t = _tree(5)
    leaves = {0: _leaf(0), 4: _leaf(4)}
    proof = t.multiproof(leaves)
    merkle.verify_multiproof(5, leaves, proof, t.root)
    e = _refused(
        Reason.ROOT_MISMATCH,
        "multiproof leads to another root",
        merkle.verify_multiproof,
        5,
        leaves,
        proof,
        NODE,
    )
    assert e.fields == {"expected": NODE, "calculated": t.root}
    _refused(
        Reason.BAD_HASH_LENGTH,
        "root is 0 bytes, not 32",
        merkle.verify_multiproof,
        5,
        leaves,
        proof,
        b"",
    )


def test_subtree_roots_of_every_range_match_the_definition() -> None:
    for n in range(1, 12):
        t = _tree(n)
        for lo in range(n):
            for hi in range(lo + 1, n + 1):
                want = merkle.root_from_leaf_hashes([_leaf(j) for j in range(lo, hi)])
                assert t.subtree_root(lo, hi) == want, (n, lo, hi)
