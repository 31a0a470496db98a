"""The sparse Merkle tree of the index of heads (docs/protocol.md §7.3).

Leaves sit at 256-bit key hashes; a subtree holding one leaf is that leaf, so a path is as
long as the bits needed to tell its key apart (~log2 n) and an update rehashes that path
only. The tree of a set of keys is unique: no insertion order, no balancing.

    hash(S, d) = 32 zero bytes                  S empty
               = H(0x00 || k || v)              S = {(k, v)}
               = H(0x01 || hash(S0) || hash(S1)) otherwise, split on bit d of k

`SparseTree` keeps the tree in memory and rehashes lazily (only paths touched since the
last `root()`); `reference_root` is the definition above, written naively, for tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from notary_core.errors import BadData, Reason

EMPTY = bytes(32)
KEY_BITS = 256
MAX_SIBLINGS = KEY_BITS


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def key_hash(key: bytes) -> bytes:
    return _h(key)


def leaf_hash(k: bytes, v: bytes) -> bytes:
    return _h(b"\x00" + k + v)


def node_hash(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


def bit(k: bytes, d: int) -> int:
    """Bit d of k, bit 0 being the most significant bit of k[0]."""
    return (k[d >> 3] >> (7 - (d & 7))) & 1


class _Leaf:
    __slots__ = ("h", "k", "v")

    def __init__(self, k: bytes, v: bytes) -> None:
        self.k, self.v = k, v
        self.h: bytes | None = None


class _Node:
    __slots__ = ("h", "kids")

    def __init__(self, left: _Leaf | _Node | None, right: _Leaf | _Node | None) -> None:
        self.kids: list[_Leaf | _Node | None] = [left, right]
        self.h: bytes | None = None


def _hash(n: _Leaf | _Node | None) -> bytes:
    if n is None:
        return EMPTY
    if n.h is None:
        if isinstance(n, _Leaf):
            n.h = leaf_hash(n.k, n.v)
        else:
            n.h = node_hash(_hash(n.kids[0]), _hash(n.kids[1]))
    return n.h


def _split(a: _Leaf, b: _Leaf, d: int) -> _Node:
    """The smallest subtree at depth d holding two leaves whose keys differ."""
    ba, bb = bit(a.k, d), bit(b.k, d)
    if ba == bb:
        child = _split(a, b, d + 1)
        return _Node(child, None) if ba == 0 else _Node(None, child)
    return _Node(a, b) if ba == 0 else _Node(b, a)


@dataclass(frozen=True, slots=True)
class Proof:
    """Siblings top-down (s_1 first) and what the path ends in: the key's own leaf value
    (inclusion), another leaf (k', v') or nothing (absence)."""

    siblings: tuple[bytes, ...]
    value: bytes | None = None  # the key's value hash, when the key is present
    other: tuple[bytes, bytes] | None = None  # (k', v') of the leaf the path ends in


class SparseTree:
    """The index tree in memory: set(key hash, value hash), root(), prove(key hash)."""

    def __init__(self, items: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self._root: _Leaf | _Node | None = None
        self._size = 0
        for k, v in items:
            self.set(k, v)

    def __len__(self) -> int:
        return self._size

    def set(self, k: bytes, v: bytes) -> None:
        if len(k) != 32 or len(v) != 32:
            raise BadData(Reason.BAD_HASH_LENGTH, "index keys and values are 32-byte hashes")
        new = _Leaf(k, v)
        parent: _Node | None = None
        side = 0
        node = self._root
        d = 0
        while isinstance(node, _Node):
            node.h = None
            parent, side = node, bit(k, d)
            node = node.kids[side]
            d += 1
        if isinstance(node, _Leaf) and node.k == k:
            node.v, node.h = v, None
            return
        replacement: _Leaf | _Node = new if node is None else _split(node, new, d)
        self._size += 1
        if parent is None:
            self._root = replacement
        else:
            parent.kids[side] = replacement

    def get(self, k: bytes) -> bytes | None:
        node = self._root
        d = 0
        while isinstance(node, _Node):
            node = node.kids[bit(k, d)]
            d += 1
        return node.v if isinstance(node, _Leaf) and node.k == k else None

    def root(self) -> bytes:
        return _hash(self._root)

    def prove(self, k: bytes) -> Proof:
        siblings: list[bytes] = []
        node = self._root
        d = 0
        while isinstance(node, _Node):
            b = bit(k, d)
            siblings.append(_hash(node.kids[1 - b]))
            node = node.kids[b]
            d += 1
        if isinstance(node, _Leaf):
            if node.k == k:
                return Proof(tuple(siblings), value=node.v)
            return Proof(tuple(siblings), other=(node.k, node.v))
        return Proof(tuple(siblings))


def _fold(k: bytes, h: bytes, siblings: Sequence[bytes]) -> bytes:
    if len(siblings) > MAX_SIBLINGS:
        raise BadData(Reason.BAD_PROOF, f"an index proof has at most {MAX_SIBLINGS} siblings")
    for j in range(len(siblings), 0, -1):
        s = siblings[j - 1]
        if len(s) != 32:
            raise BadData(Reason.BAD_HASH_LENGTH, "index proof nodes are 32 bytes")
        h = node_hash(h, s) if bit(k, j - 1) == 0 else node_hash(s, h)
    return h


def verify_inclusion(root: bytes, k: bytes, v: bytes, siblings: Sequence[bytes]) -> None:
    """The leaf (k, v) is in the tree of `root` (§7.3 inclusion proof)."""
    if len(k) != 32 or len(v) != 32:
        raise BadData(Reason.BAD_HASH_LENGTH, "index keys and values are 32-byte hashes")
    if _fold(k, leaf_hash(k, v), siblings) != root:
        raise BadData(Reason.BAD_PROOF, "the index proof does not lead to the index root")


def verify_absence(
    root: bytes, k: bytes, other: tuple[bytes, bytes] | None, siblings: Sequence[bytes]
) -> None:
    """No leaf has key hash k in the tree of `root` (§7.3 absence proof)."""
    if other is None:
        start = EMPTY
    else:
        k2, v2 = other
        if len(k2) != 32 or len(v2) != 32:
            raise BadData(Reason.BAD_HASH_LENGTH, "index keys and values are 32-byte hashes")
        m = len(siblings)
        if k2 == k or any(bit(k, d) != bit(k2, d) for d in range(min(m, KEY_BITS))):
            raise BadData(Reason.BAD_PROOF, "the other leaf does not share the key's path")
        start = leaf_hash(k2, v2)
    if _fold(k, start, siblings) != root:
        raise BadData(Reason.BAD_PROOF, "the absence proof does not lead to the index root")


def reference_root(items: Mapping[bytes, bytes]) -> bytes:
    """The definition of §7.3, naively (recursive split of the sorted set): the oracle."""

    def go(keys: list[bytes], d: int) -> bytes:
        if not keys:
            return EMPTY
        if len(keys) == 1:
            return leaf_hash(keys[0], items[keys[0]])
        left = [k for k in keys if bit(k, d) == 0]
        right = [k for k in keys if bit(k, d) == 1]
        return node_hash(go(left, d + 1), go(right, d + 1))

    return go(sorted(items), 0)
