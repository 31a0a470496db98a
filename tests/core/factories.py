"""Small builders for valid core objects, shared by the core tests."""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import batch, cose, header
from notary_core import records as r


def template(**changes: object) -> header.BatchHeader:
    base = header.BatchHeader(
        device_id="veh-0001",
        boot_id=bytes(range(16)),
        batch_seq=0,
        prev_header_hash=header.GENESIS_PREV_HASH,
        record_count=0,
        merkle_root=bytes(32),
        first_mono_ns=1_000,
        last_mono_ns=2_000,
        first_utc_ns=1_700_000_000_000_000_000,
        last_utc_ns=1_700_000_000_000_001_000,
        clock_source=r.ClockSource.NTP,
        clock_uncertainty_ns=5_000_000,
        streams={"can0": header.StreamCounters(10, 10), "gnss": header.StreamCounters(2, 2)},
        agent_version="vnotary-edge/0.1.0",
        config_hash=bytes([7]) * 32,
        key_id=b"",
        counts={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def can_records(n: int, stream: str = "can0") -> list[bytes]:
    enc = r.CanEncoder(stream, r.ClockSource.NTP)
    return [
        enc.encode(i, 1_000 + i, 2_000 + i, 0x100 + i % 50, 0, 8, bytes([i % 256]) * 8)
        for i in range(n)
    ]


def signer(seed: int = 1) -> cose.Signer:
    return cose.Signer.from_key(ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def sealed(n: int = 10, **changes: object) -> batch.SealedBatch:
    return batch.seal(template(**changes), can_records(n), bytes([9]) * 32, signer())
