"""notary_core.anchoring, what the round trips leave open: each refusal by its reason and
message, the uint64 words read in full, and every branch of append_only by its answer."""

from __future__ import annotations

import hashlib

import pytest

from notary_core import anchoring, merkle
from notary_core.anchoring import V1, V2, ChainView, Event, Head, Undecided
from notary_core.errors import BadData, Reason

ROOT = hashlib.sha256(b"root").digest()
OTHER = hashlib.sha256(b"other").digest()
TOPIC1 = hashlib.sha256(b"topic").digest()


def word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def refused(call: object, *args: object) -> BadData:
    with pytest.raises(BadData) as exc:
        call(*args)  # type: ignore[operator]
    return exc.value


def test_the_uint64_words_are_read_big_endian_in_all_eight_bytes() -> None:
    n = 0x0102030405060708
    e = anchoring.decode_event(
        V2, [anchoring.ANCHORED_V2_TOPIC, ROOT], word(n) + word(2**64 - 1) + OTHER
    )
    assert e == Event(n, ROOT, 2**64 - 1, OTHER)
    e = anchoring.decode_event(V1, [anchoring.ANCHORED_V1_TOPIC, ROOT], word(n) + OTHER)
    assert e == Event(n, ROOT, None, OTHER)
    assert anchoring.decode_head(word(n) + ROOT) == Head(n, ROOT)


def test_a_word_over_uint64_is_named_by_its_field() -> None:
    big = word(2**64)
    t1, t2 = [anchoring.ANCHORED_V1_TOPIC, ROOT], [anchoring.ANCHORED_V2_TOPIC, ROOT]
    cases = [
        (anchoring.decode_event, (V1, t1, big + OTHER), "size"),
        (anchoring.decode_event, (V2, t2, big + word(1) + OTHER), "size"),
        (anchoring.decode_event, (V2, t2, word(1) + big + OTHER), "prevSize"),
        (anchoring.decode_head, (big + ROOT,), "head size"),
    ]
    for call, args, what in cases:
        e = refused(call, *args)
        assert (e.reason, e.message) == (Reason.NON_CANONICAL, f"{what} is not a uint64 word")


def test_each_bad_event_or_head_by_its_words() -> None:
    e = refused(anchoring.decode_event, 3, [anchoring.ANCHORED_V1_TOPIC, ROOT], word(1) + OTHER)
    assert (e.reason, e.message) == (Reason.UNKNOWN_CONTRACT, "no anchor contract version 3")
    e = refused(anchoring.decode_event, V2, [anchoring.ANCHORED_V1_TOPIC, ROOT], bytes(96))
    assert (e.reason, e.message) == (
        Reason.MALFORMED,
        "not an Anchored event of contract version 2",
    )
    e = refused(anchoring.decode_event, V1, [anchoring.ANCHORED_V1_TOPIC, ROOT], bytes(96))
    assert (e.reason, e.message) == (Reason.MALFORMED, "Anchored data is 96 bytes, not 64")
    e = refused(anchoring.decode_event, V2, [anchoring.ANCHORED_V2_TOPIC, ROOT], bytes(64))
    assert (e.reason, e.message) == (Reason.MALFORMED, "Anchored data is 64 bytes, not 96")
    e = refused(anchoring.decode_head, bytes(63))
    assert (e.reason, e.message) == (Reason.MALFORMED, "head() answered 63 bytes, not 64")


def test_unknown_code_is_version_0_with_no_owner() -> None:
    assert anchoring.identify(b"\x60\x80") == anchoring.Contract(0, b"")
    assert anchoring.identify(b"").owner == b""


def test_view_v1_is_a_version_1_view() -> None:
    view = anchoring.view_v1([Event(3, ROOT, None, bytes(32))])
    assert view == ChainView(V1, Head(3, ROOT), ())
    assert anchoring.view_v1([]).version == V1


def _tree(n: int) -> merkle.MerkleTree:
    return merkle.MerkleTree([merkle.hash_leaf(b"%d" % i) for i in range(n)])


def test_append_only_answers_each_case_by_its_words() -> None:
    view = ChainView(V2, Head(7, ROOT))
    assert anchoring.append_only(7, ROOT, view, None) == (
        "the checkpoint is the contract's head (version 2)")  # fmt: skip
    assert anchoring.append_only(8, ROOT, view, None) == Undecided(
        Reason.ANCHOR_MISMATCH, "the contract's head 7 is below 8 (a reorg under way?)"
    )
    assert anchoring.append_only(6, ROOT, view, None) == Undecided(
        Reason.CONSISTENCY_UNPROVEN,
        "a newer head is anchored (size 7): no consistency proof was given")  # fmt: skip
    assert anchoring.append_only(6, ROOT, view, None, "the RPC has no proofs") == Undecided(
        Reason.CONSISTENCY_UNPROVEN, "a newer head is anchored (size 7): the RPC has no proofs"
    )
    e = refused(anchoring.append_only, 7, OTHER, view, None)
    assert (e.reason, e.message) == (
        Reason.SPLIT_VIEW,
        "the contract's head at size 7 is another root",
    )


def test_append_only_with_a_proof_to_a_newer_head() -> None:
    tree = _tree(9)
    old = merkle.root_from_leaf_hashes(tree.levels[0][:4])
    proof = tuple(tree.consistency_proof(4))
    for version in (V1, V2):
        view = ChainView(version, Head(9, tree.root))
        assert anchoring.append_only(4, old, view, proof) == (
            f"consistent with the newer anchored head 9 (version {version})")  # fmt: skip
    view = ChainView(V2, Head(9, tree.root))
    e = refused(anchoring.append_only, 4, OTHER, view, proof)
    assert e.reason == Reason.NOT_APPEND_ONLY
    assert e.message.startswith("the checkpoint is not a prefix of the anchored head 9: ")
    assert len(e.message) > len("the checkpoint is not a prefix of the anchored head 9: ")


def test_append_only_refuses_an_unknown_contract_a_split_and_a_long_proof() -> None:
    for version in (0, 3):
        e = refused(anchoring.append_only, 1, ROOT, ChainView(version, Head(1, ROOT)), None)
        assert (e.reason, e.message) == (
            Reason.UNKNOWN_CONTRACT, "the contract is no vnotary anchor contract")  # fmt: skip
    split = ChainView(V1, Head(9, ROOT), ((5, ROOT, OTHER), (6, OTHER, ROOT)))
    e = refused(anchoring.append_only, 9, ROOT, split, None)
    assert e.reason == Reason.SPLIT_VIEW
    assert e.message == f"two roots anchored for size 5: {ROOT.hex()} and {OTHER.hex()}"
    assert e.fields == {"size": 5, "root": ROOT, "other": OTHER}
    view = ChainView(V2, Head(2**40, ROOT))
    long = (bytes(32),) * (anchoring.limits.MAX_PROOF_NODES + 1)
    e = refused(anchoring.append_only, 1, ROOT, view, long)
    assert (e.reason, e.message) == (
        Reason.TOO_LARGE, f"consistency proof of {len(long)} nodes")  # fmt: skip
    at_limit = (bytes(32),) * anchoring.limits.MAX_PROOF_NODES
    assert refused(anchoring.append_only, 1, ROOT, view, at_limit).reason == Reason.NOT_APPEND_ONLY
