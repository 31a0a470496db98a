"""An owner's history (docs/protocol.md §14) checked by `notary_core.history.verify_history`.

The honest histories come from the factory log of tests/core/bundle_v2_factory.py (every
event linked into its chains by heads.Index, an index leaf before each checkpoint). The
dishonest ones are what a collector holding the log key could sign: an index leaf whose
head names another vehicle's entry, a version-1 entry, a link at the wrong position, a
list short of an entry, an entry out of order, a proof at another size. Each must be
refused with the reason §14 names, and the words that say which entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pytest

from notary_core import checkpoint, heads, logleaf, merkle, smt
from notary_core.errors import BadData, Reason
from notary_core.history import Entry, History, verify_history
from notary_core.logleaf import AccessAction, AccessEvent, IndexLeaf, Link
from tests.core.bundle_factory import ORIGIN, SEC, T0, VEHICLE
from tests.core.bundle_v2_factory import World2, bind_owner, enrol, install

OTHER = "vin-OTHER0000000001"


@dataclass(frozen=True)
class Args:
    """verify_history's inputs, as a client assembles them from the pages it fetched."""

    note: bytes
    log_vkey: str
    origin: str
    vehicle: str
    index_leaf: bytes
    index_proof: tuple[bytes, ...]
    head_value: bytes
    head_siblings: tuple[bytes, ...]
    entries: tuple[Entry, ...]

    def verify(self, **trust: object) -> History:
        return verify_history(
            self.note, self.log_vkey, self.origin, self.vehicle, self.index_leaf,
            list(self.index_proof), self.head_value, list(self.head_siblings),
            list(self.entries), **trust,  # type: ignore[arg-type]
        )  # fmt: skip


def access(w: World2, action: AccessAction, vehicle: str = VEHICLE, subject: str = "g-1") -> int:
    return w.log.event(AccessEvent(action, vehicle, "actor", subject, T0, T0 + SEC, T0, "can0"))


@dataclass
class Honest:
    w: World2
    old: Args  # the history at the first checkpoint
    new: Args  # and at the second
    tree: merkle.MerkleTree  # the log at the second checkpoint


def _walk(leaves: list[bytes], index: int | None) -> list[int]:
    """The vehicle chain from `index` back to its first entry (newest first)."""
    out = []
    while index is not None:
        out.append(index)
        link = AccessEvent.from_leaf(leaves[index]).vehicle_link
        assert link is not None
        index = link.prev_index
    return out


def _args(w: World2, note: bytes, tree: merkle.MerkleTree, vehicle: str = VEHICLE) -> Args:
    size = tree.size
    idx = w.log.index
    value, siblings = idx.prove(heads.vehicle_key(vehicle), idx.snapshots[size - 1])
    head = heads.VehicleHead.parse(value).entries
    entries = tuple(
        Entry(i, w.log.leaves[i], tuple(tree.inclusion_proof(i)))
        for i in _walk(w.log.leaves, head.last_index)
    )
    return Args(note, w.log_key.verifier.vkey, ORIGIN, vehicle, w.log.leaves[size - 1],
                tuple(tree.inclusion_proof(size - 1)), value, siblings, entries)  # fmt: skip


def honest() -> Honest:
    """Two vehicles' entries interleaved, a checkpoint, more of each, a second checkpoint."""
    w = World2()
    enrol(w)
    install(w)  # the vehicle's entry 0
    bind_owner(w)
    install(w, OTHER)
    access(w, AccessAction.REQUEST)
    access(w, AccessAction.READ, OTHER)
    access(w, AccessAction.READ)
    note1, tree1 = w.log.checkpoint(w.log_key)
    access(w, AccessAction.REQUEST, OTHER)
    access(w, AccessAction.EXPORT)
    access(w, AccessAction.REQUEST)
    access(w, AccessAction.READ)
    note2, tree2 = w.log.checkpoint(w.log_key)
    return Honest(w, _args(w, note1, tree1), _args(w, note2, tree2), tree2)


@pytest.fixture(scope="module")
def h() -> Honest:
    return honest()


def refused(a: Args, reason: Reason, message: str | None = None, **trust: object) -> str:
    with pytest.raises(BadData) as err:
        a.verify(**trust)
    assert err.value.reason is reason, err.value
    if message is not None:
        assert err.value.message == message
    # a wrapped failure carries the inner one in its message, not as a chained exception
    assert err.value.__context__ is None or err.value.__suppress_context__
    return err.value.message


