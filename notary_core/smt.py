"""The sparse Merkle tree of the index of heads (docs/protocol.md §7.3).

Leaves sit at 256-bit key hashes; a subtree holding one leaf is that leaf, so a path is as
long as the bits needed to tell its key apart (~log2 n) and an update rehashes that path
only. The tree of a set of keys is unique: no insertion order, no balancing.

    hash(S, d) = 32 zero bytes                  S empty
               = H(0x00 || k || v)              S = {(k, v)}
               = H(0x01 || hash(S0) || hash(S1)) otherwise, split on bit d of k

`SparseTree` keeps the tree in memory as immutable nodes: an update copies its path, so a
snapshot of any earlier version (a checkpoint's index, still proving what it held then)
costs nothing to keep. `reference_root` is the definition above, written naively, for tests.
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
    __slots__ = ("h", "k", "v", "value")

    def __init__(self, k: bytes, v: bytes, value: bytes) -> None:
        self.k, self.v, self.value = k, v, value
        self.h: bytes = leaf_hash(k, v)


class _Node:
    __slots__ = ("h", "left", "right")

    def __init__(self, left: _Leaf | _Node | None, right: _Leaf | _Node | None) -> None:
        self.left, self.right = left, right
        self.h: bytes = node_hash(
            EMPTY if left is None else left.h, EMPTY if right is None else right.h
        )


_Tree = _Leaf | _Node | None


def _split(a: _Leaf, b: _Leaf, d: int) -> _Node:
    """The smallest subtree at depth d holding two leaves whose keys differ."""
    ba, bb = bit(a.k, d), bit(b.k, d)
    if ba == bb:
        child = _split(a, b, d + 1)
        return _Node(child, None) if ba == 0 else _Node(None, child)
    return _Node(a, b) if ba == 0 else _Node(b, a)


def _insert(root: _Tree, new: _Leaf) -> tuple[_Leaf | _Node, bool]:
    """The tree with `new` set (path copying: no existing node changes); True if it grew.
    Iterative: down the key's path, then one new node per level on the way up."""
    path: list[tuple[_Node, int]] = []
    node, d, k = root, 0, new.k
    while isinstance(node, _Node):
        b = (k[d >> 3] >> (7 - (d & 7))) & 1
        path.append((node, b))
        node = node.right if b else node.left
        d += 1
    grew = True
    if node is None:
        sub: _Leaf | _Node = new
    elif node.k == k:
        sub, grew = new, False
    else:
        sub = _split(node, new, d)
    sha = hashlib.sha256
    for parent, b in reversed(path):
        n = _Node.__new__(_Node)
        if b:
            n.left, n.right = parent.left, sub
            left = EMPTY if parent.left is None else parent.left.h
            n.h = sha(b"\x01" + left + sub.h).digest()
        else:
            n.left, n.right = sub, parent.right
            right = EMPTY if parent.right is None else parent.right.h
            n.h = sha(b"\x01" + sub.h + right).digest()
        sub = n
    return sub, grew


@dataclass(frozen=True, slots=True)
class Proof:
    """Siblings top-down (s_1 first) and what the path ends in: the key's own leaf value
    (inclusion), another leaf (k', v') or nothing (absence)."""

    siblings: tuple[bytes, ...]
    value: bytes | None = None  # the key's value hash, when the key is present
    other: tuple[bytes, bytes] | None = None  # (k', v') of the leaf the path ends in
    value_bytes: bytes = b""  # what the caller stored with the key's value hash


class Snapshot:
    """The tree as it was at one moment: immutable, sharing its nodes with later versions."""

    __slots__ = ("_root", "size")

    def __init__(self, root: _Tree, size: int) -> None:
        self._root, self.size = root, size

    def root(self) -> bytes:
        return EMPTY if self._root is None else self._root.h

    def get(self, k: bytes) -> bytes | None:
        node, d = self._root, 0
        while isinstance(node, _Node):
            node = node.left if bit(k, d) == 0 else node.right
            d += 1
        return node.v if isinstance(node, _Leaf) and node.k == k else None

    def prove(self, k: bytes) -> Proof:
        siblings: list[bytes] = []
        node, d = self._root, 0
        while isinstance(node, _Node):
            left = bit(k, d) == 0
            other = node.right if left else node.left
            siblings.append(EMPTY if other is None else other.h)
            node = node.left if left else node.right
            d += 1
        if isinstance(node, _Leaf):
            if node.k == k:
                return Proof(tuple(siblings), value=node.v, value_bytes=node.value)
            return Proof(tuple(siblings), other=(node.k, node.v))
        return Proof(tuple(siblings))


class SparseTree(Snapshot):
    """The index tree: `set` replaces the root by a new version (path copying, ~log2 n new
    nodes and hashes), so a `snapshot()` taken earlier still proves what it held then."""

    __slots__ = ()

    def __init__(self, items: Iterable[tuple[bytes, bytes]] = ()) -> None:
        super().__init__(None, 0)
        for k, v in items:
            self.set(k, v)

    def __len__(self) -> int:
        return self.size

    def set(self, k: bytes, v: bytes, value: bytes = b"") -> None:
        """Set key hash k to value hash v; `value` (the bytes hashed) is kept for proofs."""
        if len(k) != 32 or len(v) != 32:
            raise BadData(Reason.BAD_HASH_LENGTH, "index keys and values are 32-byte hashes")
        self._root, grew = _insert(self._root, _Leaf(k, v, value))
        self.size += grew

    def snapshot(self) -> Snapshot:
        return Snapshot(self._root, self.size)


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
