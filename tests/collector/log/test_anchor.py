"""Anchoring against a real anvil node: read back, node restart mid-run, a dropped, a reorged
and a refused transaction re-sent exactly once, gas. The contract is version 2 (head-keeping)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from web3 import Web3

from collector.log import anchor_evm
from collector.log.anchor import Anchorer, AnchorUnavailable, Found
from collector.log.anchor_evm import EvmAnchor, deploy, deploy_at, load_artifact
from collector.log.checkpoints import checkpoint_now
from collector.log.leaves import batch_leaf
from collector.store.base import Store
from collector.store.open import open_store
from notary_core import anchoring
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


async def _grow(store: Store, n: int, now: int, salt: bytes = b"") -> None:
    size = await store.log_size()
    leaves = [batch_leaf(hashlib.sha256(salt + str(size + i).encode()).digest()) for i in range(n)]
    await store.append_leaves(leaves, now)
    await checkpoint_now(store, SIGNER, "collector.test/log", now)


async def _setup(node: Anvil, store: Store) -> tuple[EvmAnchor, Anchorer]:
    address = await deploy(node.url, DEV_KEY)
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    return backend, Anchorer(store, backend, confirmations=3)


def _events(node: Anvil, address: str) -> list[tuple[int, bytes, int, bytes]]:
    """Every Anchored event of the contract: (size, root, prevSize, prevRoot)."""
    w3 = Web3(Web3.HTTPProvider(node.url))
    c = w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact()["abi"])
    logs = c.events.Anchored().get_logs(from_block=0)
    w3.provider._request_session_manager.cache_and_return_session(node.url).close()  # type: ignore[attr-defined]
    return [tuple(e["args"][k] for k in ("size", "root", "prevSize", "prevRoot")) for e in logs]  # type: ignore[misc]


async def test_anchor_read_back_and_finality(node: Anvil, store: Store) -> None:
    backend, anchorer = await _setup(node, store)
    try:
        await _grow(store, 5, 1)
        (row,) = await anchorer.tick(2)
        assert row.status == "sent" and row.tx_hash is not None
        assert await backend.gas_used(row.tx_hash) <= 70_000  # the first fills the head slots
        node.mine(2)
        (row,) = await anchorer.tick(3)
        assert row.status == "final" and row.block_number is not None
        block = node.rpc("eth_getBlockByNumber", hex(row.block_number), False)
        assert row.block_time == int(block["timestamp"], 16) > 0  # the time the chain vouches for
        assert (await store.anchors("final"))[0].block_time == row.block_time  # stored
        await _grow(store, 3, 4)
        rows = await anchorer.tick(5)
        assert [r.status for r in rows] == ["final", "sent"]
        assert rows[1].tx_hash is not None
        assert await backend.gas_used(rows[1].tx_hash) <= 35_000  # the target of issue 11
        # Each checkpoint ends in its index leaf (protocol §7.3): 5 + 1, then 3 + 1 more.
        root6, root10 = await store.log_root(6), await store.log_root(10)
        assert rows[1].prev_root == root6
        assert _events(node, backend.contract) == [(6, root6, 0, bytes(32)), (10, root10, 6, root6)]
        assert await backend.anchored() == anchoring.Head(10, root10)
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
        assert [e[::2] for e in _events(node, backend.contract)] == [(3, 0), (9, 3)]
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
        tx = await backend.send(1, root, 0, bytes(32))
        node.mine(1)
        mined = await backend.status(tx)
        assert not isinstance(mined, str) and mined.block_number == block + 1
        node.mine(20)  # the event is now several spans below the head
        assert await backend.find(root) == Found(tx, mined, bytes(32))
        assert await backend.find(hashlib.sha256(b"other").digest()) is None
        assert await late.find(root) is None  # nothing before the start block is read
    finally:
        await backend.close()
        await late.close()


async def test_dropped_transaction_is_sent_again_once(node: Anvil, store: Store) -> None:
    backend, anchorer = await _setup(node, store)
    try:
        node.rpc("evm_setAutomine", False)
        await _grow(store, 3, 1)
        (row,) = await anchorer.tick(2)
        first_tx = row.tx_hash
        assert row.status == "sent" and first_tx is not None
        await _grow(store, 2, 3)
        rows = await anchorer.tick(4)  # one anchor in flight at a time: the newer one waits
        # Each checkpoint ends in its index leaf (protocol §7.3): sizes 3 + 1, then 2 + 1 more.
        assert [(r.size, r.status) for r in rows] == [(4, "sent"), (7, "queued")]
        node.rpc("anvil_dropTransaction", "0x" + first_tx.hex())  # the mempool lost it
        rows = await anchorer.tick(5)
        # Nothing of ours is on chain: the newest checkpoint goes, extending the empty head.
        assert [(r.size, r.status) for r in rows] == [(4, "superseded"), (7, "sent")]
        node.rpc("evm_setAutomine", True)
        node.mine(3)
        rows = await anchorer.tick(6)
        assert [(r.size, r.status, r.attempts) for r in rows][-1] == (7, "final", 1)
        assert [e[::2] for e in _events(node, backend.contract)] == [(7, 0)]
    finally:
        await backend.close()


async def test_two_reorged_anchors_become_one_resend(node: Anvil, store: Store) -> None:
    backend, anchorer = await _setup(node, store)
    try:
        snapshot = node.rpc("evm_snapshot")
        await _grow(store, 4, 1)
        await anchorer.tick(2)
        await _grow(store, 4, 3)
        rows = await anchorer.tick(4)  # 5 is mined, so 10 goes at once with prev = 5
        # (each checkpoint ends in its index leaf: 4 + 1, then 4 + 1 more)
        assert [(r.size, r.status) for r in rows] == [(5, "sent"), (10, "sent")]
        assert [e[::2] for e in _events(node, backend.contract)] == [(5, 0), (10, 5)]
        node.rpc("evm_revert", snapshot)  # both blocks gone: the head is empty again
        node.mine(1)
        rows = await anchorer.tick(5)
        assert [(r.size, r.status) for r in rows] == [(5, "superseded"), (10, "sent")]
        assert rows[1].prev_root == bytes(32) and rows[1].attempts == 2
        node.mine(3)
        await anchorer.tick(6)
        assert [e[::2] for e in _events(node, backend.contract)] == [(10, 0)]
    finally:
        await backend.close()


async def test_a_send_lost_before_it_was_recorded_is_found_not_repeated(
    node: Anvil, store: Store
) -> None:
    """A crash between sending and recording: the row is still queued, the transaction is
    out there. While it is pending the loop sends again, the contract refuses the second one
    (its head moved), and the loop then finds the first: one anchor, recorded."""
    backend, anchorer = await _setup(node, store)
    try:
        await _grow(store, 6, 1)
        cp = await store.latest_checkpoint()
        assert cp is not None
        node.rpc("evm_setAutomine", False)
        lost = await backend.send(cp.size, cp.root, 0, bytes(32))  # never recorded
        (row,) = await anchorer.tick(2)
        assert row.status == "sent" and row.tx_hash != lost
        node.mine(1)  # both mined in nonce order: the first lands, the second is refused
        assert await backend.status(row.tx_hash) == "reverted"  # type: ignore[arg-type]
        node.rpc("evm_setAutomine", True)
        (row,) = await anchorer.tick(3)
        assert row.status == "sent" and row.tx_hash == lost and row.block_number is not None
        node.mine(3)
        (row,) = await anchorer.tick(4)
        assert row.status == "final" and row.tx_hash == lost
        assert [e[::2] for e in _events(node, backend.contract)] == [(cp.size, 0)]  # 6 + 1
    finally:
        await backend.close()
