"""Verified ingest: good batches stored with receipts; every bad input quarantined by reason."""

from __future__ import annotations

import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.store.base import Store
from collector.store.open import open_store
from notary_core import cose, envelope, merkle
from notary_core.batch import SealedBatch, encode_records_block
from notary_core.logleaf import BatchLeaf
from notary_core.receipt import ReceiptStatus, open_receipt
from tests.collector.fleet import T0, Device

pytestmark = pytest.mark.anyio
NOW = T0 + 10**12


@pytest.fixture
def collector_signer() -> cose.Signer:
    return cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
async def ingestor(tmp_path: Path, collector_signer: cose.Signer) -> AsyncIterator[Ingestor]:
    async with await open_store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        yield Ingestor(store, collector_signer)


async def _enrol(store: Store, dev: Device, not_before: int = T0) -> None:
    await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, not_before, None, T0)


def topic(dev: Device) -> str:
    return f"vn/v1/dev/{dev.device_id}/batch"


async def test_good_batches_are_stored_with_a_signed_receipt(
    ingestor: Ingestor, records: list[bytes], collector_signer: cose.Signer
) -> None:
    dev = Device("veh-1")
    await _enrol(ingestor.store, dev)
    for i in range(3):
        sealed = dev.seal(records[i * 1000 : (i + 1) * 1000])
        out = await ingestor.ingest(topic(dev), sealed.to_bytes(), NOW)
        assert (out.status, out.reason, out.log_index) == ("stored", None, i + 1)
        assert out.receipt is not None
        r = open_receipt(out.receipt, collector_signer.public)
        assert (r.status, r.batch_seq, r.log_index) == (ReceiptStatus.STORED, i, i + 1)
        assert r.header_hash == sealed.signed.header_hash
    stored = await ingestor.store.batch("veh-1", 2)
    assert stored is not None and stored.records_block == encode_records_block(records[2000:3000])
    size = await ingestor.store.log_size()
    proof = await ingestor.store.inclusion_proof(3, size)
    leaf = merkle.hash_leaf(BatchLeaf(stored.header_hash, 2, "veh-1").to_leaf())  # §7.1.1
    merkle.verify_inclusion(leaf, 3, size, proof, await ingestor.store.log_root(size))


async def _expect(ingestor: Ingestor, t: str, payload: bytes, reason: str) -> None:
    out = await ingestor.ingest(t, payload, NOW)
    assert out.reason == reason, out
    q = (await ingestor.store.quarantined(reason))[-1]
    assert q.id == out.quarantine_id
    assert q.payload == payload[: len(q.payload)] and q.reason == reason


async def test_forged_signature(ingestor: Ingestor, records: list[bytes]) -> None:
    dev, thief = Device("veh-1"), Device("veh-1")
    await _enrol(ingestor.store, dev)
    thief.key, real_kid = ed25519.Ed25519PrivateKey.generate(), dev.signer.kid
    sealed = thief.seal(records[:10])
    # Sign with another key but claim the device's key id.
    forged = cose.Signer(
        cose.Alg.EDDSA, thief.key, cose.PublicKey(cose.Alg.EDDSA, thief.key.public_key(), real_kid)
    )
    from notary_core.batch import seal

    sealed = seal(sealed.signed.header, records[:10], os.urandom(32), forged)
    await _expect(ingestor, topic(dev), sealed.to_bytes(), "BAD_SIGNATURE")
    assert await ingestor.store.batch("veh-1", 0) is None


async def test_tampered_record_and_wrong_salt_key(ingestor: Ingestor, records: list[bytes]) -> None:
    dev = Device("veh-1")
    await _enrol(ingestor.store, dev)
    sealed = dev.seal(records[:10], advance=False)
    block = bytearray(sealed.records_block)
    block[-1] ^= 1
    tampered = SealedBatch(sealed.signed, sealed.salt_key, bytes(block))
    await _expect(ingestor, topic(dev), tampered.to_bytes(), "ROOT_MISMATCH")
    wrong_salt = SealedBatch(sealed.signed, os.urandom(32), sealed.records_block)
    out = await ingestor.ingest(topic(dev), wrong_salt.to_bytes(), NOW)
    assert out.reason == "ROOT_MISMATCH" and out.receipt is not None
    assert len(await ingestor.store.quarantined("ROOT_MISMATCH")) == 2
    # The genuine batch still goes through afterwards: the collector kept running.
    assert (await ingestor.ingest(topic(dev), sealed.to_bytes(), NOW)).status == "stored"


async def test_replay_fork_and_broken_chain(ingestor: Ingestor, records: list[bytes]) -> None:
    dev = Device("veh-1")
    await _enrol(ingestor.store, dev)
    first = dev.seal(records[:10])
    assert (await ingestor.ingest(topic(dev), first.to_bytes(), NOW)).status == "stored"
    again = await ingestor.ingest(topic(dev), first.to_bytes(), NOW + 1)
    assert (again.status, again.reason, again.log_index) == ("replay", "REPLAY", 1)
    assert again.receipt is not None  # re-answered so the agent can release its spool
    fork = dev.seal(records[10:20], seq=0, prev=bytes(32), advance=False)
    await _expect(ingestor, topic(dev), fork.to_bytes(), "FORK")
    broken = dev.seal(records[20:30], prev=os.urandom(32), advance=False)
    await _expect(ingestor, topic(dev), broken.to_bytes(), "CHAIN_BROKEN")
    assert await ingestor.store.log_size() == 2  # one enrolment, one batch: nothing else


