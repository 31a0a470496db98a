"""Time to final (issue 18) on a real anvil node (automine): the running collector anchors a
checkpoint as soon as it is signed and follows it to final per poll, not per interval; the
anchor interval is a rate limit, so checkpoints signed within one interval of a send wait for
its end and only the newest of them is sent."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.log.anchor import Anchorer
from collector.log.anchor_evm import EvmAnchor, deploy
from collector.log.checkpoints import CheckpointSigner, WitnessPolicy, checkpoint_now
from collector.log.leaves import batch_leaf
from collector.log.witness_http import HttpWitness
from collector.log.witnesses import Witnessing
from collector.service import Collector
from collector.settings import AnchorSettings, Settings
from collector.store.base import AnchorRow, Store
from collector.store.open import open_store
from notary_core import cose
from notary_core.checkpoint import NoteSigner
from tests.infra.anvil import DEV_KEY, Anvil, anvil_node
from tests.infra.witness import WitnessProc, witness_process

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
LOG_KEY = ed25519.Ed25519PrivateKey.generate()
SIGNER = NoteSigner("collector.test", LOG_KEY)
ORIGIN = "collector.test/log"
T = TypeVar("T")


@pytest.fixture
def node() -> Iterator[Anvil]:
    with anvil_node() as n:
        yield n


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await open_store(f"sqlite:///{tmp_path / 'c.db'}") as s:
        yield s


async def _until(probe: Callable[[], Awaitable[T | None]], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = await probe()
        if got is not None:
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout_s} s")


async def _grow(store: Store, n: int) -> int:
    """n batch leaves; the collector's checkpoint adds the index leaf: the size it signs."""
    size = await store.log_size()
    leaves = [batch_leaf(hashlib.sha256(b"%d" % (size + i)).digest()) for i in range(n)]
    await store.append_leaves(leaves, time.time_ns())
    return size + n + 1


async def _signed(store: Store, size: int) -> int:
    """Wait for the checkpoint of `size`; its signing time (ns)."""

    async def probe() -> int | None:
        cp = await store.latest_checkpoint()
        return cp.signed_utc_ns if cp is not None and cp.size == size else None

    return await _until(probe, 5)


async def _final(store: Store, size: int, timeout_s: float) -> AnchorRow:
    async def probe() -> AnchorRow | None:
        return next((r for r in await store.anchors("final") if r.size == size), None)

    return await _until(probe, timeout_s)


async def _sent(store: Store) -> list[AnchorRow]:
    """Anchors that went to the chain (sent or final), oldest first."""
    return [r for r in await store.anchors() if r.tx_hash is not None]


@contextlib.asynccontextmanager
async def _running(
    node: Anvil, store: Store, tmp_path: Path, interval_s: float,
    witnesses: Sequence[WitnessProc] = (), checkpoint_interval_s: float = 0.1,
) -> AsyncIterator[Collector]:  # fmt: skip
    address = await deploy(node.url, DEV_KEY)
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    anchor = AnchorSettings(
        rpc_url=node.url, contract=address, key_file=str(tmp_path / "eth.key"),
        interval_s=interval_s, confirmations=1, poll_s=0.2,
    )  # fmt: skip
    settings = Settings(
        store="sqlite:///unused.db", key_file="unused.key", origin=ORIGIN,
        checkpoint_interval_s=checkpoint_interval_s, anchor=anchor,
    )  # fmt: skip
    clients = [HttpWitness(w.url, w.verifier, 2.0) for w in witnesses]
    policy = WitnessPolicy(tuple(w.verifier for w in witnesses), len(witnesses))
    c = Collector(settings, store, Ingestor(store, cose.Signer.from_key(LOG_KEY)),
                  CheckpointSigner(store, SIGNER, ORIGIN, None, policy))  # fmt: skip
    c.anchorer = Anchorer(store, backend, confirmations=1)
    if clients:
        c.witnessing = Witnessing(store, list(clients), len(clients))
    task = asyncio.create_task(c.run())
    try:
        yield c
    finally:
        for client in clients:
            await client.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await backend.close()


