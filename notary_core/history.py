"""An owner's proof that the list of their vehicle's log entries is complete (§7.3, §14).

The collector answers an owner with a signed checkpoint, the index leaf at its last
position, the vehicle's head under the index root, and the vehicle's entries newest first,
each with its inclusion proof. `verify_history` checks all of it: the checkpoint by the
pinned log key, the index leaf and the head, then every entry walked back from the head
along its vehicle link, so a list that hides one entry (a READ buried under requests, an
EXPORT rewritten) does not verify. Pure: the caller fetches the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notary_core import checkpoint, heads, merkle, witness
from notary_core.errors import BadData, Reason
from notary_core.logleaf import AccessEvent, IndexLeaf


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    leaf: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class History:
    """A verified history: the checkpoint it is complete up to, and the entries newest first."""

    size: int
    count: int
    entries: tuple[tuple[int, AccessEvent], ...]


def verify_history(
    note: bytes,
    log_vkey: str,
    origin: str,
    vehicle_id: str,
    index_leaf: bytes,
    index_proof: Sequence[bytes],
    head_value: bytes,
    head_siblings: Sequence[bytes],
    entries: Sequence[Entry],
    *,
    witnesses: Sequence[str] = (),
    quorum: int | None = None,
) -> History:
    """Raise BadData (BAD_CHECKPOINT, NOT_IN_LOG, INDEX_MISMATCH, BAD_PROOF, ENTRY_OMITTED)
    unless `entries` are all of the vehicle's entries up to the checkpoint, newest first.

    With `witnesses` pinned (signed-note verifier keys), `quorum` of them (None: all) must
    have cosigned the checkpoint (§7.2, §14)."""
    try:
        cp = checkpoint.open_checkpoint(note, [checkpoint.NoteVerifier.from_vkey(log_vkey)], origin)
        if witnesses:
            pinned = [witness.WitnessVerifier.from_vkey(v) for v in sorted(set(witnesses))]
            witness.require_quorum(note, pinned, len(pinned) if quorum is None else quorum)
    except BadData as exc:
        raise BadData(Reason.BAD_CHECKPOINT, f"{exc.reason}: {exc.message}") from None
    try:
        leaf = IndexLeaf.from_leaf(index_leaf)
    except BadData as exc:
        raise BadData(Reason.INDEX_MISMATCH, f"the index leaf: {exc.message}") from None
    if cp.size < 1 or leaf.covered != cp.size - 1:
        raise BadData(Reason.INDEX_MISMATCH, "the index leaf is not the checkpoint's last leaf")
    _included(cp, index_leaf, cp.size - 1, index_proof, "the index leaf")
    heads.verify_head(leaf.root, heads.vehicle_key(vehicle_id), head_value, tuple(head_siblings))
    try:
        head = heads.VehicleHead.parse(head_value).entries
    except BadData as exc:
        raise BadData(Reason.INDEX_MISMATCH, f"the vehicle's head: {exc.message}") from None
    if len(entries) != head.count:
        raise BadData(
            Reason.ENTRY_OMITTED,
            f"the index proves {head.count} entries, the list holds {len(entries)}",
        )
    want_index, want_hash = head.last_index, head.last_hash
    out: list[tuple[int, AccessEvent]] = []
    for n, e in zip(range(head.count - 1, -1, -1), entries, strict=True):
        if e.index != want_index or heads.leaf_hash(e.leaf) != want_hash:
            raise BadData(Reason.ENTRY_OMITTED, f"entry {n} of the vehicle is not the one named")
        try:
            event = AccessEvent.from_leaf(e.leaf)
        except BadData as exc:
            raise BadData(
                Reason.ENTRY_OMITTED, f"log entry {e.index} is not an access event: {exc.message}"
            ) from None
        link = event.vehicle_link
        if event.vehicle_id != vehicle_id or link is None or link.n != n:
            raise BadData(
                Reason.ENTRY_OMITTED, f"log entry {e.index} is not entry {n} of the vehicle"
            )
        _included(cp, e.leaf, e.index, e.proof, f"log entry {e.index}")
        out.append((e.index, event))
        want_index, want_hash = link.prev_index, link.prev_hash
    return History(cp.size, head.count, tuple(out))


def _included(
    cp: checkpoint.Checkpoint, leaf: bytes, index: int, proof: Sequence[bytes], what: str
) -> None:
    try:
        merkle.verify_inclusion(merkle.hash_leaf(leaf), index, cp.size, list(proof), cp.root)
    except BadData as exc:
        raise BadData(Reason.NOT_IN_LOG, f"{what} is not in the log: {exc.message}") from None
