"""The index of heads (docs/protocol.md §7.3) against oracles written from the spec text.

`smt.SparseTree` (incremental, lazily rehashed) must give `smt.reference_root` (the
definition, naively) for any set in any insertion order; every inclusion and absence proof
verifies and any altered key, value, sibling or root fails. `heads.Index` over random
logs (devices and vehicles interleaved, batches out of order and repeated, rule and
non-rule actions) must give the heads a straightforward model of §7.3 gives, and refuse a
leaf whose link does not fit and an index leaf that states a wrong root or size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notary_core import heads, logleaf, smt
from notary_core.errors import BadData, Reason
from notary_core.logleaf import AccessAction, AccessEvent, RegistryAction, RegistryEvent

hashes = st.binary(min_size=32, max_size=32)
key_sets = st.dictionaries(hashes, hashes, max_size=40)


def _sha(x: bytes) -> bytes:
    return hashlib.sha256(x).digest()


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[(bit // 8) % len(out)] ^= 0x80 >> (bit % 8)
    return bytes(out)


# ---- the sparse Merkle tree ----------------------------------------------------------------


@given(key_sets, st.randoms(use_true_random=False), st.lists(hashes, max_size=5))
def test_incremental_root_is_the_reference_in_any_order(
    items: dict[bytes, bytes], rnd: object, updates: list[bytes]
) -> None:
    order = list(items.items())
    rnd.shuffle(order)  # type: ignore[attr-defined]
    tree = smt.SparseTree()
    for i, (k, v) in enumerate(order):
        tree.set(k, v)
        if i % 3 == 0:  # roots read midway must not spoil later ones (lazy rehash)
            assert tree.root() == smt.reference_root(dict(order[: i + 1]))
    assert len(tree) == len(items)
    assert tree.root() == smt.reference_root(items)
    want = dict(items)
    for k, v in zip(list(items), updates, strict=False):  # a value replaced in place
        tree.set(k, v)
        want[k] = v
    assert tree.root() == smt.reference_root(want) and len(tree) == len(items)
    for k, v in want.items():
        assert tree.get(k) == v


def test_reference_root_by_hand() -> None:
    """Two keys that differ at bit 0, and two that share bit 0 and differ at bit 1."""
    a, b = bytes(32), b"\x80" + bytes(31)
    c = b"\x40" + bytes(31)
    va, vb, vc = _sha(b"a"), _sha(b"b"), _sha(b"c")
    assert smt.reference_root({}) == bytes(32)
    assert smt.reference_root({a: va}) == _sha(b"\x00" + a + va)
    two = _sha(b"\x01" + _sha(b"\x00" + a + va) + _sha(b"\x00" + b + vb))
    assert smt.reference_root({a: va, b: vb}) == two == smt.SparseTree([(b, vb), (a, va)]).root()
    # a and c share bit 0 (= 0), so they hang under the left child, split at bit 1
    left = _sha(b"\x01" + _sha(b"\x00" + a + va) + _sha(b"\x00" + c + vc))
    assert smt.SparseTree([(c, vc), (a, va)]).root() == _sha(b"\x01" + left + bytes(32))


@given(key_sets.filter(bool), st.data())
def test_every_inclusion_proof_verifies_and_any_change_fails(
    items: dict[bytes, bytes], data: st.DataObject
) -> None:
    tree = smt.SparseTree(items.items())
    root = tree.root()
    for k, v in items.items():
        p = tree.prove(k)
        assert p.value == v and p.other is None
        smt.verify_inclusion(root, k, v, p.siblings)
    k = data.draw(st.sampled_from(sorted(items)))
    v, sib = items[k], tree.prove(k).siblings
    bit = data.draw(st.integers(0, 255))
    bad = [
        (_flip(k, bit), v, sib, root),
        (k, _flip(v, bit), sib, root),
        (k, v, sib, _flip(root, bit)),
        (k, v, (*sib, bytes(32)), root),
    ]
    if sib:
        j = data.draw(st.integers(0, len(sib) - 1))
        bad.append((k, v, (*sib[:j], _flip(sib[j], bit), *sib[j + 1 :]), root))
        bad.append((k, v, sib[1:], root))
    for bk, bv, bs, br in bad:
        with pytest.raises(BadData) as err:
            smt.verify_inclusion(br, bk, bv, bs)
        assert err.value.reason is Reason.BAD_PROOF


@given(key_sets, st.lists(hashes, min_size=1, max_size=8), st.data())
def test_every_absence_proof_verifies_and_any_change_fails(
    items: dict[bytes, bytes], absent: list[bytes], data: st.DataObject
) -> None:
    tree = smt.SparseTree(items.items())
    root = tree.root()
    for k in absent:
        if k in items:
            continue
        p = tree.prove(k)
        assert p.value is None
        smt.verify_absence(root, k, p.other, p.siblings)
        bit = data.draw(st.integers(0, 255))
        bad: list[tuple[bytes, tuple[bytes, bytes] | None, tuple[bytes, ...]]] = []
        if p.other is not None:
            k2, v2 = p.other
            bad += [(k, (k2, _flip(v2, bit)), p.siblings), (k, None, p.siblings)]
        else:
            bad.append((k, (k, _sha(b"x")), p.siblings))  # the key itself as "another" leaf
        if p.siblings:
            bad.append((k, p.other, (_flip(p.siblings[0], bit), *p.siblings[1:])))
        for bk, bo, bs in bad:
            with pytest.raises(BadData) as err:
                smt.verify_absence(root, bk, bo, bs)
            assert err.value.reason is Reason.BAD_PROOF
    for k, v in items.items():  # a present key can never be shown absent
        p = tree.prove(k)
        with pytest.raises(BadData):
            smt.verify_absence(root, k, (k, v), p.siblings)
        with pytest.raises(BadData):
            smt.verify_absence(root, k, None, p.siblings)


def test_proof_nodes_of_the_wrong_length_and_too_many() -> None:
    tree = smt.SparseTree([(_sha(bytes([i])), _sha(b"v")) for i in range(8)])
    k = _sha(bytes([3]))
    sib = tree.prove(k).siblings
    with pytest.raises(BadData) as err:
        smt.verify_inclusion(tree.root(), k, _sha(b"v"), (*sib[:-1], sib[-1][:31]))
    assert err.value.reason is Reason.BAD_HASH_LENGTH
    with pytest.raises(BadData) as err:
        smt.verify_inclusion(tree.root(), k, _sha(b"v"), (bytes(32),) * 257)
    assert err.value.reason is Reason.BAD_PROOF
    with pytest.raises(BadData) as err:
        tree.set(b"short", _sha(b"v"))
    assert err.value.reason is Reason.BAD_HASH_LENGTH


# ---- heads.Index over random logs ----------------------------------------------------------

DEVICES = ("dev-a", "dev-b", "dev-c")
VEHICLES = ("vin-1", "vin-2")
NON_RULE = (AccessAction.READ, AccessAction.EXPORT, AccessAction.REQUEST, AccessAction.DENY,
            AccessAction.REFUSED)  # fmt: skip
RULE = (AccessAction.OWNER_BOUND, AccessAction.GRANT, AccessAction.REVOKE)

op = st.one_of(
    st.tuples(st.just("batch"), st.sampled_from(DEVICES), st.integers(0, 6), st.integers(0, 2)),
    st.tuples(st.just("registry"), st.sampled_from(DEVICES), st.sampled_from(RegistryAction)),
    st.tuples(st.just("install"), st.sampled_from(VEHICLES), st.sampled_from(DEVICES)),
    st.tuples(st.just("rule"), st.sampled_from(VEHICLES), st.sampled_from(RULE)),
    st.tuples(st.just("other"), st.sampled_from(VEHICLES), st.sampled_from(NON_RULE)),
    st.tuples(st.just("index")),
)
logs = st.lists(op, max_size=40)


@dataclass
class Model:
    """§7.3 read literally: chains as lists of (log index, leaf), the newest batch per device."""

    batches: dict[str, tuple[int, bytes, int]] = field(default_factory=dict)
    device_chains: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    vehicle_chains: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    rule_chains: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)

    @staticmethod
    def link(chain: list[tuple[int, bytes]]) -> logleaf.Link:
        if not chain:
            return logleaf.Link(0)
        i, leaf = chain[-1]
        return logleaf.Link(len(chain), i, _sha(b"\x00" + leaf))

    @staticmethod
    def head(chain: list[tuple[int, bytes]]) -> list[object]:
        if not chain:
            return [0, None, None]
        i, leaf = chain[-1]
        return [len(chain), i, _sha(b"\x00" + leaf)]

    def root(self) -> bytes:
        from notary_core import cbor

        values: dict[bytes, bytes] = {}
        for d in set(self.batches) | set(self.device_chains):
            seq, h, i = self.batches.get(d, (None, None, None))  # type: ignore[arg-type]
            value = cbor.dumps([seq, h, i, *self.head(self.device_chains.get(d, []))])
            values[_sha(b"\x01" + d.encode())] = _sha(value)
        for v in set(self.vehicle_chains):
            value = cbor.dumps([*self.head(self.vehicle_chains[v]),
                                *self.head(self.rule_chains.get(v, []))])  # fmt: skip
            values[_sha(b"\x02" + v.encode())] = _sha(value)
        return smt.reference_root(values)


def build_log(ops: list[tuple[object, ...]]) -> tuple[list[bytes], Model]:
    """Leaves written with the links the model gives (not the code under test)."""
    m = Model()
    leaves: list[bytes] = []
    for o in ops:
        i = len(leaves)
        kind = o[0]
        if kind == "batch":
            _, d, seq, salt = o
            h = _sha(f"{d}/{seq}/{salt}".encode())
            leaf = logleaf.BatchLeaf(h, seq, d).to_leaf()  # type: ignore[arg-type]
            if d not in m.batches or seq > m.batches[d][0]:  # type: ignore[operator]
                m.batches[d] = (seq, h, i)  # type: ignore[index,assignment]
        elif kind == "registry":
            _, d, action = o
            chain = m.device_chains.setdefault(d, [])  # type: ignore[arg-type]
            leaf = RegistryEvent(action, d, b"spki", b"kid", 0, None, i,  # type: ignore[arg-type]
                                 m.link(chain)).to_leaf()  # fmt: skip
            chain.append((i, leaf))
        elif kind == "index":
            leaf = logleaf.IndexLeaf(i, m.root()).to_leaf()
        else:
            _, v, what = o
            action = AccessAction.DEVICE_INSTALLED if kind == "install" else what
            subject = str(what) if kind == "install" else "g-1"
            vc = m.vehicle_chains.setdefault(v, [])  # type: ignore[arg-type]
            rc = m.rule_chains.setdefault(v, [])  # type: ignore[arg-type]
            rule = kind in ("install", "rule")
            dc = m.device_chains.setdefault(subject, []) if kind == "install" else None
            e = AccessEvent(action, v, "actor", subject, 0, 10, i, "",  # type: ignore[arg-type]
                            m.link(vc), m.link(rc) if rule else None,
                            None if dc is None else m.link(dc))  # fmt: skip
            leaf = e.to_leaf()
            vc.append((i, leaf))
            if rule:
                rc.append((i, leaf))
            if dc is not None:
                dc.append((i, leaf))
        leaves.append(leaf)
    return leaves, m


def apply_all(leaves: list[bytes]) -> heads.Index:
    idx = heads.Index()
    for i, leaf in enumerate(leaves):
        idx.apply(i, leaf)
    return idx


@given(logs)
def test_index_gives_the_heads_the_spec_says(ops: list[tuple[object, ...]]) -> None:
    leaves, m = build_log(ops)
    idx = apply_all(leaves)  # every index leaf in the log states the model's root
    assert idx.size == len(leaves)
    assert idx.root() == m.root()
    for d in DEVICES:
        got = idx.device(d)
        seq, h, i = m.batches.get(d, (None, None, None))  # type: ignore[arg-type]
        assert (got.batch_seq, got.header_hash, got.batch_index) == (seq, h, i)
        assert got.chain.fields() == m.head(m.device_chains.get(d, []))
    for v in VEHICLES:
        got_v = idx.vehicle(v)
        assert got_v.entries.fields() == m.head(m.vehicle_chains.get(v, []))
        assert got_v.rules.fields() == m.head(m.rule_chains.get(v, []))
    root = idx.root()
    for key in [heads.device_key(d) for d in idx.devices] + [
        heads.vehicle_key(v) for v in idx.vehicles
    ]:
        value, siblings = idx.prove(key)
        heads.verify_head(root, key, value, siblings)
    # `linked` (what a collector appends next) gives the model's links
    for d in DEVICES:
        e = idx.linked(RegistryEvent(RegistryAction.ENROL, d, b"s", b"k", 0, None, 0))
        assert isinstance(e, RegistryEvent)
        assert e.link == m.link(m.device_chains.get(d, []))


def _linked_positions(leaves: list[bytes]) -> list[int]:
    return [i for i, x in enumerate(leaves) if x[0] in (0x02, 0x03)]


@given(logs.filter(lambda ops: any(o[0] in ("registry", "install", "rule", "other") for o in ops)),
       st.data())  # fmt: skip
def test_a_leaf_with_a_wrong_link_is_refused(
    ops: list[tuple[object, ...]], data: st.DataObject
) -> None:
    leaves, _ = build_log(ops)
    pos = data.draw(st.sampled_from(_linked_positions(leaves)))
    e = logleaf.parse_leaf(leaves[pos])
    assert isinstance(e, RegistryEvent | AccessEvent)
    kinds = (
        ("link",) if isinstance(e, RegistryEvent) else ("vehicle_link", "rule_link", "device_link")
    )
    names = [n for n in kinds if getattr(e, n) is not None]
    name = data.draw(st.sampled_from(names))
    link: logleaf.Link = getattr(e, name)
    how = data.draw(st.sampled_from(["n+1", "n-1", "index", "hash"]))
    if how == "n+1":
        bad = logleaf.Link(link.n + 1, link.prev_index if link.n else pos - 1 if pos else 0,
                           link.prev_hash or bytes(32))  # fmt: skip
    elif how == "n-1" and link.n > 0:
        bad = logleaf.Link(0) if link.n == 1 else replace(link, n=link.n - 1)
    elif how == "index" and link.n > 0:
        assert link.prev_index is not None
        bad = replace(link, prev_index=link.prev_index + 1)
    elif link.n > 0:
        assert link.prev_hash is not None
        bad = replace(link, prev_hash=_flip(link.prev_hash, data.draw(st.integers(0, 255))))
    else:
        bad = logleaf.Link(1, 0, bytes(32))  # a first entry claiming a predecessor
    edited = list(leaves)
    edited[pos] = replace(e, **{name: bad}).to_leaf()  # type: ignore[arg-type]
    idx = heads.Index()
    for i in range(pos):
        idx.apply(i, edited[i])
    with pytest.raises(BadData) as err:
        idx.apply(pos, edited[pos])
    assert err.value.reason is Reason.INDEX_MISMATCH


@given(logs, st.integers(0, 255), st.booleans())
def test_an_index_leaf_stating_a_wrong_root_or_size_is_refused(
    ops: list[tuple[object, ...]], bit: int, wrong_size: bool
) -> None:
    leaves, m = build_log(ops)
    n = len(leaves)
    root = m.root()
    bad = logleaf.IndexLeaf(n + 1 if wrong_size else n, root if wrong_size else _flip(root, bit))
    idx = apply_all(leaves)
    assert idx.index_leaf() == logleaf.IndexLeaf(n, root).to_leaf()
    with pytest.raises(BadData) as err:
        idx.apply(n, bad.to_leaf())
    assert err.value.reason is Reason.INDEX_MISMATCH
    idx.apply(n, idx.index_leaf())  # the right one is accepted at the same place


def test_leaves_out_of_place_and_version_1_leaves() -> None:
    idx = heads.Index()
    with pytest.raises(BadData) as err:
        idx.apply(1, logleaf.batch_leaf(bytes(32)))
    assert err.value.reason is Reason.BAD_INDEX
    before = idx.root()
    idx.apply(0, logleaf.batch_leaf(bytes(32)))  # a version-1 leaf changes nothing
    v1 = AccessEvent(AccessAction.GRANT, "vin-1", "a", "g", 0, 1, 0).to_leaf()
    idx.apply(1, v1)
    assert idx.root() == before and idx.size == 2
    with pytest.raises(BadData) as err:
        idx.prove(heads.device_key("nobody"))
    assert err.value.reason is Reason.INDEX_MISMATCH
