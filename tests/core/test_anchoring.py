"""notary_core.anchoring: the contract constants match the compiled artifacts and their
Keccak, the event codec is strict, and append_only holds every consistency proof to it."""

from __future__ import annotations

import hashlib

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.log.anchor_evm import load_artifact
from notary_core import anchoring, merkle
from notary_core.errors import BadData, Reason

OWNER = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")


def _runtime(name: str) -> bytes:
    """The committed artifact's runtime code (wherever the artifacts are kept)."""
    return bytes.fromhex(load_artifact(name)["deployedBytecode"].removeprefix("0x"))


def test_constants_are_the_keccak_of_the_signatures() -> None:
    assert keccak(text="Anchored(bytes32,uint64,bytes32)") == anchoring.ANCHORED_V1_TOPIC
    assert keccak(text="Anchored(bytes32,uint64,uint64,bytes32)") == anchoring.ANCHORED_V2_TOPIC
    assert keccak(text="head()")[:4] == anchoring.HEAD_SELECTOR


def test_identify_knows_the_committed_artifacts_and_nothing_else() -> None:
    for version, name in ((1, "Anchor"), (2, "AnchorV2")):
        code = _runtime(name) + bytes(12) + OWNER  # as deployed: runtime, then OWNER
        assert anchoring.identify(code) == anchoring.Contract(version, OWNER)
        assert anchoring.identify(code[:-1]).version == 0
        assert anchoring.identify(code + b"\x00").version == 0
        assert anchoring.identify(bytes([1]) + code[1:]).version == 0
        assert anchoring.identify(_runtime(name) + bytes([1]) * 32).version == 0  # not an address
    assert anchoring.identify(_runtime("AnchorV2Proof") + bytes(12) + OWNER).version == 0
    assert anchoring.identify(b"").version == 0


def test_view_v1_finds_every_split_and_the_largest_head() -> None:
    r = [hashlib.sha256(bytes([i])).digest() for i in range(4)]
    e = anchoring.Event
    events = [e(5, r[0], None, bytes(32)), e(9, r[1], None, r[0]), e(7, r[2], None, r[1]),
              e(5, r[0], None, r[1])]  # fmt: skip
    view = anchoring.view_v1(events)
    assert view.head == anchoring.Head(9, r[1]) and view.splits == ()  # a re-sent root is fine
    view = anchoring.view_v1([*events, anchoring.Event(7, r[3], None, r[2])])
    assert view.splits == ((7, r[2], r[3]),)
    assert anchoring.view_v1([]).head == anchoring.GENESIS


def _leaves(n: int) -> list[bytes]:
    return [merkle.hash_leaf(b"%d" % i) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.data())
def test_append_only_passes_every_true_proof_and_no_flipped_one(
    m: int, extra: int, data: st.DataObject
) -> None:
    tree = merkle.MerkleTree(_leaves(m + extra))
    old = merkle.root_from_leaf_hashes(tree.levels[0][:m])
    proof = tuple(tree.consistency_proof(m))
    view = anchoring.ChainView(anchoring.V2, anchoring.Head(tree.size, tree.root))
    assert isinstance(anchoring.append_only(m, old, view, proof), str)
    i = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    bad = bytearray(proof[i])
    bad[bit // 8] ^= 0x80 >> (bit % 8)
    with pytest.raises(BadData) as err:
        anchoring.append_only(m, old, view, (*proof[:i], bytes(bad), *proof[i + 1 :]))
    assert err.value.reason == Reason.NOT_APPEND_ONLY
    with pytest.raises(BadData) as err:
        anchoring.append_only(m, hashlib.sha256(old).digest(), view, proof)  # another history
    assert err.value.reason == Reason.NOT_APPEND_ONLY


def test_append_only_bounds_the_proof() -> None:
    view = anchoring.ChainView(anchoring.V2, anchoring.Head(10, bytes(32)))
    with pytest.raises(BadData) as err:
        anchoring.append_only(5, bytes(32), view, (bytes(32),) * 65)
    assert err.value.reason == Reason.TOO_LARGE
