"""`vnotary verify --rpc [--collector]` on the contract's chain of heads, all for real: anvil,
the collector's log API as its own process over HTTP, the verifier as a subprocess.

Version 2: a bundle whose checkpoint is the head verifies; a newer head needs a consistency
proof (undecided without `--collector`, OK with a real one, FAIL when the collector's tree
was rewritten). Version 1: a bundle stays verifiable, and the split view of issue 11 (two
checkpoints of one size, both signed by the log key, both anchored) fails both bundles.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from collector.log.anchor_evm import EvmAnchor, deploy, load_artifact
from collector.log.leaves import batch_leaf
from collector.settings import write_key
from collector.store.open import open_store
from notary_core import bundle, grant, logleaf, merkle
from tests.core.bundle_factory import T0, World, build, make_world, owner_grant
from tests.infra.anvil import DEV_KEY, Anvil, anvil_node
from tests.verifier.test_verify_cli import trust_file, verify

pytestmark = pytest.mark.integration
Mined = tuple[bytes, int, bytes, int]  # tx hash, block number, block hash, block time


@pytest.fixture
def node() -> Iterator[Anvil]:
    with anvil_node() as n:
        yield n


def _leaves(w: World, jti: str = "g-1") -> list[bytes]:
    """The log as tests.core.bundle_factory.build writes it for one grant."""
    g = owner_grant(w, jti=jti)
    grant_leaf = logleaf.AccessEvent(logleaf.AccessAction.GRANT, g.vehicle, g.iss, g.jti,
                                     g.window_start_ns, g.window_end_ns, T0).to_leaf()  # fmt: skip
    return [*w.leaves, grant_leaf]


def _bundle(w: World, jti: str = "g-1") -> bundle.EvidenceBundle:
    token = grant.issue(owner_grant(w, jti=jti), w.owner)
    b = bundle.parse_bundle(build(w, grants=[token])).bundle
    assert b.anchor is not None
    assert merkle.root_from_leaf_hashes([merkle.hash_leaf(x) for x in _leaves(w, jti)]) == (
        b.anchor.root
    )
    return b


def _anchored(node: Anvil, w: World, b: bundle.EvidenceBundle, address: str, m: Mined) -> bytes:
    assert b.anchor is not None
    ref = replace(b.anchor, chain_id=int(node.rpc("eth_chainId"), 16),
                  contract=bytes.fromhex(address[2:]), tx_hash=m[0], block_number=m[1],
                  block_hash=m[2], block_time=m[3])  # fmt: skip
    return replace(b, anchor=ref).sign(w.collector)


def _v2(node: Anvil, address: str, size: int, root: bytes, prev: tuple[int, bytes]) -> Mined:
    async def go() -> Mined:
        evm = await EvmAnchor.connect(node.url, DEV_KEY, address)
        try:
            tx = await evm.send(size, root, *prev)
            node.mine(1)
            m = await evm.status(tx)
            assert not isinstance(m, str), m
            return tx, m.block_number, m.block_hash, m.block_time
        finally:
            await evm.close()

    return asyncio.run(go())


def _v1(node: Anvil, address: str, size: int, root: bytes, prev_root: bytes) -> Mined:
    """An anchor on the version-1 contract, as collectors before version 2 sent them."""
    w3 = Web3(Web3.HTTPProvider(node.url))
    c = w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact("Anchor")["abi"]
    )
    acct = w3.eth.account.from_key(DEV_KEY)
    tx = c.functions.anchor(size, root, prev_root).build_transaction(
        {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address), "gas": 60_000}
    )
    h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    node.mine(1)
    r = w3.eth.get_transaction_receipt(h)
    stamp = int(w3.eth.get_block(r["blockNumber"])["timestamp"])
    w3.provider._request_session_manager.cache_and_return_session(node.url).close()  # type: ignore[attr-defined]
    return bytes(h), int(r["blockNumber"]), bytes(r["blockHash"]), stamp


def _store(path: Path, leaves: list[bytes]) -> bytes:
    """A collector store holding `leaves`; returns its root."""

    async def go() -> bytes:
        async with await open_store(f"sqlite:///{path}") as s:
            await s.append_leaves(leaves, 1)
            return await s.log_root(len(leaves))

    return asyncio.run(go())


@contextlib.contextmanager
def collector_api(tmp: Path, db: Path) -> Iterator[str]:
    """`vnotary collector serve` over the store at `db`, in its own process."""
    write_key(tmp / f"{db.stem}.key")
    cfg = tmp / f"{db.stem}.toml"
    cfg.write_text(f'store = "sqlite:///{db}"\nkey_file = "{db.stem}.key"\n'
                   'origin = "collector.example/vnotary/log"\n', encoding="utf-8")  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnotary_cli.main", "collector", "serve", "--config", str(cfg),
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the collector API did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def _run(path: Path, trust: Path, node: Anvil, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = verify(str(path), "--trust", str(trust), "--rpc", node.url, "--confirmations", "1",
                  "--json", *extra)  # fmt: skip
    doc = json.loads(proc.stdout)
    return proc.returncode, {c["name"]: c for c in doc["checks"]} | {"reasons": doc["reasons"]}


def test_v2_head_newer_head_proof_and_rewrite(node: Anvil, tmp_path: Path) -> None:
    w = make_world()
    b = _bundle(w)
    assert b.anchor is not None
    size, root = b.anchor.tree_size, b.anchor.root
    address = asyncio.run(deploy(node.url, DEV_KEY))
    path = tmp_path / "b.vnb"
    path.write_bytes(_anchored(node, w, b, address, _v2(node, address, size, root, (0, bytes(32)))))
    trust = trust_file(tmp_path, w, (int(node.rpc("eth_chainId"), 16), address))
    code, checks = _run(path, trust, node)
    assert code == 0, checks
    assert "is the contract's head (version 2)" in checks["anchor.append_only"]["detail"]

    # The log grows and its newer checkpoint is anchored on top of the bundle's.
    more = [batch_leaf(hashlib.sha256(bytes([i])).digest()) for i in range(7)]
    honest = _store(tmp_path / "honest.db", [*_leaves(w), *more])
    _v2(node, address, size + 7, honest, (size, root))
    code, checks = _run(path, trust, node)
    assert code == 3 and checks["anchor.append_only"]["status"] == "undecided"
    assert checks["anchor.append_only"]["reason"] == "CONSISTENCY_UNPROVEN"
    assert "--collector" in checks["anchor.append_only"]["detail"]
    with collector_api(tmp_path, tmp_path / "honest.db") as url:
        code, checks = _run(path, trust, node, "--collector", url)
        assert code == 0, checks
        assert "consistent with the newer anchored head" in checks["anchor.append_only"]["detail"]
    code, checks = _run(path, trust, node, "--collector", url)  # the collector is gone
    assert code == 3 and checks["anchor.append_only"]["reason"] == "CONSISTENCY_UNPROVEN"

    # The rewrite of issue 11: an entry of the bundle's window replaced, the tree recomputed,
    # grown and anchored (the contract takes it: it grows). Its proof cannot verify.
    forged_leaves = [*_leaves(w), *more, batch_leaf(bytes(32))]
    forged_leaves[4] = batch_leaf(hashlib.sha256(b"forged").digest())
    forged = _store(tmp_path / "forged.db", forged_leaves)
    _v2(node, address, size + 8, forged, (size + 7, honest))
    with collector_api(tmp_path, tmp_path / "forged.db") as url:
        code, checks = _run(path, trust, node, "--collector", url)
    assert code == 1 and checks["reasons"] == ["NOT_APPEND_ONLY"], checks
    assert checks["anchor.on_chain"]["status"] == "pass"  # the bundle's own anchor is there


def test_v1_bundles_verify_and_a_split_view_fails_both(node: Anvil, tmp_path: Path) -> None:
    w = make_world()
    a, b = _bundle(w, "g-1"), _bundle(w, "g-2")
    assert a.anchor is not None and b.anchor is not None
    assert a.anchor.tree_size == b.anchor.tree_size and a.anchor.root != b.anchor.root
    address = asyncio.run(deploy(node.url, DEV_KEY, "Anchor"))
    trust = trust_file(tmp_path, w, (int(node.rpc("eth_chainId"), 16), address))
    first = _v1(node, address, a.anchor.tree_size, a.anchor.root, bytes(32))
    path_a, path_b = tmp_path / "a.vnb", tmp_path / "b.vnb"
    path_a.write_bytes(_anchored(node, w, a, address, first))
    code, checks = _run(path_a, trust, node)
    assert code == 0, checks  # a version-1 bundle stays verifiable
    assert "version 1" in checks["anchor.append_only"]["detail"]
    second = _v1(node, address, b.anchor.tree_size, b.anchor.root, a.anchor.root)
    path_b.write_bytes(_anchored(node, w, b, address, second))
    for path in (path_a, path_b):
        code, checks = _run(path, trust, node)
        assert code == 1 and checks["reasons"] == ["SPLIT_VIEW"], checks
        assert a.anchor.root.hex() in checks["anchor.append_only"]["detail"]


def test_an_unknown_contract_fails(node: Anvil, tmp_path: Path) -> None:
    """Code that is neither version (here the measured on-chain-proof variant) proves nothing."""
    w = make_world()
    b = _bundle(w)
    assert b.anchor is not None
    address = asyncio.run(deploy(node.url, DEV_KEY, "AnchorV2Proof"))
    w3 = Web3(Web3.HTTPProvider(node.url))
    art = load_artifact("AnchorV2Proof")
    c = w3.eth.contract(address=Web3.to_checksum_address(address), abi=art["abi"])
    acct = w3.eth.account.from_key(DEV_KEY)
    tx = c.functions.anchor(b.anchor.tree_size, b.anchor.root, 0, bytes(32), []).build_transaction(
        {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address), "gas": 200_000}
    )
    h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    node.mine(1)
    r = w3.eth.get_transaction_receipt(h)
    stamp = int(w3.eth.get_block(r["blockNumber"])["timestamp"])
    w3.provider._request_session_manager.cache_and_return_session(node.url).close()  # type: ignore[attr-defined]
    path = tmp_path / "b.vnb"
    path.write_bytes(
        _anchored(node, w, b, address, (bytes(h), r["blockNumber"], bytes(r["blockHash"]), stamp))
    )
    code, checks = _run(path, trust_file(tmp_path, w), node)
    assert code == 1 and "UNKNOWN_CONTRACT" in checks["reasons"], checks
