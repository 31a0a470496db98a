"""The attacks of issue 11 against real `vnotary collector run` processes, with two real
witness processes (quorum 2): a database edited behind a running collector (PostgreSQL),
the leaf rewrite with the collector stopped (SQLite, no witnesses: today's behaviour), and
a new leader on another machine given a database restored from an older copy. Each ends in
a refusal: exit 6 with one line, a halt that survives a restart, nothing published."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.log.leaves import batch_leaf
from collector.settings import write_key
from collector.store.open import open_store
from notary_core.checkpoint import NoteSigner
from notary_core.witness import require_quorum
from tests.collector import tamper
from tests.infra.postgres import PgCluster
from tests.infra.witness import WitnessProc, witness_process

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORIGIN = "collector.test/log"
EXE = str(Path(sys.executable).parent / "vnotary")


def machine(tmp: Path, name: str, url: str, key: Path, witnesses: list[WitnessProc]) -> Path:
    """A collector host: its own directory (state file beside its copy of the log key)."""
    d = tmp / name
    d.mkdir()
    shutil.copy(key, d / "collector.key")
    tables = "".join(f'\n[[witness]]\nurl = "{w.url}"\nvkey = "{w.verifier.vkey}"\n'
                     for w in witnesses)  # fmt: skip
    quorum = f"witness_quorum = {len(witnesses)}\n" if witnesses else ""
    cfg = d / "collector.toml"
    cfg.write_text(f'store = "{url}"\nkey_file = "collector.key"\norigin = "{ORIGIN}"\n'
                   f"checkpoint_interval_s = 0.2\n{quorum}{tables}")  # fmt: skip
    return cfg


def start(cfg: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([EXE, "collector", "run", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == "collector running\n", (line, proc.stderr.read() if proc.stderr else "")
    return proc


def refused(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The collector stops by itself with exit 6; return its one-line message."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 6, err[-3000:]
    (line,) = [x for x in err.splitlines() if x.startswith("vnotary collector:")]
    assert line.startswith("vnotary collector: refusing to sign, stopped: REWRITE: ")
    return line


def run_once(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, "collector", *args, "--config", str(cfg)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def stop(proc: subprocess.Popen[str] | None, sig: int = signal.SIGINT) -> None:
    if proc is not None:
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.communicate(timeout=15)  # and closes its pipes


async def grow(url: str, n: int, tag: str = "") -> int:
    async with await open_store(url) as store:
        size = await store.log_size()
        leaves = [batch_leaf(hashlib.sha256(f"{tag}{size + i}".encode()).digest())
                  for i in range(n)]  # fmt: skip
        await store.append_leaves(leaves, 1)
        return size + n


async def published(url: str, size: int, witnesses: list[WitnessProc]) -> int:
    """Wait until a checkpoint of at least `size` is published with the witnesses' quorum;
    its size (one more than the entries: each checkpoint ends in its index leaf, §7.3)."""
    deadline = time.monotonic() + 30
    async with await open_store(url) as store:
        while time.monotonic() < deadline:
            cp = await store.latest_published_checkpoint()
            if cp is not None and cp.size >= size:
                require_quorum(cp.note, [w.verifier for w in witnesses], len(witnesses))
                return cp.size
            await asyncio.sleep(0.1)
    raise AssertionError(f"size {size} was not published")


@pytest.fixture
def key(tmp_path: Path) -> Path:
    write_key(tmp_path / "log.key")
    return tmp_path / "log.key"


@pytest.fixture
def witnesses(tmp_path: Path, key: Path) -> Iterator[list[WitnessProc]]:
    pem = serialization.load_pem_private_key(key.read_bytes(), None)
    assert isinstance(pem, ed25519.Ed25519PrivateKey)
    vkey = NoteSigner("collector.test", pem).verifier.vkey
    logs = {ORIGIN: [vkey]}
    with (
        witness_process(tmp_path / "w1", "witness.test/w1", logs) as w1,
        witness_process(tmp_path / "w2", "witness.test/w2", logs) as w2,
    ):
        yield [w1, w2]


async def test_postgres_edited_behind_a_running_collector(
    pg: PgCluster, tmp_path: Path, key: Path, witnesses: list[WitnessProc]
) -> None:
    url = pg.new_database()
    a_cfg = machine(tmp_path, "a", url, key, witnesses)
    a = start(a_cfg)
    try:
        signed = await published(url, await grow(url, 7), witnesses)
        tamper.rewrite_leaf(url, 3, batch_leaf(bytes(32)))
        await grow(url, 1)
        line = refused(a)
        assert f"does not extend this signer's last checkpoint at size {signed}" in line
        again = subprocess.run([EXE, "collector", "run", "--config", str(a_cfg)],
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert again.returncode == 6 and "halted" in again.stderr  # a restart keeps refusing
        status = run_once(a_cfg, "guard", "status")
        assert status.returncode == 1 and "signer halted: REWRITE" in status.stdout
        # Failover: machine b never signed; the store's signed checkpoint and the witnesses'
        # sizes bind it all the same.
        b = start(machine(tmp_path, "b", url, key, witnesses))
        assert "does not extend" in refused(b)
        async with await open_store(url) as store:
            assert (await store.latest_published_checkpoint()).size == signed  # type: ignore[union-attr]
    finally:
        stop(a)


async def test_the_issues_leaf_rewrite_with_the_collector_stopped(
    tmp_path: Path, key: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cfg = machine(tmp_path, "a", url, key, [])  # no witnesses: quorum 0, as before
    a = start(cfg)
    try:
        size = await grow(url, 9)
        deadline = time.monotonic() + 20
        while (await _published_size(url)) < size:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        signed = await _published_size(url)
    finally:
        stop(a)
    tamper.rewrite_leaf(url, 4, batch_leaf(bytes(32)))
    a = start(cfg)
    await grow(url, 1)
    assert "does not extend" in refused(a)
    assert await _published_size(url) == signed


async def _published_size(url: str) -> int:
    async with await open_store(url) as store:
        cp = await store.latest_published_checkpoint()
    return 0 if cp is None else cp.size


def _snapshot(pg: PgCluster, url: str) -> str:
    name = url.rsplit("/", 1)[1]
    copy = f"c_{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + 20
    while True:  # the killed collector's session ends a moment after its process
        try:
            with psycopg.connect(pg.dsn, autocommit=True) as db:
                db.execute(f"CREATE DATABASE {copy} TEMPLATE {name}")
            return url.rsplit("/", 1)[0] + "/" + copy
        except psycopg.errors.ObjectInUse:
            assert time.monotonic() < deadline
            time.sleep(0.2)


async def test_a_new_leader_refuses_a_database_restored_from_an_older_copy(
    pg: PgCluster, tmp_path: Path, key: Path, witnesses: list[WitnessProc]
) -> None:
    url = pg.new_database()
    a_cfg = machine(tmp_path, "a", url, key, witnesses)
    a = start(a_cfg)
    try:
        first = await published(url, await grow(url, 5), witnesses)
        stop(a, signal.SIGKILL)
        backup = _snapshot(pg, url)  # last night's copy, checkpoints and all
        a = start(a_cfg)
        second = await published(url, await grow(url, 6), witnesses)
    finally:
        stop(a, signal.SIGKILL)
    b = start(machine(tmp_path, "b", backup, key, witnesses))  # restored on a new machine
    await grow(backup, 8, tag="after-restore")
    line = refused(b)
    assert f"witness witness.test/w1 cosigned is at size {second}" in line
    async with await open_store(backup) as store:
        assert (await store.latest_published_checkpoint()).size == first  # type: ignore[union-attr]
