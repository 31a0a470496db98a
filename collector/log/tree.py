"""RFC 9162 log arithmetic over stored complete subtrees (pure: no storage, no clock).

The log stores every *complete* subtree hash: node (level, index) is the root of leaves
[index * 2**level, (index + 1) * 2**level). Appending leaf n writes (0, n) and one parent
per trailing 1-bit of n, using the right edge ("frontier") kept in memory. Any MTH(D[lo:hi])
that a proof needs is a fold of at most log2(n) stored nodes, so a proof on a log of 10**6
entries reads ~40 nodes by key instead of rebuilding the tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from notary_core import merkle
from notary_core.errors import BadData, Reason

Node = tuple[int, int]  # (level, index)
Plan = list[list[Node]]  # one proof element = fold of these stored nodes (left to right)


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(lo: int, hi: int) -> list[Node]:
    """The stored nodes whose fold is MTH(D[lo:hi]); lo must be aligned as RFC splits are."""
    out: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo & ((1 << level) - 1):
            raise ValueError(f"range [{lo}, {hi}) is not an RFC 9162 subtree")
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees, largest first: combine right to left."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = merkle.hash_children(h, acc)
    return acc


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]) as stored-node folds, leaf upwards."""
    if not 0 <= index < size:
        raise BadData(Reason.BAD_INDEX, f"leaf index {index} not in 0..{size - 1}")
    out: Plan = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append(perfect_nodes(lo + k, hi))
            hi = lo + k
        else:
            out.append(perfect_nodes(lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_plan(size1: int, size2: int) -> Plan:
    """RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]) as stored-node folds."""
    if not 0 < size1 <= size2:
        raise BadData(Reason.BAD_TREE_SIZE, f"consistency needs 0 < {size1} <= {size2}")
    if size1 == size2:
        return []
    out: Plan = []
    m, lo, hi, whole = size1, 0, size2, True
    while True:
        n = hi - lo
        if m == n:
            if not whole:
                out.append(perfect_nodes(lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append(perfect_nodes(lo + k, hi))
            hi = lo + k
        else:
            out.append(perfect_nodes(lo, lo + k))
            m, lo, whole = m - k, lo + k, False
    out.reverse()
    return out


def plan_nodes(plan: Plan) -> set[Node]:
    return {node for step in plan for node in step}


def resolve(plan: Plan, nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [fold([nodes[n] for n in step]) for step in plan]


@dataclass
class Frontier:
    """The right edge of the log: the roots of its perfect subtrees, largest first."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    @classmethod
    def nodes_for(cls, size: int) -> list[Node]:
        return perfect_nodes(0, size)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return the new stored nodes (level, index, hash)."""
        index = self.size
        new = [(0, index, leaf_hash)]
        h, level, i = leaf_hash, 0, index
        while i & 1:
            h = merkle.hash_children(self.hashes.pop(), h)
            level, i = level + 1, i >> 1
            new.append((level, i, h))
        self.hashes.append(h)
        self.size += 1
        return new

    @property
    def root(self) -> bytes:
        return fold(self.hashes) if self.hashes else merkle.EMPTY_ROOT
