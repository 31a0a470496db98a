"""Group commit: a group behaves exactly as its messages ingested one by one, and a crash
(kill -9) anywhere inside the group's transaction leaves none of it behind."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor, Outcome
from collector.store.base import Store
from collector.store.open import open_store
from notary_core import cose
from notary_core.batch import SealedBatch
from notary_core.receipt import open_receipt
from tests.collector.fleet import T0, Device, logged_entries

pytestmark = pytest.mark.anyio
NOW = T0 + 10**12
SIGNER = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
Message = tuple[str, bytes]


def topic(device_id: str) -> str:
    return f"vn/v1/dev/{device_id}/batch"


async def _enrol(store: Store, *devices: Device) -> None:
    for dev in devices:
        await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, T0, None, T0)


def _mixed_groups(records: list[bytes]) -> tuple[list[Device], list[list[Message]]]:
    """Two groups mixing every per-batch case, several of them about the group itself
    (a predecessor, a replay, a fork and a gap's closing batch in the same group)."""
    a, b, stranger = Device("veh-a"), Device("veh-b"), Device("veh-c")
    r = [records[i * 20 : i * 20 + 20] for i in range(12)]
    a0, a1 = a.seal(r[0]), a.seal(r[1])
    a1_fork = a.seal(r[2], seq=1, prev=a0.signed.header_hash, advance=False)
    a2, a3 = a.seal(r[3]), a.seal(r[4])
    a4_broken = a.seal(r[5], prev=os.urandom(32), advance=False)
    a4 = a.seal(r[5], advance=False)
    block = bytearray(a4.records_block)
    block[-1] ^= 1
    a4_tampered = SealedBatch(a4.signed, a4.salt_key, bytes(block))
    b0, b1, b2 = b.seal(r[6]), b.seal(r[7]), b.seal(r[8])
    c0 = stranger.seal(r[9])
    first = [
        (topic("veh-a"), a0.to_bytes()),
        (topic("veh-a"), a1.to_bytes()),
        (topic("veh-a"), a1.to_bytes()),  # replay of a batch stored earlier in the group
        (topic("veh-a"), a1_fork.to_bytes()),  # fork of it
        (topic("veh-a"), a3.to_bytes()),  # opens gap 2..2
        (topic("veh-a"), b"\x00garbage"),
        (topic("veh-a"), b0.to_bytes()),  # topic names another device
        (topic("veh-b"), b0.to_bytes()),
        (topic("veh-a"), a4_broken.to_bytes()),
        (topic("veh-a"), a4_tampered.to_bytes()),
        (topic("veh-c"), c0.to_bytes()),  # unregistered
        (topic("veh-b"), b2.to_bytes()),  # opens gap 1..1
        (topic("veh-a"), a2.to_bytes()),  # closes gap 2..2
        (topic("veh-a"), a4.to_bytes()),
    ]
    second = [
        (topic("veh-a"), a2.to_bytes()),  # replay of the previous group
        (topic("veh-b"), b1.to_bytes()),  # closes gap 1..1
        (topic("veh-a"), a1_fork.to_bytes()),
    ]
    return [a, b], [first, second]


def _view(outcomes: list[Outcome]) -> list[tuple[object, ...]]:
    out = []
    for o in outcomes:
        r = open_receipt(o.receipt, SIGNER.public) if o.receipt else None
        receipt = (r.status, r.batch_seq, r.log_index, r.header_hash) if r else None
        out.append((o.status, o.reason, o.device_id, o.batch_seq, o.log_index, o.gap, receipt))
    return out


async def _state(store: Store) -> tuple[object, ...]:
    size = await store.log_size()
    batches = {
        d: [(b.batch_seq, b.log_index) for b in await store.batches_between(d, -(2**62), 2**62)]
        for d in ("veh-a", "veh-b", "veh-c")
    }
    gaps = {d: await store.gaps(d, open_only=False) for d in ("veh-a", "veh-b")}
    gaps_view = {
        d: [(g.first_seq, g.last_seq, g.closed_utc_ns is None) for g in gs]
        for d, gs in gaps.items()
    }
    quarantine = [(q.reason, q.device_id, q.batch_seq) for q in await store.quarantined()]
    return size, await store.log_root(size), batches, gaps_view, quarantine


async def test_a_group_mixing_good_and_bad_batches_equals_one_by_one(
    store_url: str, tmp_path: Path, records: list[bytes]
) -> None:
    devices, groups = _mixed_groups(records)
    async with (
        await open_store(store_url) as grouped,
        await open_store(f"sqlite:///{tmp_path / 'one-by-one.db'}") as single,
    ):
        await _enrol(grouped, *devices)
        await _enrol(single, *devices)
        g, s = Ingestor(grouped, SIGNER), Ingestor(single, SIGNER)
        for messages in groups:
            together = await g.ingest_group(messages, NOW)
            alone = [await s.ingest(t, p, NOW) for t, p in messages]
            assert _view(together) == _view(alone)
            rows = {q.id: q for q in await grouped.quarantined()}
            for o, (_t, payload) in zip(together, messages, strict=True):
                assert (o.quarantine_id is None) == (o.status == "stored")
                if o.quarantine_id is not None:
                    assert rows[o.quarantine_id].payload == payload
                    assert rows[o.quarantine_id].reason == o.reason
        assert await _state(grouped) == await _state(single)


async def test_the_mixed_groups_cover_every_case(store: Store, records: list[bytes]) -> None:
    """Pins what the equivalence test above compares, so it cannot pass vacuously."""
    devices, groups = _mixed_groups(records)
    await _enrol(store, *devices)
    ingestor = Ingestor(store, SIGNER)
    outs = await ingestor.ingest_group(groups[0], NOW)
    assert [(o.status, o.reason, o.gap) for o in outs] == [
        ("stored", None, None),
        ("stored", None, None),
        ("replay", "REPLAY", None),
        ("rejected", "FORK", None),
        ("stored", "GAP", (2, 2)),
        ("rejected", "NON_CANONICAL", None),
        ("rejected", "TOPIC_MISMATCH", None),
        ("stored", None, None),
        ("rejected", "CHAIN_BROKEN", None),
        ("rejected", "ROOT_MISMATCH", None),
        ("rejected", "UNKNOWN_DEVICE", None),
        ("stored", "GAP", (1, 1)),
        ("stored", None, None),
        ("stored", None, None),
    ]
    assert outs[2].log_index == outs[1].log_index  # the replay answers the original index
    assert await store.gaps("veh-a") == [] and await store.gaps("veh-b") != []
    outs = await ingestor.ingest_group(groups[1], NOW)
    assert [(o.status, o.reason) for o in outs] == [
        ("replay", "REPLAY"),
        ("stored", None),
        ("rejected", "FORK"),
    ]
    assert await store.gaps("veh-b") == []


CHILD = """
import asyncio, os, pickle, signal, sys
from collector.store import base as store_module
from collector.store.open import open_store
from collector.ingest.pipeline import Ingestor
from notary_core import cose
from cryptography.hazmat.primitives.asymmetric import ed25519

url, path, point, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(path, "rb") as f:
    messages = pickle.load(f)
group = store_module.IngestGroup
calls = 0

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "third-batch":
    add = group.add_batch
    async def add_batch(self, b, z):
        global calls
        calls += 1
        if calls == 3:
            die()
        return await add(self, b, z)
    group.add_batch = add_batch
else:  # every statement of the group executed, the COMMIT not yet
    flush = group.flush
    async def flush_then_die(self):
        await flush(self)
        die()
    group.flush = flush_then_die

async def main():
    async with await open_store(url) as store:
        signer = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
        await Ingestor(store, signer).ingest_group(messages, now)

asyncio.run(main())
"""


@pytest.mark.parametrize("point", ["third-batch", "before-commit"])
async def test_kill_9_mid_group_leaves_nothing_and_the_resend_stores_everything(
    store_url: str, tmp_path: Path, records: list[bytes], point: str
) -> None:
    devices, groups = _mixed_groups(records)
    async with await open_store(store_url) as store:
        await _enrol(store, *devices)
        before = await _state(store)
    path = tmp_path / "group.pickle"
    path.write_bytes(pickle.dumps(groups[0]))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, store_url, str(path), point, str(NOW)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    async with await open_store(store_url) as store:
        assert await _state(store) == before  # not one row of the group survived
        # The agents re-send (the broker redelivers): everything is stored exactly once.
        outs = await Ingestor(store, SIGNER).ingest_group(groups[0], NOW)
        assert [o.status for o in outs].count("stored") == 7
        assert await logged_entries(store) == 2 + 7