async def test_out_of_order_batches_open_and_close_a_gap(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev = Device("veh-1")
    await _enrol(ingestor.store, dev)
    b = [dev.seal(records[i * 10 : i * 10 + 10]) for i in range(4)]
    await ingestor.ingest(topic(dev), b[0].to_bytes(), NOW)
    out = await ingestor.ingest(topic(dev), b[3].to_bytes(), NOW)
    assert (out.status, out.reason, out.gap) == ("stored", "GAP", (1, 2))
    assert [(g.first_seq, g.last_seq) for g in await ingestor.store.gaps("veh-1")] == [(1, 2)]
    # A batch that does not fit its stored successor is refused even out of order.
    stranger = Device("veh-1", key=dev.key, seq=2, prev=b[1].signed.header_hash)
    odd = stranger.seal(records[100:110])
    await ingestor.ingest(topic(dev), b[1].to_bytes(), NOW)
    await _expect(ingestor, topic(dev), odd.to_bytes(), "CHAIN_BROKEN")
    await ingestor.ingest(topic(dev), b[2].to_bytes(), NOW)
    assert await ingestor.store.gaps("veh-1") == []


async def test_unregistered_revoked_and_expired_keys(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev = Device("veh-1")
    await _expect(
        ingestor, topic(dev), dev.seal(records[:5], advance=False).to_bytes(), "UNKNOWN_DEVICE"
    )
    await _enrol(ingestor.store, dev, not_before=T0 + 10**15)
    await _expect(
        ingestor, topic(dev), dev.seal(records[:5], advance=False).to_bytes(), "KEY_NOT_VALID"
    )
    other = Device("veh-1")
    await _expect(ingestor, topic(dev), other.seal(records[:5]).to_bytes(), "UNKNOWN_KEY")
    await ingestor.store.revoke_device("veh-1", NOW)
    out = await ingestor.ingest(topic(dev), dev.seal(records[:5]).to_bytes(), NOW)
    assert out.reason == "REVOKED_KEY" and out.receipt is not None
    r = open_receipt(out.receipt, ingestor.signer.public)
    assert r.status == ReceiptStatus.REJECTED


async def test_topic_mismatch_malformed_oversize_and_garbage(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev, other = Device("veh-1"), Device("veh-2")
    await _enrol(ingestor.store, dev)
    await _enrol(ingestor.store, other)
    sealed = dev.seal(records[:5], advance=False)
    out = await ingestor.ingest(topic(other), sealed.to_bytes(), NOW)
    assert out.reason == "TOPIC_MISMATCH" and out.receipt is None  # never answer a stranger
    await _expect(ingestor, topic(dev), b"\xa1\x01", "MALFORMED")
    await _expect(ingestor, topic(dev), cbor2.dumps([1, 2, 3])[:-1], "MALFORMED")
    big = b"\x00" * (8 * 1024 * 1024 + 1)
    await _expect(ingestor, topic(dev), big, "TOO_LARGE")
    rng = __import__("random").Random(7)
    for _ in range(300):
        junk = rng.randbytes(rng.randrange(0, 400))
        out = await ingestor.ingest(topic(dev), junk, NOW)
        assert out.status == "rejected"
    # Every rejection is accounted for: a row within the device's daily quarantine quota
    # (the 8 MiB one used up its bytes), a counter past it (issue 16 §2).
    assert len(await ingestor.store.quarantined(limit=10_000)) == 4
    quotas = {q.source: q for q in await ingestor.store.quarantine_quotas()}
    assert (quotas["veh-2"].kept_rows, quotas["veh-2"].dropped_rows) == (1, 0)
    assert (quotas["veh-1"].kept_rows, quotas["veh-1"].dropped_rows) == (3, 300)
    assert (await ingestor.ingest(topic(dev), sealed.to_bytes(), NOW)).status == "stored"


async def test_compressed_envelopes_are_the_same_batch_and_bad_ones_are_quarantined(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    """§5.1: an envelope is stored as the bare batch it carries (same header hash; a re-send
    in the other encoding is a REPLAY, not a FORK); a bomb, a truncated stream or an unknown
    method is quarantined as received with its reason, and ingest goes on."""
    dev = Device("veh-1")
    await _enrol(ingestor.store, dev)
    first, second = dev.seal(records[:1000]), dev.seal(records[1000:2000])
    wire = envelope.wrap(first.to_bytes())
    assert len(wire) < len(first.to_bytes()) / 2
    out = await ingestor.ingest(topic(dev), wire, NOW)
    assert (out.status, out.log_index) == ("stored", 1) and out.receipt is not None
    assert open_receipt(out.receipt, ingestor.signer.public).header_hash == (
        first.signed.header_hash
    )
    stored = await ingestor.store.batch("veh-1", 0)
    assert stored is not None and stored.signed_header == first.signed.raw
    assert stored.records_block == first.records_block  # the uncompressed, signed bytes
    again = await ingestor.ingest(topic(dev), first.to_bytes(), NOW + 1)  # bare re-send
    assert (again.status, again.reason, again.log_index) == ("replay", "REPLAY", 1)
    bomb = zlib.compressobj(9)
    body = b"".join(bomb.compress(bytes(1 << 20)) for _ in range(16)) + bomb.flush()
    head = envelope.MAGIC + bytes([1, 1]) + (8 << 20).to_bytes(4, "big")
    await _expect(ingestor, topic(dev), head + body, "TOO_LARGE")
    wire2 = envelope.wrap(second.to_bytes())
    await _expect(ingestor, topic(dev), wire2[:-3], "MALFORMED")
    await _expect(ingestor, topic(dev), wire2[:9] + b"\x02" + wire2[10:], "UNSUPPORTED_VERSION")
    assert (await ingestor.ingest(topic(dev), wire2, NOW)).status == "stored"
    assert await ingestor.store.log_size() == 3  # one enrolment, two batches
