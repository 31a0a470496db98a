"""The two error families of the project, with stable reason codes.

`BadData`: the input is wrong (forged, corrupted, malformed, oversized, replayed). Retrying
will not help; keep the bytes (quarantine) and report the reason code.
`Unreachable`: a system we depend on did not answer (broker, database, chain node). The
input may be fine; retry later.

Reason codes are part of the protocol (docs/protocol.md §Reason codes): never rename one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Stable, machine-readable reason codes."""

    # Encoding
    MALFORMED = "MALFORMED"
    NON_CANONICAL = "NON_CANONICAL"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    # Hashing and proofs
    BAD_HASH_LENGTH = "BAD_HASH_LENGTH"
    ROOT_MISMATCH = "ROOT_MISMATCH"
    BAD_PROOF = "BAD_PROOF"
    BAD_INDEX = "BAD_INDEX"
    BAD_TREE_SIZE = "BAD_TREE_SIZE"
    # Signatures and keys
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNSUPPORTED_ALGORITHM = "UNSUPPORTED_ALGORITHM"
    KEY_MISMATCH = "KEY_MISMATCH"
    BAD_KEY = "BAD_KEY"
    # Batches and chains
    COUNT_MISMATCH = "COUNT_MISMATCH"
    CHAIN_BROKEN = "CHAIN_BROKEN"
    # Checkpoints
    BAD_CHECKPOINT = "BAD_CHECKPOINT"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    ORIGIN_MISMATCH = "ORIGIN_MISMATCH"
    # Append-only history and witnesses (docs/protocol.md §7.2)
    REWRITE = "REWRITE"  # a tree that does not extend one signed or cosigned before
    STALE_SIZE = "STALE_SIZE"  # add-checkpoint from another size than the witness's latest
    QUORUM_NOT_MET = "QUORUM_NOT_MET"  # fewer pinned witnesses cosigned than the quorum
    # Ingest: a device's history and registration
    REPLAY = "REPLAY"  # the very same batch was already stored
    FORK = "FORK"  # same (device, batch_seq) or same tree size, different header or root
    GAP = "GAP"  # batches missing before this one (reported, not a rejection)
    UNKNOWN_DEVICE = "UNKNOWN_DEVICE"
    REVOKED_KEY = "REVOKED_KEY"  # the key was revoked before the batch was signed
    KEY_NOT_VALID = "KEY_NOT_VALID"  # the batch's time is outside the key's validity period
    TOPIC_MISMATCH = "TOPIC_MISMATCH"  # the topic names another device than the header
    # Evidence bundles
    RECORD_ORDER = "RECORD_ORDER"  # disclosed records out of capture order (swapped, moved)
    NOT_IN_LOG = "NOT_IN_LOG"  # a header or event is not in the log at the checkpoint
    WINDOW_NOT_COVERED = "WINDOW_NOT_COVERED"  # the batches do not cover the asked window
    ANCHOR_MISMATCH = "ANCHOR_MISMATCH"  # the anchor does not carry this checkpoint
    GRANT_INVALID = "GRANT_INVALID"  # malformed, or not signed by whom it must be
    GRANT_EXPIRED = "GRANT_EXPIRED"
    GRANT_REVOKED = "GRANT_REVOKED"
    WRONG_VEHICLE = "WRONG_VEHICLE"
    OUTSIDE_GRANT = "OUTSIDE_GRANT"  # a window, stream or action the grant does not give
    DELEGATION_WIDENS = "DELEGATION_WIDENS"  # a sub-grant broader than its parent
    NOT_OWNER = "NOT_OWNER"  # the granting key did not own the vehicle for that window
    UNTRUSTED = "UNTRUSTED"  # consistent, but tied to no key or chain the verifier trusts
    UNREADABLE = "UNREADABLE"  # not an evidence bundle at all (no magic, truncated, not CBOR)
    RECORD_WITHHELD = "RECORD_WITHHELD"  # (v2) fewer records of a granted item than counted
    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"  # (v2) a disclosed record where the window is not
    ENTRY_OMITTED = "ENTRY_OMITTED"  # (v2) a chain of entries short of its proven head
    WINDOW_OPEN = "WINDOW_OPEN"  # (v2, undecided) the window runs past the device's head
    INDEX_MISMATCH = "INDEX_MISMATCH"  # (v2) index leaf, proof or link not what the leaves give
    TIME_REGRESSION = "TIME_REGRESSION"  # (v2) a batch back-dated before its predecessor
    FUTURE_TIME = "FUTURE_TIME"  # (v2) a batch dated after its arrival plus the tolerance
    INTERNAL_ERROR = "INTERNAL_ERROR"  # the verifier itself failed: no verdict
    # Anchors on chain (docs/protocol.md §7.4)
    UNKNOWN_CONTRACT = "UNKNOWN_CONTRACT"  # the anchor contract's code is no known version
    SPLIT_VIEW = "SPLIT_VIEW"  # two roots anchored for one tree size
    NOT_APPEND_ONLY = "NOT_APPEND_ONLY"  # the checkpoint is not a prefix of a later anchored head
    CONSISTENCY_UNPROVEN = "CONSISTENCY_UNPROVEN"  # a newer head is anchored, no proof to it
    # Systems
    UNREACHABLE = "UNREACHABLE"


class NotaryError(Exception):
    """Base of every error this project raises on purpose."""

    reason: Reason

    def __init__(self, reason: Reason, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.fields: dict[str, Any] = fields

    def __reduce__(self) -> tuple[Any, ...]:
        """Copy and pickle as itself, every attribute kept: the default calls the class
        again with `args`, the message alone, which no subclass's `__init__` takes (a worker
        process that raises BadData must hand it back whole)."""
        return (_uninitialised, (type(self), self.args), self.__dict__)

    def to_dict(self) -> dict[str, Any]:
        """The structured form used in transcripts, quarantine rows and API errors."""
        out: dict[str, Any] = {"reason": str(self.reason), "message": self.message}
        for key, value in self.fields.items():
            out[key] = value.hex() if isinstance(value, bytes | bytearray) else value
        return out

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def _uninitialised(cls: type[NotaryError], args: tuple[Any, ...]) -> NotaryError:
    """An error of `cls` with `args`, its attributes to be restored from the pickled state."""
    err = cls.__new__(cls)
    err.args = args
    return err


class BadData(NotaryError):
    """The input is wrong. Keep it, report the reason, do not retry."""


class Unreachable(NotaryError):
    """A system we depend on did not answer. Retry later; the input may be fine."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(Reason.UNREACHABLE, message, **fields)


def too_large(what: str, size: int, limit: int) -> BadData:
    return BadData(Reason.TOO_LARGE, f"{what} is {size}, limit {limit}", size=size, limit=limit)