async def test_a_checkpoint_is_final_seconds_after_it_is_signed(
    node: Anvil, store: Store, tmp_path: Path
) -> None:
    """A 30 s interval: before issue 18 the first anchor waited for the anchorer's next look."""
    async with _running(node, store, tmp_path, interval_s=30):
        first = await _grow(store, 5)
        signed = await _signed(store, first)
        row = await _final(store, first, 10)
        assert (time.time_ns() - signed) / 1e9 < 3  # sent and mined within a few polls
        assert row.tx_hash is not None
        # Two more checkpoints within the interval of that send: none is sent in it.
        for n in (2, 3):
            size = await _grow(store, n)
            await _signed(store, size)
        await asyncio.sleep(2)  # several polls and wakes later
        assert [r.size for r in await _sent(store)] == [first]
        statuses = {r.size: r.status for r in await store.anchors()}
        assert statuses == {first: "final", first + 3: "superseded", size: "queued"}


async def test_with_witnesses_the_cosigned_checkpoint_is_final_seconds_after_signing(
    node: Anvil, store: Store, tmp_path: Path
) -> None:
    """Quorum 2 of real witness processes and a 5 s checkpoint interval: the signing wakes
    the witness round, the publication wakes anchoring (each used to wait its interval)."""
    logs = {ORIGIN: [SIGNER.verifier.vkey]}
    with (
        witness_process(tmp_path / "w1", "witness.test/w1", logs) as w1,
        witness_process(tmp_path / "w2", "witness.test/w2", logs) as w2,
    ):
        first = await _grow(store, 5)  # signed by the first round, at start
        async with _running(node, store, tmp_path, 30, [w1, w2], checkpoint_interval_s=5):
            signed = await _signed(store, first)
            row = await _final(store, first, 10)
            assert (time.time_ns() - signed) / 1e9 < 3
            published = await store.latest_published_checkpoint()
            assert published is not None and published.size == first == row.size


async def test_a_checkpoint_signed_by_another_process_wakes_anchoring(
    node: Anvil, store: Store, tmp_path: Path
) -> None:
    """As the API process signs one for an export (docs/access.md): not this collector's
    signer, yet anchored within a checkpoint interval (2 s) and a few polls, not at the end
    of the 30 s anchor interval."""
    other = await open_store(f"sqlite:///{tmp_path / 'c.db'}")  # the API's connection
    try:
        async with _running(node, store, tmp_path, 30, checkpoint_interval_s=2):
            await asyncio.sleep(0.3)  # the first rounds found nothing; the next is at 2 s
            size = await _grow(other, 3)
            assert await checkpoint_now(other, SIGNER, ORIGIN, time.time_ns()) is not None
            signed = await _signed(store, size)
            await _final(store, size, 10)
            assert (time.time_ns() - signed) / 1e9 < 4
            assert [r.size for r in await _sent(store)] == [size]
    finally:
        await other.close()


async def test_the_interval_is_a_rate_limit(node: Anvil, store: Store, tmp_path: Path) -> None:
    """Checkpoints signed within an interval of the last send: the newest is sent once the
    interval has passed, and nothing else."""
    interval = 4.0
    async with _running(node, store, tmp_path, interval_s=interval):
        first = await _grow(store, 5)
        await _final(store, first, 10)
        sizes = []
        for n in (2, 3):
            sizes.append(await _grow(store, n))
            await _signed(store, sizes[-1])
        assert [r.size for r in await _sent(store)] == [first]  # within the interval
        last = await _final(store, sizes[-1], interval + 5)
        one, two = await _sent(store)
        assert (one.size, two.size) == (first, sizes[-1]) and two == last
        assert one.block_time is not None and two.block_time is not None
        assert two.block_time - one.block_time >= interval  # block timestamps (whole s)
        assert two.block_time - one.block_time <= interval + 2  # and promptly at its end
        statuses = {r.size: r.status for r in await store.anchors()}
        assert statuses == {first: "final", sizes[0]: "superseded", sizes[-1]: "final"}
