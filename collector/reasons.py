"""Collector rejection reasons and the one error type that carries them.

The core's `Reason` covers encodings, proofs and signatures. Ingest adds reasons about the
device's history and registration. Proposed for notary_core.errors.Reason (same strings):
REPLAY, FORK, GAP, UNKNOWN_DEVICE, REVOKED_KEY, KEY_NOT_VALID, TOPIC_MISMATCH.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from notary_core.errors import BadData, Reason


class IngestReason(StrEnum):
    REPLAY = "REPLAY"  # the very same batch was already stored
    FORK = "FORK"  # same (device, batch_seq), different header
    GAP = "GAP"  # batches missing before this one (reported, not a rejection)
    UNKNOWN_DEVICE = "UNKNOWN_DEVICE"
    REVOKED_KEY = "REVOKED_KEY"
    KEY_NOT_VALID = "KEY_NOT_VALID"  # the batch's time is outside the key's validity period
    TOPIC_MISMATCH = "TOPIC_MISMATCH"  # the topic names another device than the header


AnyReason = Reason | IngestReason


class Rejected(BadData):
    """BadData whose reason may be a collector reason (see module docstring)."""

    def __init__(self, reason: AnyReason, message: str, **fields: Any) -> None:
        super().__init__(Reason.MALFORMED, message, **fields)
        self.reason = reason  # type: ignore[assignment]


def reason_of(exc: BadData) -> str:
    return str(exc.reason)


# A REJECTED receipt tells the agent to stop re-sending: only for faults that a re-send can
# never cure. UNKNOWN_DEVICE / UNKNOWN_KEY may be cured by registering the device later.
FINAL_REASONS = frozenset(
    {
        str(Reason.BAD_SIGNATURE),
        str(Reason.ROOT_MISMATCH),
        str(Reason.COUNT_MISMATCH),
        str(Reason.CHAIN_BROKEN),
        str(Reason.KEY_MISMATCH),
        str(Reason.MALFORMED),
        str(Reason.NON_CANONICAL),
        str(Reason.TOO_LARGE),
        str(IngestReason.FORK),
        str(IngestReason.REVOKED_KEY),
        str(IngestReason.KEY_NOT_VALID),
    }
)
