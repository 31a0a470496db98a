"""Separate keys for separate statements (issue 16 §3, protocol §6, §6.3): the collector's
settings name a log key (checkpoints), a receipt key and a bundle key, `key_file` the
default of all three; `collector keygen --for` prints each public key the way it is pinned;
a log key rotation cosigns checkpoints with both keys, against a real SQLite store, and the
trust file and /v1/trust (real HTTP) publish old and new."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.log.leaves import batch_leaf
from collector.log.witnesses import Witnessing
from collector.settings import Settings
from collector.store.base import CheckpointRow
from collector.store.open import open_store
from notary_core.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from notary_core.errors import BadData
from notary_core.witness import require_quorum
from tests.collector.test_api_cli import _pubkey, served
from tests.infra.witness import WitnessProc, witness_process
from verifier.trust import load_trust_bytes
from vnotary_cli.main import main
from vnotary_cli.owner import _signing_key

ORIGIN = "collector.test/log"
HEAD = f'store = "sqlite:///c.db"\norigin = "{ORIGIN}"\nsigner_state = "signer.json"\n'


def _keygen(tmp_path: Path, name: str, *extra: str) -> str:
    return _cli(tmp_path, "collector", "keygen", "--out", str(tmp_path / name), *extra)


def _cli(tmp_path: Path, *argv: str) -> str:
    """Run `vnotary ...` in this process; its stdout."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(list(argv))
    assert code == 0, argv
    return buf.getvalue()


