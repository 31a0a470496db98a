"""The version-2 contract on a real anvil node: it refuses a second history (the split view
of issue 11), takes anchors from its owner only, and the collector alarms on a head that is
not its own instead of overwriting it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.log.anchor import Anchorer, CompetingHead, Mined
from collector.log.anchor_evm import EvmAnchor, deploy
from collector.log.checkpoints import CheckpointSigner, checkpoint_now
from collector.log.leaves import batch_leaf
from collector.service import Collector
from collector.settings import AnchorSettings, Settings
from collector.store.base import Store
from collector.store.open import open_store
from notary_core import anchoring, checkpoint, cose
from notary_core.checkpoint import NoteSigner
from notary_core.errors import BadData, Reason
from tests.infra.anvil import DEV_KEY, Anvil, anvil_node
from vnotary_cli.main import main

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
LOG_KEY = ed25519.Ed25519PrivateKey.generate()
SIGNER = NoteSigner("collector.test", LOG_KEY)
ORIGIN = "collector.test/log"
# anvil's second well-known dev account (public test mnemonic; never holds real value).
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.fixture
def node() -> Iterator[Anvil]:
    with anvil_node() as n:
        yield n


async def _log(path: Path, n: int, salt: bytes) -> Store:
    """A log of `n` entries signed by the one log key; `salt` picks its history."""
    store = await open_store(f"sqlite:///{path}")
    leaves = [batch_leaf(hashlib.sha256(salt + bytes([i])).digest()) for i in range(n)]
    await store.append_leaves(leaves, 1)
    await checkpoint_now(store, SIGNER, ORIGIN, 1)
    return store


@pytest.fixture
async def two_logs(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """The split view: two histories of one size, both checkpoints signed by the log key."""
    a, b = await _log(tmp_path / "a.db", 4, b"a"), await _log(tmp_path / "b.db", 4, b"b")
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def _signed(store: Store) -> tuple[int, bytes]:
    cp = await store.latest_checkpoint()
    assert cp is not None
    parsed = checkpoint.open_checkpoint(cp.note, [SIGNER.verifier], origin=ORIGIN)
    return parsed.size, parsed.root


async def _settled(evm: EvmAnchor, tx: bytes) -> Mined | str:
    """The transaction's final status: anvil mines each one at once, but its receipt can lag
    the send on a loaded machine ("pending" is no answer to what the contract did)."""
    for _ in range(300):
        status = await evm.status(tx)
        if status != "pending":
            return status
        await asyncio.sleep(0.1)
    raise AssertionError("the transaction was not mined in 30 s")


async def test_the_contract_refuses_a_second_root_for_a_size(
    node: Anvil, two_logs: tuple[Store, Store]
) -> None:
    (size, root_a), (size_b, root_b) = [await _signed(s) for s in two_logs]
    assert size == size_b and root_a != root_b  # both verify against the log key
    address = await deploy(node.url, DEV_KEY)
    evm = await EvmAnchor.connect(node.url, DEV_KEY, address)
    try:
        assert isinstance(await _settled(evm, await evm.send(size, root_a, 0, bytes(32))), Mined)
        # The second history, claimed as the first anchor, as a replacement of the head,
        # or with a made-up head: the contract takes none of them.
        for prev in ((0, bytes(32)), (size, root_a), (size - 1, root_a)):
            assert await _settled(evm, await evm.send(size, root_b, *prev)) == "reverted"
        assert await _settled(evm, await evm.send(size - 1, root_b, size, root_a)) == "reverted"
        assert await evm.anchored() == anchoring.Head(size, root_a)
        # Growing from the head is what it accepts (whether the tree extends it is for the
        # collector, the verifiers and the monitors to check: docs/performance.md).
        root_6 = hashlib.sha256(b"six").digest()
        assert isinstance(await _settled(evm, await evm.send(6, root_6, size, root_a)), Mined)
        assert await evm.anchored() == anchoring.Head(6, root_6)
    finally:
        await evm.close()


async def test_only_the_owner_anchors_and_connect_checks_the_contract(node: Anvil) -> None:
    address = await deploy(node.url, DEV_KEY)
    with pytest.raises(BadData) as err:
        await EvmAnchor.connect(node.url, OTHER_KEY, address)
    assert err.value.reason == Reason.KEY_MISMATCH
    intruder = EvmAnchor(node.url, OTHER_KEY, address, int(node.rpc("eth_chainId"), 16))
    try:
        tx = await intruder.send(1, hashlib.sha256(b"x").digest(), 0, bytes(32))
        assert await _settled(intruder, tx) == "reverted"
        assert await intruder.anchored() == anchoring.GENESIS
    finally:
        await intruder.close()
    old = await deploy(node.url, DEV_KEY, "Anchor")  # version 1: verifiable, not anchored on
    with pytest.raises(BadData) as err:
        await EvmAnchor.connect(node.url, DEV_KEY, old)
    assert err.value.reason == Reason.UNKNOWN_CONTRACT and "version 1" in err.value.message


async def _anchor_once(node: Anvil, store: Store, address: str, now: int) -> Anchorer:
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    anchorer = Anchorer(store, backend, confirmations=1)
    await anchorer.tick(now)
    return anchorer


async def test_a_competing_head_is_alarmed_and_never_overwritten(
    node: Anvil, two_logs: tuple[Store, Store], caplog: pytest.LogCaptureFixture
) -> None:
    """Another process with the chain key anchors history A; our history B must not follow
    it (prev = A would chain B onto A's head) nor replace it: CRITICAL, and nothing sent."""
    ours, theirs = two_logs[1], two_logs[0]
    address = await deploy(node.url, DEV_KEY)
    other = await _anchor_once(node, theirs, address, 1)
    head = await other.backend.anchored()
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    anchorer = Anchorer(ours, backend, confirmations=1)
    try:
        leaves = [batch_leaf(hashlib.sha256(b"more" + bytes([i])).digest()) for i in range(3)]
        await ours.append_leaves(leaves, 2)
        # ours is now ahead: 9 > 5 (each checkpoint ends in its index leaf: 4 + 1, 3 + 1)
        await checkpoint_now(ours, SIGNER, ORIGIN, 2)
        with caplog.at_level(logging.CRITICAL), pytest.raises(CompetingHead) as err:
            await anchorer.tick(3)
        assert err.value.reason == Reason.NOT_APPEND_ONLY
        assert head.root.hex() in caplog.text and (await ours.log_root(5)).hex() in caplog.text
        with pytest.raises(CompetingHead):  # stays stopped: no second look, no send
            await anchorer.tick(4)
        assert [(r.size, r.status) for r in await ours.anchors()] == [(9, "queued")]
        assert await backend.anchored() == head
    finally:
        await backend.close()
        await other.backend.close()


async def test_a_head_beyond_our_log_is_competing(node: Anvil, tmp_path: Path) -> None:
    """A store restored from an older copy: the chain holds a head our log never reached."""
    live = await _log(tmp_path / "live.db", 6, b"x")
    restored = await _log(tmp_path / "old.db", 4, b"x")  # the same history, 2 entries short
    address = await deploy(node.url, DEV_KEY)
    first = await _anchor_once(node, live, address, 1)
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    try:
        with pytest.raises(CompetingHead) as err:
            await Anchorer(restored, backend).tick(2)
        assert "a size our log does not have" in err.value.message
        # Our own head, reached by an earlier run or another of our processes, is not.
        await live.append_leaves([batch_leaf(bytes(32))], 3)
        await checkpoint_now(live, SIGNER, ORIGIN, 3)
        rows = await Anchorer(live, backend).tick(4)
        # 6 + 1 (index leaf) anchored; then 1 + 1 more
        assert [(r.size, r.prev_root) for r in rows][-1] == (9, await live.log_root(7))
    finally:
        await backend.close()
        await first.backend.close()
        await live.close()
        await restored.close()


async def test_the_collector_stops_anchoring_and_reports_it(
    node: Anvil, two_logs: tuple[Store, Store], tmp_path: Path
) -> None:
    address = await deploy(node.url, DEV_KEY)
    other = await _anchor_once(node, two_logs[0], address, 1)
    ours = two_logs[1]
    await ours.append_leaves([batch_leaf(bytes(32))], 2)
    await checkpoint_now(ours, SIGNER, ORIGIN, 2)
    backend = await EvmAnchor.connect(node.url, DEV_KEY, address)
    anchor = AnchorSettings(
        rpc_url=node.url, contract=address, key_file=str(tmp_path / "eth.key"), interval_s=0.05
    )
    settings = Settings(
        store="sqlite:///unused.db", key_file="unused.key", origin=ORIGIN, anchor=anchor
    )
    c = Collector(settings, ours, Ingestor(ours, cose.Signer.from_key(LOG_KEY)),
                  CheckpointSigner(ours, SIGNER, ORIGIN, None))  # fmt: skip
    c.anchorer = Anchorer(ours, backend, confirmations=1)
    try:
        assert c.alarms() == []
        await asyncio.wait_for(c._anchoring(), 10)  # returns: it does not retry forever
        (alarm,) = c.alarms()
        assert "competing head" in alarm and address in alarm
    finally:
        await backend.close()
        await other.backend.close()


async def test_the_deploy_command_deploys_version_2(
    node: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "eth.key"
    key.write_text(DEV_KEY + "\n")
    key.chmod(0o600)  # a key: the collector refuses one others can read
    argv = ["collector", "contract", "deploy", "--rpc", node.url, "--key-file", str(key)]
    assert await asyncio.to_thread(main, argv) == 0
    lines = tomllib.loads(capsys.readouterr().out)  # the [anchor] lines, ready to paste
    assert lines["start_block"] >= 1
    evm = await EvmAnchor.connect(node.url, DEV_KEY, lines["contract"], lines["start_block"])
    try:
        assert await evm.anchored() == anchoring.GENESIS
    finally:
        await evm.close()
