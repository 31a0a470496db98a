"""`vnotary verify`: exit codes, transcript, trust file, and a real chain node for --rpc."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from eth_utils import keccak

from collector.log.anchor_evm import EvmAnchor, deploy
from notary_core import bundle
from tests.core.bundle_factory import World, build, make_world
from tests.infra.anvil import DEV_KEY, anvil_node
from verifier.chain_rpc import ANCHORED_TOPIC


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", *args], capture_output=True, text=True, check=False
    )


def trust_file(tmp: Path, w: World, contract: tuple[int, str] | None = None) -> Path:
    doc: dict[str, object] = {
        "version": 1,
        "log_vkeys": [w.log_key.verifier.vkey],
        "collector_keys": [base64.b64encode(w.collector.public.spki()).decode()],
        "witnesses": [x.verifier.vkey for x in w.witnesses],
        "witness_quorum": 2,
    }
    if contract:
        doc["anchor_contracts"] = [{"chain_id": contract[0], "address": contract[1]}]
    path = tmp / "trust.json"
    path.write_text(json.dumps(doc))
    return path


def test_topic_constant_is_the_events_keccak() -> None:
    assert "0x" + keccak(text="Anchored(bytes32,uint64,bytes32)").hex() == ANCHORED_TOPIC


def test_exit_codes_and_transcript(tmp_path: Path) -> None:
    w = make_world()
    good = tmp_path / "good.vnb"
    good.write_bytes(build(w))
    proc = verify(str(good), "--trust", str(trust_file(tmp_path, w)), "--json")
    assert proc.returncode == 0, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "OK" and doc["summary"]["disclosed_records"] > 0
    assert verify(str(good)).returncode == 3  # nothing pinned, nothing checked on chain
    bad = tmp_path / "bad.vnb"
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    proc = verify(str(bad), "--trust", str(trust_file(tmp_path, w)))
    assert proc.returncode == 1 and "verdict: FAIL" in proc.stdout
    assert verify(str(tmp_path / "missing.vnb")).returncode == 4
    assert "cosigned by 2 pinned witnesses: witness.example/w1, witness.example/w2" in verify(
        str(good), "--trust", str(trust_file(tmp_path, w))).stdout  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: {}, "$.version: is required"),
        (lambda d: d | {"witness": d["witnesses"]}, "$.witness: unknown key (did you mean"),
        (lambda d: d | {"witness_quorum": 4}, "$.witness_quorum: 4 of 3 witnesses"),
        (lambda d: d | {"witness_quorum": 0}, "$.witness_quorum: must be an integer >= 1"),
        (lambda d: d | {"witness_quorum": "2"}, "$.witness_quorum: must be an integer >= 1"),
        (lambda d: d | {"witnesses": [d["log_vkeys"][0]]}, "$.witnesses[0]: not a witness"),
        (
            lambda d: {"version": 1, "log_vkeys": d["log_vkeys"], "witness_quorum": 1},
            "$.witness_quorum: needs witnesses",
        ),
    ],
)
def test_a_trust_file_that_says_something_odd_is_refused(
    tmp_path: Path, edit: object, message: str
) -> None:
    w = make_world()
    good = tmp_path / "good.vnb"
    good.write_bytes(build(w))
    path = trust_file(tmp_path, w)
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))  # type: ignore[operator]
    proc = verify(str(good), "--trust", str(path))
    assert proc.returncode == 4 and message in proc.stderr, proc.stderr


def test_pinned_keys_without_witnesses_leave_an_offline_bundle_inconclusive(
    tmp_path: Path,
) -> None:
    w = make_world()
    good = tmp_path / "good.vnb"
    good.write_bytes(build(w))
    path = trust_file(tmp_path, w)
    doc = json.loads(path.read_text())
    del doc["witnesses"], doc["witness_quorum"]
    path.write_text(json.dumps(doc))
    proc = verify(str(good), "--trust", str(path))
    assert proc.returncode == 3 and "trust.root [UNTRUSTED]" in proc.stdout


@pytest.mark.integration
def test_rpc_confirms_a_real_anchor_and_refutes_another_tx(tmp_path: Path) -> None:
    w = make_world()
    with anvil_node() as node:
        address = asyncio.run(deploy(node.url, DEV_KEY))
        data = build(w)
        b = bundle.parse_bundle(data).bundle
        assert b.anchor is not None

        async def anchor() -> tuple[bytes, int, bytes, int]:
            evm = await EvmAnchor.connect(node.url, DEV_KEY, address)
            try:
                tx = await evm.send(b.anchor.tree_size, b.anchor.root, 0, bytes(32))  # type: ignore[union-attr]
                node.mine(1)
                mined = await evm.status(tx)
                assert not isinstance(mined, str)
                return tx, mined.block_number, mined.block_hash, mined.block_time
            finally:
                await evm.close()

        tx, number, block_hash, block_time = asyncio.run(anchor())
        chain_id = int(node.rpc("eth_chainId"), 16)
        ref = replace(b.anchor, chain_id=chain_id, contract=bytes.fromhex(address[2:]),
                      tx_hash=tx, block_number=number, block_hash=block_hash,
                      block_time=block_time)  # fmt: skip
        path = tmp_path / "anchored.vnb"
        path.write_bytes(replace(b, anchor=ref).sign(w.collector))
        trust = trust_file(tmp_path, w, (chain_id, address))
        node.mine(12)
        proc = verify(str(path), "--trust", str(trust), "--rpc", node.url, "--json")
        assert proc.returncode == 0, proc.stdout
        checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
        assert checks["anchor.on_chain"]["status"] == "pass"
        assert checks["anchor.append_only"]["status"] == "pass"
        # Not yet final with fewer confirmations than asked for: INCONCLUSIVE, not OK.
        proc = verify(
            str(path), "--rpc", node.url, "--confirmations", "1000", "--trust", str(trust)
        )
        assert proc.returncode == 3
        # The bundle claims another time for the anchor than the block's own timestamp.
        path.write_bytes(
            replace(b, anchor=replace(ref, block_time=block_time - 3600)).sign(w.collector)
        )
        proc = verify(str(path), "--trust", str(trust), "--rpc", node.url, "--json")
        assert proc.returncode == 1
        assert "ANCHOR_MISMATCH" in json.loads(proc.stdout)["reasons"]
        # The anchor reference points at another transaction (the contract's deployment).
        other = node.rpc("eth_getBlockByNumber", "0x1", False)["transactions"][0]
        forged = replace(ref, tx_hash=bytes.fromhex(other[2:]))
        path.write_bytes(replace(b, anchor=forged).sign(w.collector))
        proc = verify(str(path), "--trust", str(trust), "--rpc", node.url, "--json")
        assert proc.returncode == 1
        assert "ANCHOR_MISMATCH" in json.loads(proc.stdout)["reasons"]
        # The node is gone: undecided, never a crash.
        node.stop()
        proc = verify(str(path), "--trust", str(trust), "--rpc", node.url)
        assert proc.returncode in (1, 3) and "UNREACHABLE" in proc.stdout
