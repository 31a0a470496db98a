"""The anchor contracts as a verifier sees them (docs/protocol.md §7.4, §12.1).

Which contract a deployed code is, the bytes of its `Anchored` events and of its `head()`
answer, and whether a checkpoint sits on the contract's one chain of anchored heads. Pure:
the chain's bytes and a consistency proof are passed in (verifier.chain_rpc fetches them).

Version 1 (`contracts/Anchor.vy`) only emits events, so two roots for one size can both be
anchored there: a verifier reads every event and refuses such a split view. Version 2
(`contracts/AnchorV2.vy`) keeps its head and refuses an anchor that does not extend it, so
its events form one chain by construction; the verifier only reads the head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from notary_core import limits, merkle
from notary_core.errors import BadData, Reason

V1, V2 = 1, 2

# keccak256 of the event and function signatures (topic 0, selectors): constants, so the
# core needs no Keccak; tests/core/test_anchoring.py recomputes them with eth_utils.
ANCHORED_V1_TOPIC = bytes.fromhex(  # Anchored(bytes32,uint64,bytes32)
    "bea4d11b910aad40d2df2a90d97a3329219b6389f85777c99daad7eb5fafd439"
)
ANCHORED_V2_TOPIC = bytes.fromhex(  # Anchored(bytes32,uint64,uint64,bytes32)
    "7cd1aecde99af6811cf75335397526e9c32ca8eed27035d2eee23d41062d837d"
)
HEAD_SELECTOR = bytes.fromhex("8f7dcfa3")  # head()
TOPICS = {V1: ANCHORED_V1_TOPIC, V2: ANCHORED_V2_TOPIC}

# Each version's runtime code as compiled into contracts/*.json (vyper 0.4.3, shanghai):
# (length, SHA-256). The deployed code is that runtime followed by the 32-byte immutable
# OWNER (a left-padded address). Tests check these against the committed artifacts.
RUNTIMES = {
    V1: (270, "fee2dd57fa2913a1655db03d1271a4fb4b7766b564c578d5bf0097ee8537af7e"),
    V2: (647, "7aa276d543ab903272e78045ebaac305dce278d15f75112261523f885dfca7bc"),
}
_WORD = 32


@dataclass(frozen=True, slots=True)
class Contract:
    version: int  # V1, V2, or 0: not a vnotary anchor contract
    owner: bytes  # the 20-byte address allowed to anchor (empty when unknown)


def identify(code: bytes) -> Contract:
    """Which anchor contract `code` (eth_getCode) is, and its owner."""
    for version, (size, digest) in RUNTIMES.items():
        if len(code) == size + _WORD and hashlib.sha256(code[:size]).hexdigest() == digest:
            tail = code[size:]
            if tail[:12] == bytes(12):
                return Contract(version, tail[12:])
    return Contract(0, b"")


@dataclass(frozen=True, slots=True)
class Head:
    """An anchored (tree size, root); (0, zero root) is the head before the first anchor."""

    size: int
    root: bytes


GENESIS = Head(0, bytes(32))


@dataclass(frozen=True, slots=True)
class Event:
    """One `Anchored` event. `prev_size` is None on version 1 (its event has no such field)."""

    size: int
    root: bytes
    prev_size: int | None
    prev_root: bytes


def _u64(word: bytes, what: str) -> int:
    """An ABI-encoded uint64 (one 32-byte word, left-padded with zeros)."""
    if word[:24] != bytes(24):
        raise BadData(Reason.NON_CANONICAL, f"{what} is not a uint64 word")
    return int.from_bytes(word[24:], "big")


def decode_event(version: int, topics: Sequence[bytes], data: bytes) -> Event:
    """The event of a log with `topics` and `data` from a contract of `version`."""
    if version not in TOPICS:
        raise BadData(Reason.UNKNOWN_CONTRACT, f"no anchor contract version {version}")
    words = 3 if version == V1 else 4
    if len(topics) != 2 or topics[0] != TOPICS[version] or len(topics[1]) != _WORD:
        raise BadData(Reason.MALFORMED, f"not an Anchored event of contract version {version}")
    if len(data) != (words - 1) * _WORD:
        raise BadData(
            Reason.MALFORMED, f"Anchored data is {len(data)} bytes, not {(words - 1) * 32}"
        )
    w = [data[i : i + _WORD] for i in range(0, len(data), _WORD)]
    if version == V1:
        return Event(_u64(w[0], "size"), topics[1], None, w[1])
    return Event(_u64(w[0], "size"), topics[1], _u64(w[1], "prevSize"), w[2])


def decode_head(data: bytes) -> Head:
    """The answer of version 2's `head() -> (uint64, bytes32)`."""
    if len(data) != 2 * _WORD:
        raise BadData(Reason.MALFORMED, f"head() answered {len(data)} bytes, not 64")
    return Head(_u64(data[:_WORD], "head size"), data[_WORD:])


