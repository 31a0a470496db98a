"""`vnotary monitor` against a real collector API process (SQLite): it follows the published
checkpoints, and a split view, a rewrite or a rollback shown to it (even one the witnesses'
keys were made to cosign: the monitor is the last line) ends in exit 1 with both signed
checkpoints in an evidence file; the alarm is sticky."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.log.checkpoints import CheckpointSigner, WitnessPolicy
from collector.log.leaves import batch_leaf
from collector.settings import write_key
from collector.store.base import CheckpointRow, Store
from collector.store.open import open_store
from collector.store.witnessed import WitnessedStore
from monitor.follow import Head, Verdict, judge
from notary_core import merkle
from notary_core.checkpoint import Checkpoint, NoteSigner, open_checkpoint, sign_checkpoint
from notary_core.witness import WitnessSigner, add_signatures
from tests.collector import tamper
from tests.infra.witness import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORIGIN = "collector.test/log"


def test_judge_names_every_case() -> None:
    tree = merkle.MerkleTree([merkle.hash_leaf(bytes([i])) for i in range(9)])
    other = merkle.MerkleTree([merkle.hash_leaf(bytes([i + 1])) for i in range(9)])

    def head(t: merkle.MerkleTree, size: int) -> Head:
        return Head("test", ORIGIN, size, t.subtree_root(0, size), b"")

    h5, h9 = head(tree, 5), head(tree, 9)
    assert judge(None, h5, None).verdict is Verdict.ADVANCED
    assert judge(h5, h5, None).verdict is Verdict.SAME
    assert judge(h5, head(other, 5), None).verdict is Verdict.FORK
    assert judge(h5, h9, tree.consistency_proof(5)).verdict is Verdict.ADVANCED
    assert judge(h9, h5, tree.consistency_proof(5)).verdict is Verdict.STALE
    assert judge(h5, head(other, 9), other.consistency_proof(5)).verdict is Verdict.REWRITE
    assert judge(h9, h5, None).verdict is Verdict.REWRITE  # the log cannot prove it any more


@dataclass
class Stack:
    url: str  # the collector API
    store_url: str
    key: NoteSigner
    witnesses: tuple[WitnessSigner, ...]
    trust: Path
    state: Path

    async def publish(self, store: Store, grow: int, tag: str = "") -> CheckpointRow:
        """Append entries, sign (through the guard) and cosign with both witness keys."""
        size = await store.log_size()
        await store.append_leaves([batch_leaf(hashlib.sha256(f"{tag}{size + i}".encode())
                                              .digest()) for i in range(grow)], 1)  # fmt: skip
        policy = WitnessPolicy(tuple(w.verifier for w in self.witnesses), 2)
        row = await CheckpointSigner(store, self.key, ORIGIN, None, policy).sign_if_grown(2)
        assert row is not None
        return await self.cosign(store, row)

    async def cosign(self, store: Store, row: CheckpointRow) -> CheckpointRow:
        body = Checkpoint(ORIGIN, row.size, row.root).body()
        note = add_signatures(row.note, [w.cosign(body, 1_800_000_000) for w in self.witnesses])
        await WitnessedStore(store).publish(row.size, note, 3)
        return CheckpointRow(row.size, row.root, note, 3)

    def monitor(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vnotary_cli.main", "monitor", "--collector", self.url,
             "--state", str(self.state), "--trust", str(self.trust), "--once"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    key = NoteSigner("collector.test", write_key(tmp_path / "collector.key"))
    witnesses = tuple(WitnessSigner(f"witness.test/w{i}", ed25519.Ed25519PrivateKey.generate())
                      for i in (1, 2))  # fmt: skip
    store_url = f"sqlite:///{tmp_path / 'c.db'}"
    cfg = tmp_path / "collector.toml"
    cfg.write_text(f'store = "{store_url}"\nkey_file = "collector.key"\norigin = "{ORIGIN}"\n')
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"version": 1, "log_vkeys": [key.verifier.vkey],
                                 "witnesses": [w.verifier.vkey for w in witnesses],
                                 "witness_quorum": 2}))  # fmt: skip
    async with await open_store(store_url):
        pass  # migrated before the API process opens it
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "vnotary_cli.main", "collector", "serve", "--config", str(cfg),
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert time.monotonic() < deadline and api.poll() is None
            time.sleep(0.1)
        yield Stack(f"http://127.0.0.1:{port}", store_url, key, witnesses, trust,
                    tmp_path / "monitor")  # fmt: skip
    finally:
        api.terminate()
        api.wait(15)


def _evidence(stderr: str) -> dict[str, object]:
    path = stderr.rsplit(" in ", 1)[1].strip()
    doc: dict[str, object] = json.loads(Path(path).read_text())
    return doc


async def test_follows_then_alarms_on_a_split_view(stack: Stack) -> None:
    async with await open_store(stack.store_url) as store:
        await stack.publish(store, 5)
        first = stack.monitor()
        assert first.returncode == 0 and "ADVANCED: first head" in first.stdout, first
        await stack.publish(store, 4)
        grown = stack.monitor()
        # each signed checkpoint ends in its index leaf (protocol §7.3): 5 + 1, then 4 + 1 more
        assert grown.returncode == 0 and "ADVANCED: size 6 -> 11, consistent" in grown.stdout
        assert "cosigned by witness.test/w1, witness.test/w2" in grown.stdout
        assert "SAME" in stack.monitor().stdout
        # Split view: the collector now shows another tree of size 11, signed and cosigned.
        tamper.rewrite_leaf(stack.store_url, 7, batch_leaf(bytes(32)))
        root = await store.log_root(11)
        forged = sign_checkpoint(Checkpoint(ORIGIN, 11, root), [stack.key])
        async with store.transaction() as tx:
            await tx.exec("UPDATE checkpoints SET note = ?, root = ?, cosigned_note = NULL "
                          "WHERE size = 11", (forged, root))  # fmt: skip
        await stack.cosign(store, CheckpointRow(11, root, forged, 4))
    alarm = stack.monitor()
    assert alarm.returncode == 1 and "FORK ALARM" in alarm.stderr, alarm
    doc = _evidence(alarm.stderr)
    notes = [c["signed_note"].encode() for c in doc["checkpoints"]]  # type: ignore[attr-defined]
    a, b = (open_checkpoint(n, [stack.key.verifier]) for n in notes)
    assert a.size == b.size == 11 and a.root != b.root  # both signed by the log: conclusive
    again = stack.monitor()
    assert again.returncode == 1 and "ALARM still open" in again.stderr


async def test_a_rewrite_and_a_rollback_are_alarms(stack: Stack, tmp_path: Path) -> None:
    async with await open_store(stack.store_url) as store:
        await stack.publish(store, 6)
        assert stack.monitor().returncode == 0
        tamper.rewrite_leaf(stack.store_url, 2, batch_leaf(bytes(32)))
    async with await open_store(stack.store_url) as store:
        tamper.delete_checkpoints(stack.store_url)
        await stack.publish(store, 3, tag="after")  # signed and cosigned by stolen keys
    alarm = stack.monitor()
    assert alarm.returncode == 1 and "REWRITE ALARM" in alarm.stderr, alarm
    doc = _evidence(alarm.stderr)
    assert doc["consistency_proof_served"]["size1"] == 7  # type: ignore[index]  # 6 + index leaf
    # A rollback: a fresh monitor saw size 11; the log is cut back to 4 and shows that.
    stack.state = tmp_path / "monitor2"
    assert stack.monitor().returncode == 0
    tamper.truncate(stack.store_url, 4)
    tamper.delete_checkpoints(stack.store_url)
    async with await open_store(stack.store_url) as store:
        row = CheckpointRow(4, await store.log_root(4),
                            sign_checkpoint(Checkpoint(ORIGIN, 4, await store.log_root(4)),
                                            [stack.key]), 5)  # fmt: skip
        await store.add_checkpoint(row)
        await stack.cosign(store, row)
    rollback = stack.monitor()
    assert rollback.returncode == 1 and "REWRITE ALARM" in rollback.stderr
    assert "cannot prove that size 11 extends size 4" in rollback.stderr


async def test_unreachable_or_unauthentic_decides_nothing(stack: Stack) -> None:
    bad = stack.monitor()  # nothing published yet: HTTP 404
    assert bad.returncode == 3 and "could not check" in bad.stdout
    async with await open_store(stack.store_url) as store:
        row = await stack.publish(store, 3)
        async with store.transaction() as tx:  # one cosignature short of the quorum
            note = row.note.decode().rsplit("\u2014 witness.test/w2", 1)[0].encode()
            await tx.exec("UPDATE checkpoints SET cosigned_note = ? WHERE size = ?",
                          (note, row.size))  # fmt: skip
    short = stack.monitor()
    assert short.returncode == 3 and "QUORUM_NOT_MET" in short.stdout
    assert not (stack.state / "state.json").exists()  # nothing was taken as verified
