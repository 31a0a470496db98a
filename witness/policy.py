"""What a witness decides about an add-checkpoint request (C2SP tlog-witness). Pure.

`authenticate` runs before the state is read (origin known, log signature, sizes);
`advance` runs inside the state's compare-and-swap transaction, against the latest
checkpoint cosigned for that origin. Each refusal carries the HTTP status the spec assigns:

    404 unknown origin            403 no valid signature by a pinned log key
    400 malformed, old > size     409 old size is not the witness's (body: its size), or
    422 the consistency proof         same size with another root
        does not verify
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from notary_core import merkle
from notary_core.checkpoint import Checkpoint, NoteVerifier, open_checkpoint, split_note
from notary_core.errors import BadData, NotaryError, Reason
from notary_core.witness import AddCheckpoint


@dataclass(frozen=True, slots=True)
class Head:
    """The latest checkpoint a witness cosigned for one log."""

    size: int
    root: bytes


EMPTY = Head(0, merkle.EMPTY_ROOT)  # the state of a log never cosigned


class Refusal(NotaryError):
    """The witness does not cosign; `status` is the HTTP status tlog-witness assigns."""

    def __init__(self, status: int, reason: Reason, message: str, size: int | None = None) -> None:
        super().__init__(reason, message)
        self.status = status
        self.size = size  # for 409: the size of the latest checkpoint the witness cosigned


def authenticate(
    body: bytes, logs: Mapping[str, Sequence[NoteVerifier]]
) -> tuple[AddCheckpoint, Checkpoint]:
    """Parse the request and check the checkpoint's signature by a key pinned for its origin."""
    try:
        req = AddCheckpoint.parse(body)
        text, _ = split_note(req.note)
        origin = Checkpoint.parse_body(text).origin
    except BadData as exc:
        raise Refusal(400, exc.reason, exc.message) from None
    keys = logs.get(origin)
    if keys is None:
        raise Refusal(404, Reason.ORIGIN_MISMATCH, f"this witness does not know {origin!r}")
    try:
        cp = open_checkpoint(req.note, keys, origin=origin)
    except BadData as exc:
        detail = f"not signed by a key pinned for {origin}: {exc.message}"
        raise Refusal(403, exc.reason, detail) from None
    if req.old_size > cp.size:
        raise Refusal(400, Reason.BAD_TREE_SIZE, f"old size {req.old_size} > size {cp.size}")
    return req, cp


def advance(state: Head, req: AddCheckpoint, cp: Checkpoint) -> Head:
    """The new head if `cp` extends `state`, else a Refusal. Never two roots for one size:
    the old size must be the cosigned size (compare-and-swap), and from it the proof must
    lead from the cosigned root to the new one."""
    if req.old_size != state.size:
        raise Refusal(
            409, Reason.STALE_SIZE,
            f"old size {req.old_size}, but the latest cosigned is {state.size}", state.size,
        )  # fmt: skip
    if cp.size == state.size:
        if cp.root != state.root:
            raise Refusal(409, Reason.FORK, f"another root for size {cp.size}", state.size)
        return state
    if state.size == 0:
        return Head(cp.size, cp.root)  # a log's first checkpoint: nothing to be consistent with
    try:
        merkle.verify_consistency(state.size, cp.size, state.root, cp.root, req.proof)
    except BadData as exc:
        raise Refusal(
            422, Reason.REWRITE, f"not consistent with size {state.size}: {exc.message}"
        ) from None
    return Head(cp.size, cp.root)