# ---- a valid history -------------------------------------------------------------------------


def test_a_valid_history_verifies_and_lists_every_entry_newest_first(h: Honest) -> None:
    got = h.new.verify()
    assert isinstance(got, History)
    assert got.size == h.tree.size == 13  # 11 leaves + 2 index leaves
    assert got.count == 7
    assert [i for i, _ in got.entries] == [11, 10, 9, 6, 4, 2, 1]
    assert [e.index for e in h.new.entries] == [11, 10, 9, 6, 4, 2, 1]
    for (i, event), entry in zip(got.entries, h.new.entries, strict=True):
        assert i == entry.index
        assert event == AccessEvent.from_leaf(entry.leaf)
        assert event.vehicle_id == VEHICLE
    assert got.entries[0][1].action is AccessAction.READ
    assert got.entries[-1][1].action is AccessAction.DEVICE_INSTALLED
    old = h.old.verify()  # the first checkpoint's history is complete up to its own size
    assert (old.size, old.count) == (8, 4)
    assert [i for i, _ in old.entries] == [6, 4, 2, 1]
    other = _args(h.w, h.new.note, h.tree, OTHER).verify()
    assert (other.count, [i for i, _ in other.entries]) == (3, [8, 5, 3])


def test_the_trust_defaults_check_no_witness(h: Honest) -> None:
    assert h.new.verify(witnesses=(), quorum=None) == h.new.verify()
    assert h.new.verify(witnesses=[], quorum=5).count == 7  # a quorum without witnesses


# ---- the checkpoint ------------------------------------------------------------------------------


def test_a_checkpoint_under_another_key_or_origin_or_signature_is_refused(h: Honest) -> None:
    stranger = checkpoint.NoteSigner(ORIGIN.split("/")[0], h.w.owner)
    refused(replace(h.new, log_vkey=stranger.verifier.vkey), Reason.BAD_CHECKPOINT,
            "UNKNOWN_KEY: no signature by a known key")  # fmt: skip
    refused(replace(h.new, origin=ORIGIN + "2"), Reason.BAD_CHECKPOINT,
            f"ORIGIN_MISMATCH: origin {ORIGIN!r}, expected {ORIGIN + '2'!r}")  # fmt: skip
    body, sig = h.new.note.split(b"\n\n")
    forged = body.replace(b"\n13\n", b"\n14\n") + b"\n\n" + sig
    refused(replace(h.new, note=forged), Reason.BAD_CHECKPOINT,
            "BAD_SIGNATURE: note signature by collector.example does not verify")  # fmt: skip
    refused(replace(h.new, log_vkey="not a key"), Reason.BAD_CHECKPOINT)


def _witnesses(w: World2) -> list[str]:
    return [x.verifier.vkey for x in w.witnesses]


def test_a_pinned_witness_quorum_must_have_cosigned(h: Honest) -> None:
    pinned = _witnesses(h.w)
    two = replace(h.new, note=h.w.cosign(h.new.note, (0, 1)))
    assert two.verify(witnesses=pinned, quorum=2).count == 7  # exactly the quorum
    assert two.verify(witnesses=pinned, quorum=1).count == 7
    assert two.verify(witnesses=pinned[:2]).count == 7  # None: all of those pinned
    assert two.verify(witnesses=[*pinned[:2], *pinned[:2]]).count == 7  # each counts once
    msg = refused(two, Reason.BAD_CHECKPOINT, witnesses=pinned, quorum=3)
    assert msg.startswith("QUORUM_NOT_MET: 2 of the 3 pinned witnesses required cosigned (")
    msg = refused(two, Reason.BAD_CHECKPOINT, witnesses=pinned)  # None: all three
    assert msg.startswith("QUORUM_NOT_MET: 2 of the 3 ")
    one = replace(h.new, note=h.w.cosign(h.new.note, (2,)))
    refused(one, Reason.BAD_CHECKPOINT, "QUORUM_NOT_MET: 1 of the 2 pinned witnesses required "
            "cosigned (witness.example/w3)", witnesses=pinned, quorum=2)  # fmt: skip
    refused(h.new, Reason.BAD_CHECKPOINT, "QUORUM_NOT_MET: 0 of the 1 pinned witnesses required "
            "cosigned (none)", witnesses=pinned, quorum=1)  # fmt: skip
    # a cosignature by a pinned witness that does not verify (over another body)
    other = h.w.witnesses[0].cosign(h.old.note[: h.old.note.index(b"\n\n") + 1], 1)
    bad = replace(h.new, note=h.new.note + other.encode())
    msg = refused(bad, Reason.BAD_CHECKPOINT, witnesses=pinned, quorum=1)
    assert msg.startswith("BAD_SIGNATURE: ")
    refused(two, Reason.BAD_CHECKPOINT, witnesses=["not a witness key"], quorum=1)


