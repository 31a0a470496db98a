"""Test devices that seal real CAN trace records into batches, as the edge agent would."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.store.base import Store
from notary_core import cose
from notary_core.batch import SealedBatch, seal
from notary_core.header import GENESIS_PREV_HASH, BatchHeader, StreamCounters
from notary_core.records import CanEncoder, CanFlags, ClockSource
from tests.datasets import RAV4_CAN, read_text

T0 = 1_700_000_000_000_000_000


def load_can_records(shared_data: Path, limit: int) -> list[bytes]:
    """Canonical CAN records from the RAV4 candump log of the data set."""
    enc = CanEncoder("can0", ClockSource.REPLAY)
    out: list[bytes] = []
    for seq, line in enumerate(read_text(shared_data / RAV4_CAN).splitlines()):
        if seq >= limit:
            break
        ts, _bus, frame = line.split()
        can_id, data_hex = frame.split("#")
        data = bytes.fromhex(data_hex)
        t = int(float(ts.strip("()")) * 1e9)
        flags = CanFlags.EXT if len(can_id) > 3 else 0
        out.append(enc.encode(seq, t, T0 + t, int(can_id, 16), flags, len(data), data))
    return out


@dataclass
class Device:
    device_id: str
    key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    seq: int = 0
    prev: bytes = GENESIS_PREV_HASH
    boot_id: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def signer(self) -> cose.Signer:
        return cose.Signer.from_key(self.key)

    @property
    def spki(self) -> bytes:
        return self.signer.public.spki()

    def seal(
        self,
        records: list[bytes],
        *,
        seq: int | None = None,
        prev: bytes | None = None,
        utc_ns: int | None = None,
        advance: bool = True,
        salt_key: bytes | None = None,
        clock: ClockSource = ClockSource.REPLAY,
        span_ns: int = 999_000_000,
    ) -> SealedBatch:
        """The next batch of the chain (or one with the given seq/prev, for bad cases)."""
        s = self.seq if seq is None else seq
        t = T0 + s * 1_000_000_000 if utc_ns is None else utc_ns
        template = BatchHeader(
            device_id=self.device_id,
            boot_id=self.boot_id,
            batch_seq=s,
            prev_header_hash=self.prev if prev is None else prev,
            record_count=0,
            merkle_root=bytes(32),
            first_mono_ns=s,
            last_mono_ns=s + 1,
            first_utc_ns=t,
            last_utc_ns=t + span_ns,
            clock_source=clock,
            clock_uncertainty_ns=1_000_000,
            streams={"can0": StreamCounters(len(records), len(records))},
            agent_version="test/1",
            config_hash=bytes(32),
            key_id=b"",
            counts={},
        )
        sealed = seal(template, records, salt_key or os.urandom(32), self.signer)
        if advance:
            self.seq = s + 1
            self.prev = sealed.signed.header_hash
        return sealed


async def logged_entries(store: Store) -> int:
    """Log leaves other than index leaves (every checkpoint appends one, protocol §7.3)."""
    size = await store.log_size()
    return sum([(await store.leaf(i))[:1] != b"\x05" for i in range(size)])
