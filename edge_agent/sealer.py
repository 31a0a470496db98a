"""Pure sealer: a closed batch + the chain head -> a signed SealedBatch and the next head.

The head advances only when the caller says the batch is committed (`ChainHead.after`),
so a failed spool write never burns a batch_seq or forks the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.batcher import ClosedBatch
from notary_core import batch as nbatch
from notary_core import cose, limits
from notary_core.header import GENESIS_PREV_HASH, BatchHeader, Beacon
from notary_core.records import ClockSource


@dataclass(frozen=True, slots=True)
class ChainHead:
    """What the next batch continues from: its batch_seq and the previous header hash."""

    next_seq: int = 0
    prev_hash: bytes = GENESIS_PREV_HASH

    def after(self, sealed: nbatch.SealedBatch) -> ChainHead:
        return ChainHead(sealed.signed.header.batch_seq + 1, sealed.signed.header_hash)


@dataclass(frozen=True, slots=True)
class Identity:
    device_id: str
    boot_id: bytes
    agent_version: str
    config_hash: bytes


class Sealer:
    def __init__(self, signer: cose.Signer, identity: Identity) -> None:
        self._signer = signer
        self._id = identity

    def seal(
        self,
        head: ChainHead,
        batch: ClosedBatch,
        salt_key: bytes,
        clock_source: ClockSource,
        clock_uncertainty_ns: int,
        beacon: Beacon | None = None,
    ) -> nbatch.SealedBatch:
        """`beacon`: the newest chain block the agent holds (§4.3 key 19), or None."""
        if len(salt_key) != limits.SALT_KEY_SIZE:
            raise ValueError("salt key must be 32 random bytes")
        template = BatchHeader(
            device_id=self._id.device_id,
            boot_id=self._id.boot_id,
            batch_seq=head.next_seq,
            prev_header_hash=head.prev_hash,
            record_count=0,
            merkle_root=bytes(32),
            first_mono_ns=batch.first_mono_ns,
            last_mono_ns=batch.last_mono_ns,
            first_utc_ns=batch.first_utc_ns,
            last_utc_ns=batch.last_utc_ns,
            clock_source=clock_source,
            clock_uncertainty_ns=clock_uncertainty_ns,
            streams=batch.streams,
            agent_version=self._id.agent_version,
            config_hash=self._id.config_hash,
            key_id=self._signer.kid,
            beacon=beacon,
        )
        return nbatch.seal(template, batch.records, salt_key, self._signer)