def _config(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "collector.toml"
    cfg.write_text(HEAD + text, encoding="utf-8")
    return cfg


def test_key_file_alone_signs_all_three_statements(tmp_path: Path) -> None:
    _keygen(tmp_path, "c.key")
    s = Settings.load(_config(tmp_path, 'key_file = "c.key"\n'))
    raw = s.signing_key(s.key_file).public_key()
    assert s.note_signer().verifier.vkey == NoteVerifier.from_public("collector.test", raw).vkey
    assert s.receipt_signer().public.spki() == s.bundle_signer().public.spki()
    assert s.log_vkeys() == [s.note_signer().verifier.vkey]


def test_each_statement_has_its_own_key(tmp_path: Path) -> None:
    vkey = _keygen(tmp_path, "log.key", "--for", "log", "--origin", ORIGIN).strip()
    receipt_pem = _keygen(tmp_path, "receipt.key", "--for", "receipt")
    bundle_b64 = _keygen(tmp_path, "bundle.key", "--for", "bundle").strip()
    s = Settings.load(_config(tmp_path, 'log_key_file = "log.key"\nreceipt_key_file = '
                              '"receipt.key"\nbundle_key_file = "bundle.key"\n'))  # fmt: skip
    assert s.key_file is None
    assert s.note_signer().verifier.vkey == vkey and s.log_vkeys() == [vkey]
    assert base64.b64encode(s.bundle_signer().public.spki()).decode() == bundle_b64
    assert s.bundle_keys() == [bundle_b64]
    pem = serialization.load_pem_public_key(receipt_pem.encode())
    der = pem.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert s.receipt_signer().public.spki() == der
    assert len({s.receipt_signer().public.spki(), s.bundle_signer().public.spki(),
                s.note_signer().key.public_key().public_bytes_raw()}) == 3  # fmt: skip
    # keys of different statements are different keys
    assert s.receipt_signer().public.spki() != s.bundle_signer().public.spki()


def test_a_statement_without_a_key_is_refused(tmp_path: Path) -> None:
    _keygen(tmp_path, "log.key")
    with pytest.raises(BadData) as exc:
        Settings.load(_config(tmp_path, 'log_key_file = "log.key"\n'))
    assert "key_file: missing" in str(exc.value)


def test_a_log_key_rotation_needs_the_signer_state_and_a_new_key(tmp_path: Path) -> None:
    _keygen(tmp_path, "a.key")
    cfg = tmp_path / "collector.toml"
    cfg.write_text(f'store = "sqlite:///c.db"\norigin = "{ORIGIN}"\nkey_file = "a.key"\n'
                   'previous_log_key_file = "a.key"\n')  # fmt: skip
    with pytest.raises(BadData) as exc:
        Settings.load(cfg)
    assert "needs signer_state" in str(exc.value)
    with pytest.raises(BadData) as exc:
        Settings.load(_config(tmp_path, 'key_file = "a.key"\nprevious_log_key_file = "a.key"\n'))
    assert "rotate to a new key" in str(exc.value)
    with pytest.raises(BadData) as exc:
        Settings.load(_config(tmp_path, 'key_file = "a.key"\nretired_log_vkeys = ["x+1+2"]\n'))
    assert "retired_log_vkeys" in str(exc.value)


def test_keygen_for_log_needs_the_origin(tmp_path: Path) -> None:
    assert main(["collector", "keygen", "--for", "log", "--out", str(tmp_path / "k")]) == 2
    assert not (tmp_path / "k").exists()


def _grow(tmp_path: Path, cfg: Path, device: str) -> str:
    _cli(tmp_path, "collector", "device", "add", "--config", str(cfg), device,
         "--public-key", str(_pubkey(tmp_path, device)))  # fmt: skip
    return _cli(tmp_path, "collector", "log", "checkpoint", "--config", str(cfg))


def test_a_log_key_rotation_cosigns_then_hands_over(tmp_path: Path) -> None:
    old = NoteVerifier.from_vkey(_keygen(tmp_path, "old.key", "--for", "log", "--origin",
                                         ORIGIN).strip())  # fmt: skip
    new = NoteVerifier.from_vkey(_keygen(tmp_path, "new.key", "--for", "log", "--origin",
                                         ORIGIN).strip())  # fmt: skip
    _keygen(tmp_path, "bundle.key")
    keys = 'receipt_key_file = "bundle.key"\nbundle_key_file = "bundle.key"\n'
    before = _config(tmp_path, keys + 'log_key_file = "old.key"\n')
    note = _grow(tmp_path, before, "veh-1").encode()
    open_checkpoint(note, [old], ORIGIN)
    with pytest.raises(BadData):
        open_checkpoint(note, [new], ORIGIN)

    # the rotation: the new key signs, the old one cosigns every checkpoint
    during = _config(tmp_path, keys + 'log_key_file = "new.key"\nprevious_log_key_file = '
                     '"old.key"\n')  # fmt: skip
    note = _grow(tmp_path, during, "veh-2").encode()
    assert open_checkpoint(note, [old], ORIGIN) == open_checkpoint(note, [new], ORIGIN)
    assert note.count("— collector.test ".encode()) == 2
    _cli(tmp_path, "collector", "trust", "--config", str(during), "--out",
         str(tmp_path / "trust.json"))  # fmt: skip
    trust = json.loads((tmp_path / "trust.json").read_text())
    assert trust["log_vkeys"] == [new.vkey, old.vkey]
    assert load_trust_bytes((tmp_path / "trust.json").read_bytes()).log_vkeys == {
        new.vkey,
        old.vkey,
    }

    # handed over: the new key alone; the old one is retired but still published
    after = _config(tmp_path, keys + f'log_key_file = "new.key"\nretired_log_vkeys = '
                    f'["{old.vkey}"]\n')  # fmt: skip
    note = _grow(tmp_path, after, "veh-3").encode()
    cp = open_checkpoint(note, [new], ORIGIN)
    assert cp.size == 6  # three registry events, three index leaves
    with pytest.raises(BadData):
        open_checkpoint(note, [old], ORIGIN)
    _cli(tmp_path, "collector", "guard", "status", "--config", str(after))
    settings = Settings.load(after)
    assert settings.log_vkeys() == [new.vkey, old.vkey]

    async def api() -> None:
        async with served(settings) as client:
            published = await client.json("/v1/trust")
            assert published["log_vkeys"] == [new.vkey, old.vkey]
            assert published["collector_keys"] == settings.bundle_keys()
            keys = await client.json("/v1/keys")
            assert keys["log_vkeys"] == [new.vkey, old.vkey]
            assert keys["bundle_keys"] == settings.bundle_keys()
            assert keys["receipt_keys"][0].startswith("-----BEGIN PUBLIC KEY-----")

    asyncio.run(api())


async def _witnessed_round(cfg: Path, tag: str) -> CheckpointRow | None:
    """Grow the log, sign a checkpoint through the guard and ask the witnesses: what got
    published (None: no quorum)."""
    settings = Settings.load(cfg)
    clients = settings.witness_clients()
    try:
        async with await open_store(settings.store_url()) as store:
            size = await store.log_size()
            await store.append_leaves([batch_leaf(hashlib.sha256(f"{tag}{size}".encode())
                                                  .digest())], 1)  # fmt: skip
            signed = await settings.checkpoint_signer(store, clients).sign_if_grown(time.time_ns())
            assert signed is not None
            rounds = Witnessing(store, clients, settings.witness_quorum)
            return await rounds.tick(time.time_ns())
    finally:
        for c in clients:
            await c.close()


@pytest.mark.anyio
@pytest.mark.integration
async def test_witnesses_follow_a_log_key_rotation(tmp_path: Path) -> None:
    """Witness processes over HTTP, one pinned to the old log key, one to the new: during the
    rotation both cosign the same checkpoint (signed by both keys) on the same origin and
    tree; after it, a witness still pinning only the old key cosigns nothing."""
    old = _keygen(tmp_path, "old.key", "--for", "log", "--origin", ORIGIN).strip()
    new = _keygen(tmp_path, "new.key", "--for", "log", "--origin", ORIGIN).strip()
    _keygen(tmp_path, "other.key")
    keys = 'receipt_key_file = "other.key"\nbundle_key_file = "other.key"\n'
    with (
        witness_process(tmp_path / "w1", "witness.test/w1", {ORIGIN: [old]}) as w1,
        witness_process(tmp_path / "w2", "witness.test/w2", {ORIGIN: [new]}) as w2,
    ):

        def table(*ws: WitnessProc) -> str:
            return f"witness_quorum = {len(ws)}\n" + "".join(
                f'[[witness]]\nurl = "{w.url}"\nvkey = "{w.verifier.vkey}"\n' for w in ws
            )

        before = _config(tmp_path, keys + 'log_key_file = "old.key"\n' + table(w1))
        first = await _witnessed_round(before, "a")
        assert first is not None
        during = _config(tmp_path, keys + 'log_key_file = "new.key"\nprevious_log_key_file = '
                         '"old.key"\n' + table(w1, w2))  # fmt: skip
        both = await _witnessed_round(during, "b")
        assert both is not None and both.size > first.size
        require_quorum(both.note, [w1.verifier, w2.verifier], 2)
        for vkey in (old, new):
            open_checkpoint(both.note, [NoteVerifier.from_vkey(vkey)], ORIGIN)
        after = f'log_key_file = "new.key"\nretired_log_vkeys = ["{old}"]\n'
        stale = _config(tmp_path, keys + after + table(w1))
        assert await _witnessed_round(stale, "c") is None  # w1 does not know the new key
        moved = _config(tmp_path, keys + after + table(w2))
        last = await _witnessed_round(moved, "d")
        assert last is not None and last.size > both.size
        open_checkpoint(last.note, [NoteVerifier.from_vkey(new)], ORIGIN)


def test_the_owners_history_check_takes_either_log_key_of_a_rotation() -> None:
    """`vnotary owner log --verify` pins the trust file's log keys, old and new (§6.3)."""
    old, new, other = (NoteSigner("collector.test", ed25519.Ed25519PrivateKey.generate())
                       for _ in range(3))  # fmt: skip
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, bytes(32)), [new, old])
    assert _signing_key(note, [old.verifier.vkey], ORIGIN) == old.verifier.vkey
    assert _signing_key(note, [other.verifier.vkey, new.verifier.vkey], ORIGIN) == (
        new.verifier.vkey)  # fmt: skip
    with pytest.raises(BadData):
        _signing_key(note, [other.verifier.vkey], ORIGIN)
