"""What a monitor concludes from one new head of a log. Pure: heads and proofs are passed in.

A *head* is a (size, root) some source vouches for, with the bytes that prove it: for the
collector, a checkpoint signed by the pinned log key and cosigned by a quorum of pinned
witnesses (`authenticate`); for the anchor contract (a second source, not built yet), an
Anchored(size, root, prevSize, prevRoot) event at finality. Whatever the source, `judge`
compares the head with the last one the monitor verified, using an RFC 9162 consistency
proof (§2.1.4) between the two sizes:

    same size, same root        SAME        nothing new
    same size, other root       FORK        two signed roots for one size: conclusive
    larger, proof verifies      ADVANCED    the new head becomes the verified one
    smaller, proof verifies     STALE       an older head, consistent: not an alarm
    any size, proof fails       REWRITE     the log shows a history that does not extend
                                            the one it showed before
    the log cannot give a proof REWRITE     it no longer holds the tree it signed (rolled
                                            back, truncated)

A source or proof that does not answer decides nothing (UNDECIDED, in the shell).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from notary_core import merkle
from notary_core.checkpoint import Checkpoint, NoteVerifier, open_checkpoint
from notary_core.errors import BadData
from notary_core.witness import WitnessVerifier, require_quorum


class Verdict(StrEnum):
    SAME = "SAME"
    ADVANCED = "ADVANCED"
    STALE = "STALE"
    FORK = "FORK"
    REWRITE = "REWRITE"
    UNDECIDED = "UNDECIDED"

    @property
    def alarm(self) -> bool:
        return self in (Verdict.FORK, Verdict.REWRITE)


@dataclass(frozen=True)
class Head:
    source: str  # who showed it: "collector <url>", later "contract <chain>/<address>"
    origin: str
    size: int
    root: bytes
    evidence: bytes  # what vouches for it: the signed, cosigned checkpoint note
    cosigners: tuple[str, ...] = ()


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    message: str
    proof: tuple[bytes, ...] | None = None  # the proof the judgement rests on, as served


def authenticate(
    note: bytes, log_keys: Sequence[NoteVerifier], witnesses: Sequence[WitnessVerifier],
    quorum: int, source: str, origin: str | None = None,
) -> Head:  # fmt: skip
    """A collector's checkpoint as a Head: signed by a pinned log key (and of the origin
    followed so far), cosigned by `quorum` distinct pinned witnesses. Raises BadData."""
    cp: Checkpoint = open_checkpoint(note, log_keys, origin=origin)
    cosigners = require_quorum(note, witnesses, quorum) if quorum else ()
    return Head(source, cp.origin, cp.size, cp.root, note, tuple(c.name for c in cosigners))


def proof_sizes(last: Head | None, new: Head) -> tuple[int, int] | None:
    """The consistency proof `judge` needs (size1 < size2), or None."""
    if last is None or last.size == new.size:
        return None
    return (min(last.size, new.size), max(last.size, new.size))


def judge(last: Head | None, new: Head, proof: Sequence[bytes] | None) -> Judgement:
    if last is None:
        return Judgement(Verdict.ADVANCED, f"first head: size {new.size}")
    if new.size == last.size:
        if new.root == last.root:
            return Judgement(Verdict.SAME, f"still size {new.size}")
        return Judgement(Verdict.FORK, f"two roots signed for size {new.size}")
    if proof is None:
        small, big = sorted((new.size, last.size))
        gone = f"the log cannot prove that size {big} extends size {small}, both signed by it"
        return Judgement(Verdict.REWRITE, gone + ": it no longer holds the tree it signed")
    older, newer = (last, new) if last.size < new.size else (new, last)
    try:
        merkle.verify_consistency(older.size, newer.size, older.root, newer.root, proof)
    except BadData as exc:
        return Judgement(Verdict.REWRITE, f"size {newer.size} does not extend size {older.size}: "
                         f"{exc.message}", tuple(proof))  # fmt: skip
    if new.size > last.size:
        return Judgement(Verdict.ADVANCED, f"size {last.size} -> {new.size}, consistent",
                         tuple(proof))  # fmt: skip
    return Judgement(Verdict.STALE, f"an older head (size {new.size}), consistent with "
                     f"size {last.size}", tuple(proof))  # fmt: skip