# ---- the index leaf and the vehicle's head ---------------------------------------------------


def _sign(w: World2, leaves: list[bytes]) -> tuple[bytes, merkle.MerkleTree]:
    tree = merkle.MerkleTree([merkle.hash_leaf(x) for x in leaves])
    cp = checkpoint.Checkpoint(ORIGIN, tree.size, tree.root)
    return checkpoint.sign_checkpoint(cp, [w.log_key]), tree


def forged(
    w: World2, leaves: list[bytes], head: heads.ChainHead, entries: list[int],
    covered: int | None = None, vehicle: str = VEHICLE,
) -> Args:  # fmt: skip
    """What a collector holding the log key could sign: `leaves`, then an index leaf whose
    root holds only `vehicle` with `head` (covering `covered`, by default all of them)."""
    value = heads.VehicleHead(head).value()
    key = smt.key_hash(heads.vehicle_key(vehicle))
    index = smt.SparseTree()
    index.set(key, hashlib.sha256(value).digest(), value)
    il = IndexLeaf(len(leaves) if covered is None else covered, index.root()).to_leaf()
    all_leaves = [*leaves, il]
    note, tree = _sign(w, all_leaves)
    return Args(
        note, w.log_key.verifier.vkey, ORIGIN, vehicle, il,
        tuple(tree.inclusion_proof(len(leaves))), value, index.prove(key).siblings,
        tuple(Entry(i, all_leaves[i], tuple(tree.inclusion_proof(i))) for i in entries),
    )  # fmt: skip


def test_an_index_leaf_that_is_not_the_last_leaf_is_refused(h: Honest) -> None:
    leaves = h.w.log.leaves[:12]
    head = h.w.log.index.vehicle(VEHICLE).entries
    chain = [11, 10, 9, 6, 4, 2, 1]
    assert forged(h.w, leaves, head, chain).verify().count == 7  # the forger's baseline
    for covered in (11, 13, 0):  # one short, one past, the first
        a = forged(h.w, leaves, head, chain, covered=covered)
        refused(a, Reason.INDEX_MISMATCH, "the index leaf is not the checkpoint's last leaf")
    # the previous checkpoint's index leaf (included, at 7 of 13)
    a = replace(h.new, index_leaf=h.old.index_leaf, index_proof=tuple(h.tree.inclusion_proof(7)))
    refused(a, Reason.INDEX_MISMATCH, "the index leaf is not the checkpoint's last leaf")
    refused(replace(h.new, index_leaf=h.w.log.leaves[11]), Reason.INDEX_MISMATCH,
            "the index leaf: not an index leaf")  # fmt: skip
    refused(replace(h.new, index_leaf=b""), Reason.INDEX_MISMATCH,
            "the index leaf: not an index leaf")  # fmt: skip


def test_a_checkpoint_of_size_1_holds_only_its_index_leaf(h: Honest) -> None:
    """The least checkpoint with an index leaf: size 1, covering nothing, an empty chain."""
    a = forged(h.w, [], heads.ChainHead(), [])
    assert a.verify() == History(1, 0, ())
    empty = checkpoint.sign_checkpoint(checkpoint.Checkpoint(ORIGIN, 0, merkle.MerkleTree([]).root),
                                       [h.w.log_key])  # fmt: skip
    refused(replace(a, note=empty, index_proof=()), Reason.INDEX_MISMATCH,
            "the index leaf is not the checkpoint's last leaf")  # fmt: skip


