"""The signer guard on both stores: an honest log is signed; a leaf rewritten with the tree
recomputed, a truncated tree and a restored older copy are each refused, the refusal is
sticky across a restart, and only an operator's resume on a consistent store lifts it."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.log.checkpoints import CheckpointSigner, SignerRefused, WitnessPolicy
from collector.log.leaves import batch_leaf
from collector.log.signer_state import StateFile
from collector.store.base import Store
from collector.store.open import open_store
from collector.store.witnessed import WitnessedStore
from notary_core.checkpoint import NoteSigner, split_note
from notary_core.errors import Reason
from notary_core.witness import WitnessSigner, add_signatures
from tests.collector import tamper

pytestmark = pytest.mark.anyio
ORIGIN = "collector.test/log"
KEY = NoteSigner("collector.test", ed25519.Ed25519PrivateKey.generate())


async def _grow(store: Store, n: int, tag: str = "") -> None:
    size = await store.log_size()
    await store.append_leaves(
        [batch_leaf(hashlib.sha256(f"{tag}{size + i}".encode()).digest()) for i in range(n)], 1
    )


NO_WITNESSES = WitnessPolicy()


def _signer(
    store: Store, state: Path | None, witnesses: WitnessPolicy = NO_WITNESSES
) -> CheckpointSigner:
    return CheckpointSigner(store, KEY, ORIGIN, None if state is None else StateFile(state),
                            witnesses)  # fmt: skip


async def _refused(signer: CheckpointSigner) -> SignerRefused:
    with pytest.raises(SignerRefused) as err:
        await signer.sign_if_grown(2)
    return err.value


def snapshot(url: str, tmp: Path) -> str:
    """An older copy of the database, as a backup would have it (the store must be closed)."""
    if url.startswith("sqlite:///"):
        src = Path(url.removeprefix("sqlite:///"))
        dst = tmp / f"copy-{uuid.uuid4().hex[:6]}.db"
        shutil.copy(src, dst)
        return f"sqlite:///{dst}"
    base, name = url.rsplit("/", 1)
    copy = f"c_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as db:
        db.execute(f"CREATE DATABASE {copy} TEMPLATE {name}")
    return f"{base}/{copy}"


async def test_honest_growth_is_signed_and_the_state_is_replaced_atomically(
    store: Store, tmp_path: Path
) -> None:
    signer = _signer(store, tmp_path / "state.json")
    await _grow(store, 5)
    # Each signed checkpoint ends in its index leaf (protocol §7.3): 5 + 1, then 3 + 1 more.
    assert (await signer.sign_if_grown(1)).size == 6  # type: ignore[union-attr]
    assert await signer.sign_if_grown(1) is None  # nothing new
    await _grow(store, 3)
    row = await signer.sign_if_grown(1)
    assert row is not None and row.size == 10
    doc = json.loads((tmp_path / "state.json").read_text())
    assert (doc["size"], doc["halt"]) == (10, None) and doc["note"] == row.note.decode()
    assert not (tmp_path / "state.json.tmp").exists()
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
    assert (await store.latest_published_checkpoint()) == row  # quorum 0: published at once
    assert await signer.problems() == []


async def test_a_rewritten_leaf_with_the_tree_recomputed_is_refused(
    store_url: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    async with await open_store(store_url) as store:
        await _grow(store, 8)
        await _signer(store, state).sign_if_grown(1)
    signed = json.loads(state.read_text())["root"]
    tamper.rewrite_leaf(store_url, 2, batch_leaf(bytes(32)))  # an EXPORT leaf vanishes
    async with await open_store(store_url) as store:
        await _grow(store, 1)
        exc = await _refused(_signer(store, state))
        assert exc.reason is Reason.REWRITE and signed in exc.message
        # the forged tree as the signer saw it: 8 + 1 (index) + 1, and the index leaf it
        # appended before the guard's check
        forged = base64.b64encode(await store.log_root(await store.log_size())).decode()
        assert forged in exc.message and "does not extend" in exc.message  # both roots named
        assert (await store.latest_checkpoint()).size == 9  # type: ignore[union-attr]  # nothing signed
        halt = json.loads(state.read_text())["halt"]
        assert halt["reason"] == "REWRITE" and halt["store_size"] == await store.log_size()
        (alarm,) = await WitnessedStore(store).open_alarms()
        assert (alarm.kind, alarm.source) == ("REWRITE", "signer")
        again = await _refused(_signer(store, state))  # a restart: refused before any check
        assert "halted since" in again.message
        assert any("signer halted" in p for p in await _signer(store, state).problems())
        with pytest.raises(SignerRefused):
            await _signer(store, state).resume(3)  # the store is still rewritten


async def test_another_machine_without_state_is_bound_by_the_stores_signed_checkpoint(
    store_url: str, tmp_path: Path
) -> None:
    async with await open_store(store_url) as store:
        await _grow(store, 8)
        await _signer(store, tmp_path / "a.json").sign_if_grown(1)
    tamper.rewrite_leaf(store_url, 5, batch_leaf(bytes(32)))
    async with await open_store(store_url) as store:
        await _grow(store, 2)
        exc = await _refused(_signer(store, tmp_path / "b.json"))  # machine b never signed
        assert "the store's latest signed checkpoint" in exc.message


async def test_a_truncated_tree_is_refused_before_the_log_grows_again(
    store_url: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    async with await open_store(store_url) as store:
        await _grow(store, 8)
        await _signer(store, state).sign_if_grown(1)
    tamper.truncate(store_url, 5)
    tamper.delete_checkpoints(store_url)
    async with await open_store(store_url) as store:
        exc = await _refused(_signer(store, state))
        assert "truncated or rolled back" in exc.message and "size 9" in exc.message  # 8 + 1


async def test_an_older_copy_restored_is_refused_until_the_right_one_is_back(
    store_url: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    async with await open_store(store_url) as store:
        await _grow(store, 5)
        await _signer(store, state).sign_if_grown(1)
    backup = snapshot(store_url, tmp_path)  # last night's copy, at size 6 (5 + the index leaf)
    async with await open_store(store_url) as store:
        await _grow(store, 5)
        await _signer(store, state).sign_if_grown(1)  # size 12 signed
    async with await open_store(backup) as old:  # the operator restores the copy
        exc = await _refused(_signer(old, state))
        assert "size 12" in exc.message and "truncated or rolled back" in exc.message
        await _grow(old, 7, tag="after-restore")  # and the log grows again, differently
        with pytest.raises(SignerRefused):
            await _signer(old, state).resume(3)
    async with await open_store(store_url) as store:  # the right database is back
        signer = _signer(store, state)
        assert "resumed" in await signer.resume(3)
        await _grow(store, 1)
        assert (await signer.sign_if_grown(4)).size == 14  # type: ignore[union-attr]
        assert await WitnessedStore(store).open_alarms() == []


async def test_the_witnessed_checkpoint_binds_a_new_leader(store_url: str, tmp_path: Path) -> None:
    """A new leader on another machine, with the signed rows gone from the store, is still
    bound by the published checkpoint whose cosignatures verify under the pinned keys; a
    published note with a forged cosignature binds nothing and is ignored."""
    w1, w2 = (WitnessSigner(f"w.test/{i}", ed25519.Ed25519PrivateKey.generate()) for i in (1, 2))
    policy = WitnessPolicy((w1.verifier, w2.verifier), 2)
    async with await open_store(store_url) as store:
        await _grow(store, 6)
        row = await _signer(store, tmp_path / "a.json", policy).sign_if_grown(1)
        assert row is not None and await store.latest_published_checkpoint() is None
        body = split_note(row.note)[0]
        note = add_signatures(row.note, [w1.cosign(body, 10), w2.cosign(body, 11)])
        await WitnessedStore(store).publish(row.size, note, 2)
    tamper.rewrite_leaf(store_url, 1, batch_leaf(bytes(32)))
    async with await open_store(store_url) as store:
        await _grow(store, 2)
        exc = await _refused(_signer(store, tmp_path / "b.json", policy))
        assert "does not extend" in exc.message


async def test_what_the_witnesses_cosigned_binds_a_machine_that_never_signed(
    store_url: str, tmp_path: Path
) -> None:
    """The whole database restored from an older copy, checkpoints and all: a machine
    without a state file learns from the witnesses' answers (their state, not the store's)
    that size 12 was cosigned, and the copy holds no checkpoint of that size."""
    async with await open_store(store_url) as store:
        await _grow(store, 5)
        await _signer(store, tmp_path / "a.json").sign_if_grown(1)
    backup = snapshot(store_url, tmp_path)
    async with await open_store(store_url) as store:
        await _grow(store, 5)
        await _signer(store, tmp_path / "a.json").sign_if_grown(1)
    asked: list[bytes] = []

    async def witnesses_say(empty_note: bytes) -> dict[str, int]:  # their 409 answers
        asked.append(empty_note)
        return {"w.test/1": 12, "w.test/2": 12}  # (5 + 1) + (5 + 1): each with its index leaf

    async with await open_store(backup) as old:
        await _grow(old, 9, tag="after-restore")
        signer = CheckpointSigner(old, KEY, ORIGIN, StateFile(tmp_path / "b.json"),
                                  probe=witnesses_say)  # fmt: skip
        exc = await _refused(signer)
        assert "witness w.test/1 cosigned is at size 12" in exc.message
        assert split_note(asked[0])[0].split(b"\n")[1] == b"0"  # it asked with the empty tree
    async with await open_store(store_url) as store:  # the live database passes the probe
        await _grow(store, 1)
        signer = CheckpointSigner(store, KEY, ORIGIN, StateFile(tmp_path / "c.json"),
                                  probe=witnesses_say)  # fmt: skip
        assert (await signer.sign_if_grown(3)).size == 14  # type: ignore[union-attr]
