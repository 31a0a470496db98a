"""RFC 9162 §2.1 Merkle tree: root, inclusion and consistency proofs, compact multiproofs.

Hashing (RFC 9162 §2.1.1): leaf `SHA-256(0x00 || d)`, node `SHA-256(0x01 || l || r)`, the
empty tree hashes to `SHA-256("")`, and a tree of n > 1 leaves splits at k, the largest
power of two smaller than n. Building level by level and promoting an unpaired last node
gives exactly that tree, at the cost of one hash call per node.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence

from notary_core import limits
from notary_core.errors import BadData, Reason

_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()


def hash_leaf(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d}) = SHA-256(0x00 || d)."""
    return _sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _next_level(level: Sequence[bytes]) -> list[bytes]:
    sha = _sha256
    nxt = [sha(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]
    if len(level) & 1:
        nxt.append(level[-1])  # an unpaired node moves up unchanged
    return nxt


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (each already `hash_leaf`-ed)."""
    level: Sequence[bytes] = leaf_hashes
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


class MerkleTree:
    """A tree over known leaf hashes, keeping every level to answer proofs quickly."""

    __slots__ = ("levels",)

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        levels: list[Sequence[bytes]] = [list(leaf_hashes)]
        while len(levels[-1]) > 1:
            levels.append(_next_level(levels[-1]))
        self.levels = levels

    @property
    def size(self) -> int:
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def subtree_root(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi), 0 <= lo < hi <= size, as the RFC defines it."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self.levels[n.bit_length() - 1][lo // n]
        if hi == self.size and lo % (1 << (n - 1).bit_length()) == 0:
            # The last, partial block of a level holds exactly the MTH of its leaves.
            k = (n - 1).bit_length()
            return self.levels[k][lo >> k]
        k = _split(n)
        return hash_children(self.subtree_root(lo, lo + k), self.subtree_root(lo + k, hi))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), from the leaf's sibling upwards."""
        size = self.size if size is None else size
        if not 0 < size <= self.size:
            raise BadData(Reason.BAD_TREE_SIZE, f"tree size {size} not in 1..{self.size}")
        if not 0 <= index < size:
            raise BadData(Reason.BAD_INDEX, f"leaf index {index} not in 0..{size - 1}")
        if size == self.size:
            return self._path_full(index)
        return self._path(index, 0, size)

    def _path_full(self, index: int) -> list[bytes]:
        proof: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index >>= 1
        return proof

    def _path(self, index: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _split(n)
        if index < lo + k:
            return [*self._path(index, lo, lo + k), self.subtree_root(lo + k, hi)]
        return [*self._path(index, lo + k, hi), self.subtree_root(lo, lo + k)]

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2])."""
        size2 = self.size if size2 is None else size2
        if not 0 < size1 <= size2 <= self.size:
            raise BadData(
                Reason.BAD_TREE_SIZE,
                f"consistency needs 0 < size1 <= size2 <= {self.size}, got {size1}, {size2}",
            )
        if size1 == size2:
            return []
        return self._subproof(size1, 0, size2, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self.subtree_root(lo, hi)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, whole), self.subtree_root(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.subtree_root(lo, lo + k)]

    def multiproof(self, indices: Iterable[int]) -> list[bytes]:
        """Compact proof for several leaves: the roots of the maximal subtrees that hold
        none of them, depth first, left to right (docs/protocol.md §Multiproof)."""
        wanted = _sorted_unique(indices, self.size)
        out: list[bytes] = []
        self._multi(wanted, 0, len(wanted), 0, self.size, out)
        return out

    def _multi(self, idx: list[int], a: int, b: int, lo: int, hi: int, out: list[bytes]) -> None:
        if a == b:
            out.append(self.subtree_root(lo, hi))
            return
        if b - a == hi - lo:
            return  # every leaf here is disclosed: nothing to prove
        mid = lo + _split(hi - lo)
        c = bisect_left(idx, mid, a, b)
        self._multi(idx, a, c, lo, mid, out)
        self._multi(idx, c, b, mid, hi, out)


def _sorted_unique(indices: Iterable[int], size: int) -> list[int]:
    wanted = sorted(set(indices))
    if not wanted:
        raise BadData(Reason.BAD_INDEX, "a multiproof needs at least one leaf")
    if wanted[0] < 0 or wanted[-1] >= size:
        raise BadData(Reason.BAD_INDEX, f"leaf index out of 0..{size - 1}", tree_size=size)
    return wanted


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != limits.HASH_SIZE:
        raise BadData(
            Reason.BAD_HASH_LENGTH, f"{what} is {len(value)} bytes, not {limits.HASH_SIZE}"
        )


def _check_size(size: int, what: str) -> None:
    if not 0 <= size <= limits.MAX_TREE_SIZE:
        raise BadData(Reason.BAD_TREE_SIZE, f"{what} {size} out of range")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """RFC 9162 §2.1.3.2: the root that `proof` leads to. Raises BadData if it cannot."""
    _check_size(size, "tree size")
    if not 0 <= index < size:
        raise BadData(Reason.BAD_INDEX, f"leaf index {index} not below tree size {size}")
    _check_hash(leaf_hash, "leaf hash")
    if len(proof) > limits.MAX_PROOF_NODES:
        raise BadData(Reason.TOO_LARGE, f"proof has {len(proof)} nodes")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        _check_hash(p, "proof node")
        if sn == 0:
            raise BadData(Reason.BAD_PROOF, "inclusion proof is longer than the path")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise BadData(Reason.BAD_PROOF, "inclusion proof is shorter than the path")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise BadData unless `proof` shows leaf `index` of a tree of `size` has `root`."""
    _check_hash(root, "root")
    calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if calculated != root:
        raise BadData(
            Reason.ROOT_MISMATCH,
            "inclusion proof leads to another root",
            expected=root,
            calculated=calculated,
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2. Raise BadData unless the tree of size1 is a prefix of size2.

    As in transparency-dev/merkle, size1 == 0 is rejected (an empty tree is trivially a
    prefix; asking is a caller error) and equal sizes need equal roots and an empty proof.
    """
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    if size1 == 0:
        raise BadData(Reason.BAD_TREE_SIZE, "consistency from the empty tree proves nothing")
    if size1 > size2:
        raise BadData(Reason.BAD_TREE_SIZE, f"size1 {size1} > size2 {size2}")
    if size1 == size2:
        if proof:
            raise BadData(Reason.BAD_PROOF, "equal sizes need an empty proof")
        if root1 != root2:
            raise BadData(Reason.ROOT_MISMATCH, "equal sizes but different roots")
        return
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    if not proof:
        raise BadData(Reason.BAD_PROOF, "empty consistency proof")
    if len(proof) > limits.MAX_PROOF_NODES:
        raise BadData(Reason.TOO_LARGE, f"proof has {len(proof)} nodes")
    for p in proof:
        _check_hash(p, "proof node")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise BadData(Reason.BAD_PROOF, "consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise BadData(Reason.BAD_PROOF, "consistency proof is too short")
    if fr != root1:
        raise BadData(Reason.ROOT_MISMATCH, "proof does not lead to root1", calculated=fr)
    if sr != root2:
        raise BadData(Reason.ROOT_MISMATCH, "proof does not lead to root2", calculated=sr)


def root_from_multiproof(size: int, leaves: Mapping[int, bytes], proof: Sequence[bytes]) -> bytes:
    """The root that a multiproof for `leaves` (index -> leaf hash) leads to.

    Every proof node must be used exactly once; anything else is BAD_PROOF.
    """
    _check_size(size, "tree size")
    if size == 0:
        raise BadData(Reason.BAD_TREE_SIZE, "no leaf can be in an empty tree")
    wanted = _sorted_unique(leaves, size)
    if len(proof) > limits.MAX_MULTIPROOF_NODES:
        raise BadData(Reason.TOO_LARGE, f"multiproof has {len(proof)} nodes")
    size_ok = limits.HASH_SIZE
    if any(len(h) != size_ok for h in leaves.values()) or any(len(p) != size_ok for p in proof):
        raise BadData(Reason.BAD_HASH_LENGTH, f"leaf hashes and proof nodes are {size_ok} bytes")
    nodes = iter(proof)
    sha = _sha256

    # The hot loop of evidence verification: hashing inlined, split by bit arithmetic.
    def walk(a: int, b: int, lo: int, hi: int) -> bytes:
        if a == b:
            node = next(nodes, None)
            if node is None:
                raise BadData(Reason.BAD_PROOF, "multiproof is too short")
            return node
        n = hi - lo
        if b - a == n:
            # Every leaf of this subtree is disclosed: hash it level by level, no recursion.
            return root_from_leaf_hashes(list(map(leaves.__getitem__, range(lo, hi))))
        mid = lo + (1 << ((n - 1).bit_length() - 1))
        c = bisect_left(wanted, mid, a, b)
        return sha(b"\x01" + walk(a, c, lo, mid) + walk(c, b, mid, hi)).digest()

    root = walk(0, len(wanted), 0, size)
    if next(nodes, None) is not None:
        raise BadData(Reason.BAD_PROOF, "multiproof has unused nodes")
    return root


def verify_multiproof(
    size: int, leaves: Mapping[int, bytes], proof: Sequence[bytes], root: bytes
) -> None:
    """Raise BadData unless every leaf in `leaves` is in the tree of `size` with `root`."""
    _check_hash(root, "root")
    calculated = root_from_multiproof(size, leaves, proof)
    if calculated != root:
        raise BadData(
            Reason.ROOT_MISMATCH,
            "multiproof leads to another root",
            expected=root,
            calculated=calculated,
        )