def test_an_index_leaf_not_in_the_log_is_refused(h: Honest) -> None:
    proof = list(h.new.index_proof)
    proof[0] = bytes(32)
    refused(replace(h.new, index_proof=tuple(proof)), Reason.NOT_IN_LOG,
            "the index leaf is not in the log: inclusion proof leads to another root")  # fmt: skip
    wrong_size = h.old.index_proof  # the first index leaf's proof, at 7 of 8
    msg = refused(replace(h.new, index_proof=wrong_size), Reason.NOT_IN_LOG)
    assert msg.startswith("the index leaf is not in the log: ")
    # the index leaf of the second checkpoint stated as if it covered the first (size 8)
    a = replace(h.new, note=h.old.note)
    refused(a, Reason.INDEX_MISMATCH, "the index leaf is not the checkpoint's last leaf")


def test_a_head_not_under_the_index_root_is_refused(h: Honest) -> None:
    msg = "the index proof does not lead to the index root"
    refused(replace(h.new, vehicle=OTHER), Reason.BAD_PROOF, msg)  # another vehicle's head
    refused(replace(h.new, head_value=h.old.head_value), Reason.BAD_PROOF, msg)  # an old head
    sib = list(h.new.head_siblings)
    sib[-1] = bytes(32)
    refused(replace(h.new, head_siblings=tuple(sib)), Reason.BAD_PROOF, msg)
    refused(replace(h.new, head_siblings=h.new.head_siblings[1:]), Reason.BAD_PROOF, msg)
    # the previous checkpoint's head and proof, under the new index root
    refused(replace(h.new, head_value=h.old.head_value, head_siblings=h.old.head_siblings),
            Reason.BAD_PROOF, msg)  # fmt: skip


def test_a_malformed_head_under_the_root_is_an_index_mismatch(h: Honest) -> None:
    a = forged(h.w, h.w.log.leaves[:12], heads.ChainHead(), [])
    value = b"\x83\x00\xf6\xf6"  # [0, null, null]: three fields, not six
    key = smt.key_hash(heads.vehicle_key(VEHICLE))
    index = smt.SparseTree()
    index.set(key, hashlib.sha256(value).digest(), value)
    il = IndexLeaf(12, index.root()).to_leaf()
    note, tree = _sign(h.w, [*h.w.log.leaves[:12], il])
    b = replace(a, note=note, index_leaf=il, index_proof=tuple(tree.inclusion_proof(12)),
                head_value=value, head_siblings=())  # fmt: skip
    refused(b, Reason.INDEX_MISMATCH, "the vehicle's head: a vehicle head is an array of 6")


# ---- the list of entries ---------------------------------------------------------------------


def test_a_list_short_of_an_entry_or_with_one_more_is_refused(h: Honest) -> None:
    e = h.new.entries
    refused(replace(h.new, entries=e[1:]), Reason.ENTRY_OMITTED,
            "the index proves 7 entries, the list holds 6")  # fmt: skip
    refused(
        replace(h.new, entries=e[:-1]),
        Reason.ENTRY_OMITTED,
        "the index proves 7 entries, the list holds 6",
    )  # the first entry left out
    refused(replace(h.new, entries=(*e, e[-1])), Reason.ENTRY_OMITTED,
            "the index proves 7 entries, the list holds 8")  # fmt: skip
    refused(replace(h.new, entries=()), Reason.ENTRY_OMITTED,
            "the index proves 7 entries, the list holds 0")  # fmt: skip
    # a READ hidden: the one at 6 left out and another vehicle's request in its place
    hidden = (*e[:3], Entry(8, h.w.log.leaves[8], tuple(h.tree.inclusion_proof(8))), *e[4:])
    refused(replace(h.new, entries=hidden), Reason.ENTRY_OMITTED,
            "entry 3 of the vehicle is not the one named")  # fmt: skip


def test_only_the_later_pages_of_a_cursor_are_refused(h: Honest) -> None:
    """Pages of 3: a client that dropped the first page (or the last) has a short list."""
    e = h.new.entries
    pages = [e[0:3], e[3:6], e[6:]]
    assert replace(h.new, entries=tuple(x for p in pages for x in p)).verify().count == 7
    refused(replace(h.new, entries=pages[1] + pages[2]), Reason.ENTRY_OMITTED,
            "the index proves 7 entries, the list holds 4")  # fmt: skip
    refused(replace(h.new, entries=pages[0] + pages[1]), Reason.ENTRY_OMITTED,
            "the index proves 7 entries, the list holds 6")  # fmt: skip
    refused(replace(h.new, entries=pages[1] + pages[0] + pages[2]), Reason.ENTRY_OMITTED,
            "entry 6 of the vehicle is not the one named")  # fmt: skip