@dataclass(frozen=True, slots=True)
class ChainView:
    """What the chain says about a contract's anchors, as the verifier read it."""

    version: int
    head: Head  # the newest anchored head (version 1: the largest anchored size)
    splits: tuple[tuple[int, bytes, bytes], ...] = ()  # (size, root, other root)


def view_v1(events: Iterable[Event]) -> ChainView:
    """Every event of a version-1 contract, in chain order: its newest head and its splits."""
    roots: dict[int, bytes] = {}
    splits: list[tuple[int, bytes, bytes]] = []
    head = GENESIS
    for e in events:
        first = roots.setdefault(e.size, e.root)
        if first != e.root:
            splits.append((e.size, first, e.root))
        if e.size > head.size:
            head = Head(e.size, e.root)
    return ChainView(V1, head, tuple(splits))


@dataclass(frozen=True, slots=True)
class Undecided:
    reason: Reason
    detail: str


def append_only(
    size: int, root: bytes, view: ChainView, proof: Sequence[bytes] | None, no_proof: str = ""
) -> str | Undecided:
    """§12.1 anchor.append_only: the checkpoint (size, root) is on the contract's one chain
    of heads. Returns the detail of a pass or Undecided (no proof to a newer head); raises
    BadData: UNKNOWN_CONTRACT, SPLIT_VIEW, NOT_APPEND_ONLY."""
    if view.version not in TOPICS:
        raise BadData(Reason.UNKNOWN_CONTRACT, "the contract is no vnotary anchor contract")
    if view.splits:
        s, a, b = view.splits[0]
        raise BadData(
            Reason.SPLIT_VIEW,
            f"two roots anchored for size {s}: {a.hex()} and {b.hex()}",
            size=s, root=a, other=b,
        )  # fmt: skip
    head = view.head
    if head.size < size:
        why = f"the contract's head {head.size} is below {size} (a reorg under way?)"
        return Undecided(Reason.ANCHOR_MISMATCH, why)
    if head.size == size:
        if head.root != root:
            raise BadData(Reason.SPLIT_VIEW, f"the contract's head at size {size} is another root")
        return f"the checkpoint is the contract's head (version {view.version})"
    if proof is None:
        why = no_proof or "no consistency proof was given"
        return Undecided(
            Reason.CONSISTENCY_UNPROVEN, f"a newer head is anchored (size {head.size}): {why}"
        )
    if len(proof) > limits.MAX_PROOF_NODES:
        raise BadData(Reason.TOO_LARGE, f"consistency proof of {len(proof)} nodes")
    try:
        merkle.verify_consistency(size, head.size, root, head.root, proof)
    except BadData as exc:
        raise BadData(
            Reason.NOT_APPEND_ONLY,
            f"the checkpoint is not a prefix of the anchored head {head.size}: {exc.message}",
        ) from None
    return f"consistent with the newer anchored head {head.size} (version {view.version})"
