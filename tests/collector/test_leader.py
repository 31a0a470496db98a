"""Two collector processes on one PostgreSQL store: only the advisory-lock leader signs
checkpoints; when it is killed (-9), the other takes over (ARCHITECTURE.md § Scale)."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector.log.leaves import batch_leaf
from collector.settings import Settings, write_key
from collector.store.open import open_store
from notary_core.checkpoint import NoteVerifier, open_checkpoint
from notary_core.errors import BadData
from tests.infra.postgres import PgCluster

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORIGIN = "collector.test/log"


def _config(tmp: Path, name: str, url: str) -> Path:
    write_key(tmp / f"{name}.key")
    cfg = tmp / f"{name}.toml"
    cfg.write_text(
        f'store = "{url}"\nkey_file = "{name}.key"\norigin = "{ORIGIN}"\n'
        "checkpoint_interval_s = 0.1\n",
        encoding="utf-8",
    )
    return cfg


def _start(cfg: Path) -> subprocess.Popen[bytes]:
    """A `vnotary collector run` process, returned once its loops run."""
    exe = Path(sys.executable).parent / "vnotary"
    proc = subprocess.Popen(
        [str(exe), "collector", "run", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"collector running\n"
    return proc


def _signer_of(note: bytes, verifiers: dict[str, NoteVerifier]) -> str:
    found = []
    for name, v in verifiers.items():
        try:
            open_checkpoint(note, [v], ORIGIN)
        except BadData:
            continue
        found.append(name)
    assert len(found) == 1, found
    return found[0]


async def _grow_until_signed(url: str, verifiers: dict[str, NoteVerifier]) -> str:
    """Append an entry, wait for a checkpoint covering it; return who signed it."""
    async with await open_store(url) as store:
        size = await store.log_size()
        await store.append_leaves([batch_leaf(hashlib.sha256(str(size).encode()).digest())], 1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            cp = await store.latest_checkpoint()
            if cp is not None and cp.size > size:
                return _signer_of(cp.note, verifiers)
            await asyncio.sleep(0.05)
    raise AssertionError("no checkpoint was signed")


async def test_one_leader_signs_checkpoints_and_a_follower_takes_over(
    pg: PgCluster, tmp_path: Path
) -> None:
    url = pg.new_database()
    cfgs = {name: _config(tmp_path, name, url) for name in ("a", "b")}
    verifiers = {
        name: NoteVerifier.from_public(
            "collector.test", Settings.load(cfg).signing_key().public_key()
        )
        for name, cfg in cfgs.items()
    }
    async with await open_store(url):  # migrate once before two processes race to
        pass
    a = _start(cfgs["a"])
    b: subprocess.Popen[bytes] | None = None
    try:
        assert await _grow_until_signed(url, verifiers) == "a"
        b = _start(cfgs["b"])
        for _ in range(10):  # b's checkpoint loop runs too, every 0.1 s
            assert await _grow_until_signed(url, verifiers) == "a"
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        assert await _grow_until_signed(url, verifiers) == "b"
    finally:
        for p in (a, b):
            if p is not None:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
                    p.wait(10)
                assert p.stdout is not None
                p.stdout.close()