def test_an_entry_at_another_index_or_with_other_bytes_is_refused(h: Honest) -> None:
    e = list(h.new.entries)
    for pos, n in ((0, 6), (3, 3), (6, 0)):  # the first named (by the head), one, the last
        x = e[pos]
        for bad in (
            replace(x, index=x.index + 1),  # the leaf named, at another index
            replace(x, index=x.index - 1),
            replace(x, leaf=x.leaf + b"\x00"),  # another leaf at the index named
            replace(x, leaf=e[(pos + 1) % 7].leaf),
        ):
            edited = tuple(bad if i == pos else y for i, y in enumerate(e))
            refused(replace(h.new, entries=edited), Reason.ENTRY_OMITTED,
                    f"entry {n} of the vehicle is not the one named")  # fmt: skip
    swapped = (e[1], e[0], *e[2:])
    refused(replace(h.new, entries=swapped), Reason.ENTRY_OMITTED,
            "entry 6 of the vehicle is not the one named")  # fmt: skip


def test_an_entry_not_in_the_log_at_the_checkpoint_is_refused(h: Honest) -> None:
    e = list(h.new.entries)
    for pos in (0, 3, 6):
        x = e[pos]
        p = list(x.proof)
        p[-1] = bytes(32)
        for bad in (replace(x, proof=tuple(p)), replace(x, proof=x.proof[:-1]),
                    replace(x, proof=(*x.proof, bytes(32)))):  # fmt: skip
            edited = tuple(bad if i == pos else y for i, y in enumerate(e))
            msg = refused(replace(h.new, entries=edited), Reason.NOT_IN_LOG)
            assert msg.startswith(f"log entry {x.index} is not in the log: ")
        # its proof at the first checkpoint's size (8), against the second's root (13)
        at8 = replace(x, proof=tuple(h.tree.inclusion_proof(x.index, 8))) if x.index < 8 else None
        if at8 is not None:
            edited = tuple(at8 if i == pos else y for i, y in enumerate(e))
            msg = refused(replace(h.new, entries=edited), Reason.NOT_IN_LOG)
            assert msg.startswith(f"log entry {x.index} is not in the log: ")
    x = e[0]
    edited = (replace(x, proof=()), *e[1:])
    refused(replace(h.new, entries=edited), Reason.NOT_IN_LOG,
            "log entry 11 is not in the log: inclusion proof is shorter than the path")  # fmt: skip
    # the first checkpoint's pages, presented with the second checkpoint
    mixed = replace(h.new, entries=(*e[:3], *h.old.entries))
    msg = refused(mixed, Reason.NOT_IN_LOG)
    assert msg.startswith("log entry 6 is not in the log: ")


def test_the_exact_message_of_an_entry_not_in_the_log(h: Honest) -> None:
    e = list(h.new.entries)
    x = e[3]
    bad = replace(x, proof=tuple(h.tree.inclusion_proof(x.index, 8)))  # at the first size
    refused(replace(h.new, entries=(*e[:3], bad, *e[4:])), Reason.NOT_IN_LOG,
            "log entry 6 is not in the log: inclusion proof is shorter than the path")  # fmt: skip
    flipped = replace(x, proof=(bytes(32), *x.proof[1:]))
    refused(replace(h.new, entries=(*e[:3], flipped, *e[4:])), Reason.NOT_IN_LOG,
            "log entry 6 is not in the log: inclusion proof leads to another root")  # fmt: skip


def _event(action: AccessAction, vehicle: str, link: Link | None, at: int = T0) -> bytes:
    return AccessEvent(action, vehicle, "actor", "g-9", T0, T0 + SEC, at, "", link).to_leaf()


