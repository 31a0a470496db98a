"""RFC 9162 Merkle tree: shared conformance vectors, a naive reference, and properties."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from notary_core import merkle
from notary_core.conformance import run_merkle
from notary_core.errors import BadData, Reason


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# A deliberately literal transcription of RFC 9162 §2.1, recursive, for cross-checking.
def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


# Proof *shapes*: which side each node joins on. A verifier knows a tree only through its
# size, so a proof for a wrong size can only be accepted when the shapes coincide.
def ref_path_shape(m: int, n: int) -> list[str]:
    if n == 1:
        return []
    k = _k(n)
    return [*ref_path_shape(m, k), "R"] if m < k else [*ref_path_shape(m - k, n - k), "L"]


def ref_consistency_shape(m: int, n: int, b: bool = True) -> list[str]:
    if m == n:
        return [] if b else ["S"]
    k = _k(n)
    if m <= k:
        return [*ref_consistency_shape(m, k, b), "R"]
    return [*ref_consistency_shape(m - k, n - k, False), "L"]


def ref_multi_shape(idx: set[int], lo: int, hi: int) -> str:
    if not any(lo <= i < hi for i in idx):
        return "P"
    if hi - lo == 1:
        return "x"
    k = lo + _k(hi - lo)
    return f"({ref_multi_shape(idx, lo, k)}{ref_multi_shape(idx, k, hi)})"


def accepted(check: object, *args: object) -> bool:
    try:
        check(*args)  # type: ignore[operator]
    except BadData:
        return False
    return True


def leaves(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(n)]


def tree(n: int) -> merkle.MerkleTree:
    return merkle.MerkleTree([merkle.hash_leaf(x) for x in leaves(n)])


def test_every_shared_vector_file_passes(shared_data: Path) -> None:
    files = sorted((shared_data / "merkle-vectors").glob("*.json"))
    assert files
    for path in files:
        failures: list[str] = []
        passed, failed = run_merkle(path, failures.append)
        assert failed == 0, failures
        assert passed > 200  # 234 cases in transparency-dev-rfc6962.json today


@pytest.mark.parametrize("n", [*range(1, 70), 127, 128, 129, 1000])
def test_tree_matches_naive_reference(n: int) -> None:
    d = leaves(n)
    t = tree(n)
    assert t.root == ref_mth(d) == merkle.root_from_leaf_hashes(t.levels[0])
    for m in {0, min(1, n - 1), n // 2, n - 1}:
        assert t.inclusion_proof(m) == ref_path(m, d)
    for m in {1, min(2, n), n // 3 or 1, n - 1 or 1, n}:
        assert t.consistency_proof(m) == (ref_subproof(m, d, True) if m < n else [])


def test_proofs_for_prefix_trees_match_reference() -> None:
    t = tree(50)
    for size in (1, 7, 16, 33, 50):
        d = leaves(size)
        for m in range(size):
            assert t.inclusion_proof(m, size) == ref_path(m, d)
        for m in range(1, size):
            assert t.consistency_proof(m, size) == ref_subproof(m, d, True)
        for lo in range(size):
            assert t.subtree_root(lo, size) == ref_mth(leaves(size)[lo:size])


def test_empty_tree_root() -> None:
    assert merkle.root_from_leaf_hashes([]) == _h(b"")
    assert merkle.MerkleTree([]).root == _h(b"")


sizes = st.integers(min_value=1, max_value=300)


@given(sizes, st.data())
def test_inclusion_proofs_verify_and_every_corruption_fails(n: int, data: st.DataObject) -> None:
    t = tree(n)
    m = data.draw(st.integers(0, n - 1))
    proof = t.inclusion_proof(m)
    leaf = t.levels[0][m]
    merkle.verify_inclusion(leaf, m, n, proof, t.root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = list(proof)
        bad[i] = bytes(b ^ (1 << (bit % 8)) if j == bit // 8 else b for j, b in enumerate(bad[i]))
        with pytest.raises(BadData):
            merkle.verify_inclusion(leaf, m, n, bad, t.root)
        with pytest.raises(BadData):
            merkle.verify_inclusion(leaf, m, n, proof[:-1], t.root)
    with pytest.raises(BadData):
        merkle.verify_inclusion(leaf, m, n, [*proof, t.root], t.root)
    other = data.draw(st.integers(0, n))
    assume(other != m)
    with pytest.raises(BadData):
        merkle.verify_inclusion(leaf, other, n, proof, t.root)
    wrong = data.draw(st.integers(m + 1, 2 * n + 2))
    assume(wrong != n)
    same_shape = ref_path_shape(m, wrong) == ref_path_shape(m, n)
    assert accepted(merkle.verify_inclusion, leaf, m, wrong, proof, t.root) == same_shape


@given(sizes, st.data())
def test_consistency_proofs_verify_and_corruptions_fail(n: int, data: st.DataObject) -> None:
    t = tree(n)
    m = data.draw(st.integers(1, n))
    proof = t.consistency_proof(m)
    root1 = merkle.MerkleTree(t.levels[0][:m]).root
    merkle.verify_consistency(m, n, root1, t.root, proof)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(BadData):
            merkle.verify_consistency(m, n, root1, t.root, bad)
        with pytest.raises(BadData):
            merkle.verify_consistency(m, n, root1, t.root, proof[:-1])
    with pytest.raises(BadData):
        merkle.verify_consistency(m, n, root1, t.root, [*proof, root1])
    with pytest.raises(BadData):
        merkle.verify_consistency(m, n, bytes(32), t.root, proof)
    wrong = data.draw(st.integers(m + 1, 2 * n + 2))
    assume(wrong != n)
    same_shape = ref_consistency_shape(m, wrong) == ref_consistency_shape(m, n)
    assert accepted(merkle.verify_consistency, m, wrong, root1, t.root, proof) == same_shape


@given(sizes, st.data())
def test_multiproofs_verify_and_corruptions_fail(n: int, data: st.DataObject) -> None:
    t = tree(n)
    idx = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=min(n, 40)))
    proof = t.multiproof(idx)
    chosen = {i: t.levels[0][i] for i in idx}
    merkle.verify_multiproof(n, chosen, proof, t.root)
    # Never larger than the union of the single paths.
    assert len(proof) <= sum(len(t.inclusion_proof(i)) for i in idx)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[i] = bad[i][:-1] + bytes([bad[i][-1] ^ 0x80])
        with pytest.raises(BadData):
            merkle.verify_multiproof(n, chosen, bad, t.root)
        with pytest.raises(BadData, match="too short"):
            merkle.verify_multiproof(n, chosen, proof[:-1], t.root)
    with pytest.raises(BadData):
        merkle.verify_multiproof(n, chosen, [*proof, t.root], t.root)
    victim = data.draw(st.sampled_from(sorted(idx)))
    tampered = dict(chosen)
    tampered[victim] = merkle.hash_leaf(b"forged")
    with pytest.raises(BadData) as err:
        merkle.verify_multiproof(n, tampered, proof, t.root)
    assert err.value.reason is Reason.ROOT_MISMATCH
    wrong = data.draw(st.integers(max(idx) + 1, 2 * n + 2))
    assume(wrong != n)
    same_shape = ref_multi_shape(idx, 0, wrong) == ref_multi_shape(idx, 0, n)
    assert accepted(merkle.verify_multiproof, wrong, chosen, proof, t.root) == same_shape


def test_dense_multiproof_is_much_smaller_than_paths() -> None:
    t = tree(1000)
    idx = range(100, 400)
    multi = t.multiproof(idx)
    paths = sum(len(t.inclusion_proof(i)) for i in idx)
    assert len(multi) * 10 < paths


def test_rejects_wrong_hash_lengths_and_bad_indices() -> None:
    t = tree(8)
    proof = t.inclusion_proof(3)
    with pytest.raises(BadData) as err:
        merkle.verify_inclusion(t.levels[0][3][:31], 3, 8, proof, t.root)
    assert err.value.reason is Reason.BAD_HASH_LENGTH
    with pytest.raises(BadData) as err:
        merkle.verify_inclusion(t.levels[0][3], 8, 8, proof, t.root)
    assert err.value.reason is Reason.BAD_INDEX
    with pytest.raises(BadData) as err:
        t.multiproof([9])
    assert err.value.reason is Reason.BAD_INDEX
    with pytest.raises(BadData) as err:
        merkle.verify_consistency(0, 8, merkle.EMPTY_ROOT, t.root, [])
    assert err.value.reason is Reason.BAD_TREE_SIZE
    with pytest.raises(BadData) as err:
        merkle.verify_inclusion(t.levels[0][0], 0, 8, [t.root] * 65, t.root)
    assert err.value.reason is Reason.TOO_LARGE
