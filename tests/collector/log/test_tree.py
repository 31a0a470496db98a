"""Log arithmetic over stored complete subtrees agrees with notary_core.merkle everywhere."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.log import tree as tlog
from collector.log.leaves import LeafType, RegistryAction, RegistryEvent, batch_leaf
from notary_core import merkle
from notary_core.errors import BadData


def _log(n: int) -> tuple[tlog.Frontier, dict[tlog.Node, bytes], list[bytes]]:
    frontier, nodes, leaves = tlog.Frontier(), {}, []
    for i in range(n):
        h = merkle.hash_leaf(i.to_bytes(4, "big"))
        leaves.append(h)
        for level, idx, value in frontier.append(h):
            nodes[(level, idx)] = value
    return frontier, nodes, leaves


def test_roots_and_proofs_match_the_core_for_every_small_size() -> None:
    frontier, nodes, leaves = _log(70)
    for size in range(1, 71):
        tree = merkle.MerkleTree(leaves[:size])
        want = tlog.Frontier.nodes_for(size)
        assert tlog.fold([nodes[n] for n in want]) == tree.root
        for index in range(size):
            proof = tlog.resolve(tlog.inclusion_plan(index, size), nodes)
            assert proof == tree.inclusion_proof(index)
            merkle.verify_inclusion(leaves[index], index, size, proof, tree.root)
        for size1 in range(1, size + 1):
            proof = tlog.resolve(tlog.consistency_plan(size1, size), nodes)
            assert proof == tree.consistency_proof(size1)
    assert frontier.root == merkle.MerkleTree(leaves).root


@given(st.integers(1, 5000), st.data())
def test_proof_plans_need_only_stored_nodes(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    size1 = data.draw(st.integers(1, size))
    stored = {(lvl, i) for lvl in range(14) for i in range(size >> lvl)}
    assert tlog.plan_nodes(tlog.inclusion_plan(index, size)) <= stored
    assert tlog.plan_nodes(tlog.consistency_plan(size1, size)) <= stored


def test_bad_requests_are_bad_data() -> None:
    with pytest.raises(BadData):
        tlog.inclusion_plan(5, 5)
    with pytest.raises(BadData):
        tlog.consistency_plan(0, 5)
    with pytest.raises(BadData):
        tlog.consistency_plan(6, 5)


def test_leaves_are_typed_and_round_trip() -> None:
    h = hashlib.sha256(b"header").digest()
    assert batch_leaf(h) == b"\x01" + h
    event = RegistryEvent(RegistryAction.ENROL, "veh-1", b"spki", b"k" * 16, 1, None, 2)
    leaf = event.to_leaf()
    assert leaf[0] == LeafType.REGISTRY_EVENT
    assert RegistryEvent.from_leaf(leaf) == event
    with pytest.raises(BadData):
        RegistryEvent.from_leaf(batch_leaf(h))
    with pytest.raises(BadData):
        batch_leaf(b"short")


# Leaves written by the collector before the definitions moved to notary_core.logleaf:
# stored logs hold these bytes, so the core must encode and decode them identically.
OLD_LEAVES = {
    "02a80101020203657665682d31044473706b6905506b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b060107f60802": (
        RegistryEvent(RegistryAction.ROTATE, "veh-1", b"spki", b"k" * 16, 1, None, 2)
    ),
    "02a80101020303667665682dc3a904582c302a000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000550000102030405060708090a0b0c0d0e0f061b17979cfe"
    "362a0000071b7fffffffffffffff081b17979cfe362a007b": RegistryEvent(
        RegistryAction.REVOKE,
        "veh-\u00e9",
        b"\x30\x2a" + bytes(42),
        bytes(range(16)),
        1_700_000_000_000_000_000,
        2**63 - 1,
        1_700_000_000_000_000_123,
    ),
}


@pytest.mark.parametrize("leaf_hex", sorted(OLD_LEAVES))
def test_core_leaves_are_byte_identical_to_the_collector_s_old_ones(leaf_hex: str) -> None:
    event = OLD_LEAVES[leaf_hex]
    assert event.to_leaf().hex() == leaf_hex
    assert RegistryEvent.from_leaf(bytes.fromhex(leaf_hex)) == event
    h = hashlib.sha256(b"header").digest()
    assert batch_leaf(h).hex() == "01" + h.hex()
