"""Anchoring against a real anvil node: read back, node restart mid-run, reorg, gas."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from web3 import Web3

from collector.log import anchor_evm
from collector.log.anchor import Anchorer, AnchorUnavailable
from collector.log.anchor_evm import EvmAnchor, deploy, deploy_at, load_artifact
from collector.log.checkpoints import checkpoint_now
from collector.log.leaves import batch_leaf
from collector.store.base import Store
from collector.store.open import open_store
from notary_core.checkpoint import NoteSigner
from tests.infra.anvil import DEV_KEY, Anvil, anvil_node

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
SIGNER = NoteSigner("collector.test", ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
def node() -> Iterator[Anvil]:
    with anvil_node() as n:
        yield n


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await open_store(f"sqlite:///{tmp_path / 'c.db'}") as s:
        yield s


async def _grow(store: Store, n: int, now: int) -> None:
    size = await store.log_size()
    leaves = [batch_leaf(hashlib.sha256(str(size + i).encode()).digest()) for i in range(n)]
    await store.append_leaves(leaves, now)
    await checkpoint_now(store, SIGNER, "collector.test/log", now)


async def _setup(node: Anvil, store: Store) -> tuple[EvmAnchor, Anchorer]:
    address = await deploy(node.url, DEV_KEY)
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    return backend, Anchorer(store, backend, confirmations=3)


def _events(node: Anvil, address: str) -> list[tuple[int, bytes, bytes]]:
    w3 = Web3(Web3.HTTPProvider(node.url))
    c = w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact()["abi"])
    logs = c.events.Anchored().get_logs(from_block=0)
    w3.provider._request_session_manager.cache_and_return_session(node.url).close()  # type: ignore[attr-defined]
    return [(e["args"]["size"], e["args"]["root"], e["args"]["prevRoot"]) for e in logs]


async def test_anchor_read_back_and_finality(node: Anvil, store: Store) -> None:
    backend, anchorer = await _setup(node, store)
    try:
        await _grow(store, 5, 1)
        (row,) = await anchorer.tick(2)
        assert row.status == "sent" and row.tx_hash is not None
        assert await backend.gas_used(row.tx_hash) <= 25_000
        node.mine(2)
        (row,) = await anchorer.tick(3)
        assert row.status == "final" and row.block_number is not None
        block = node.rpc("eth_getBlockByNumber", hex(row.block_number), False)
        assert row.block_time == int(block["timestamp"], 16) > 0  # the time the chain vouches for
        assert (await store.anchors("final"))[0].block_time == row.block_time  # stored
        await _grow(store, 3, 4)
        rows = await anchorer.tick(5)
        assert [r.status for r in rows] == ["final", "sent"]
        # Each checkpoint ends in its index leaf (protocol §7.3): 5 + 1, then 3 + 1 more.
        root6, root10 = await store.log_root(6), await store.log_root(10)
        assert _events(node, backend.contract) == [(6, root6, bytes(32)), (10, root10, root6)]
    finally:
        await backend.close()


async def test_node_stopped_and_restarted_mid_run(node: Anvil, store: Store) -> None:
    backend, anchorer = await _setup(node, store)
    try:
        await _grow(store, 2, 1)
        await anchorer.tick(2)
        node.stop()
        await _grow(store, 2, 3)
        with pytest.raises(AnchorUnavailable):
            await anchorer.tick(4)
        await _grow(store, 2, 5)
        with pytest.raises(AnchorUnavailable):
            await anchorer.tick(6)
        node.start()
        node.mine(3)
        rows = await anchorer.tick(7)
        # The first anchor survived the restart; the newest checkpoint covers the outage.
        # (each checkpoint ends in its index leaf: sizes 2 + 1, 2 + 1 + 2 + 1, ...)
        assert [(r.size, r.status) for r in rows] == [(3, "final"), (6, "superseded"), (9, "sent")]
        assert [e[0] for e in _events(node, backend.contract)] == [3, 9]
    finally:
        await backend.close()


async def test_reorged_out_anchor_is_sent_again_once(node: Anvil, store: Store) -> None:
    backend, anchorer = await _setup(node, store)
    try:
        snapshot = node.rpc("evm_snapshot")
        await _grow(store, 4, 1)
        (row,) = await anchorer.tick(2)
        first_tx = row.tx_hash
        node.rpc("evm_revert", snapshot)  # the block holding the anchor is gone
        node.mine(1)
        (row,) = await anchorer.tick(3)
        assert row.status == "sent" and row.attempts == 2 and row.tx_hash != first_tx
        node.mine(3)
        (row,) = await anchorer.tick(4)
        assert row.status == "final"
        (row,) = await anchorer.tick(5)
        assert row.attempts == 2
        assert [e[0] for e in _events(node, backend.contract)] == [5]  # 4 + the index leaf
    finally:
        await backend.close()


async def test_find_scans_from_the_deployment_block_in_spans(
    node: Anvil, monkeypatch: pytest.MonkeyPatch
) -> None:
    node.mine(30)
    address, block = await deploy_at(node.url, DEV_KEY)
    assert block > 30
    monkeypatch.setattr(anchor_evm, "LOG_SPAN", 4)  # several getLogs requests per search
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address, start_block=block)
    late = await EvmAnchor.connect(node.url, DEV_KEY, address, start_block=block + 2)
    try:
        root = hashlib.sha256(b"root").digest()
        tx = await backend.send(1, root, bytes(32))
        node.mine(1)
        mined = await backend.status(tx)
        assert not isinstance(mined, str) and mined.block_number == block + 1
        node.mine(20)  # the event is now several spans below the head
        assert await backend.find(root) == (tx, mined)
        assert await backend.find(hashlib.sha256(b"other").digest()) is None
        assert await late.find(root) is None  # nothing before the start block is read
    finally:
        await backend.close()
        await late.close()