def test_an_entry_of_another_vehicle_named_by_the_head_is_refused(h: Honest) -> None:
    leaves = h.w.log.leaves[:12]
    other = 8  # OTHER's entry 2
    head = heads.ChainHead(3, other, heads.leaf_hash(leaves[other]))
    a = forged(h.w, leaves, head, [8, 5, 3])
    refused(a, Reason.ENTRY_OMITTED, "log entry 8 is not entry 2 of the vehicle")
    # the same chain is OTHER's own, and verifies as OTHER's
    assert replace(forged(h.w, leaves, head, [8, 5, 3], vehicle=OTHER)).verify().count == 3
    # an entry of another vehicle linked into this vehicle's chain
    mine = heads.ChainHead(1, 1, heads.leaf_hash(leaves[1]))
    stray = _event(AccessAction.READ, OTHER, Link(1, 1, heads.leaf_hash(leaves[1])))
    b = forged(
        h.w,
        [*leaves, stray],
        replace(mine, count=2, last_index=12, last_hash=heads.leaf_hash(stray)),
        [12, 1],
    )
    refused(b, Reason.ENTRY_OMITTED, "log entry 12 is not entry 1 of the vehicle")
    fine = _event(AccessAction.READ, VEHICLE, Link(1, 1, heads.leaf_hash(leaves[1])))
    c = forged(
        h.w,
        [*leaves, fine],
        replace(mine, count=2, last_index=12, last_hash=heads.leaf_hash(fine)),
        [12, 1],
    )
    got = c.verify()
    assert (got.size, got.count, [i for i, _ in got.entries]) == (14, 2, [12, 1])


def test_an_entry_without_a_vehicle_link_is_refused(h: Honest) -> None:
    leaves = h.w.log.leaves[:12]
    v1 = _event(AccessAction.READ, VEHICLE, None)  # a version-1 event
    a = forged(h.w, [*leaves, v1], heads.ChainHead(1, 12, heads.leaf_hash(v1)), [12])
    refused(a, Reason.ENTRY_OMITTED, "log entry 12 is not entry 0 of the vehicle")
    first = _event(AccessAction.READ, VEHICLE, Link(0))
    b = forged(h.w, [*leaves, first], heads.ChainHead(1, 12, heads.leaf_hash(first)), [12])
    assert b.verify().count == 1


def test_an_entry_at_the_wrong_position_of_its_chain_is_refused(h: Honest) -> None:
    leaves = h.w.log.leaves[:12]
    real = h.w.log.index.vehicle(VEHICLE).entries  # 7 entries, the newest at 11 (n = 6)
    chain = [11, 10, 9, 6, 4, 2, 1]
    one_less = forged(h.w, leaves, replace(real, count=6), chain[:6])
    refused(one_less, Reason.ENTRY_OMITTED, "log entry 11 is not entry 5 of the vehicle")
    one_more = forged(h.w, leaves, replace(real, count=8), [*chain, 1])
    refused(one_more, Reason.ENTRY_OMITTED, "log entry 11 is not entry 7 of the vehicle")
    # a chain whose oldest entry claims position 1: the walk reaches n = 0 at it
    second = _event(AccessAction.READ, VEHICLE, Link(1, 1, heads.leaf_hash(leaves[1])))
    a = forged(h.w, [*leaves, second], heads.ChainHead(1, 12, heads.leaf_hash(second)), [12])
    refused(a, Reason.ENTRY_OMITTED, "log entry 12 is not entry 0 of the vehicle")
    # a link n out of place: 12 claims n = 3 after 11 (n = 6)
    skip = _event(AccessAction.READ, VEHICLE, Link(3, 11, heads.leaf_hash(leaves[11])))
    b = forged(h.w, [*leaves, skip], heads.ChainHead(8, 12, heads.leaf_hash(skip)), [12, *chain])
    refused(b, Reason.ENTRY_OMITTED, "log entry 12 is not entry 7 of the vehicle")
    ok = _event(AccessAction.READ, VEHICLE, Link(7, 11, heads.leaf_hash(leaves[11])))
    c = forged(h.w, [*leaves, ok], heads.ChainHead(8, 12, heads.leaf_hash(ok)), [12, *chain])
    assert [i for i, _ in c.verify().entries] == [12, *chain]


def test_a_named_leaf_that_is_not_an_access_event_is_refused(h: Honest) -> None:
    leaves = h.w.log.leaves[:12]
    batch = logleaf.BatchLeaf(bytes(32), 0, "veh-0001").to_leaf()
    a = forged(h.w, [*leaves, batch], heads.ChainHead(1, 12, heads.leaf_hash(batch)), [12])
    refused(a, Reason.ENTRY_OMITTED, "log entry 12 is not an access event: not a access event leaf")
