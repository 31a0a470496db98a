"""Keys handled like keys (issue 16 §3): `collector keygen` never replaces the collector's
identity without --force and writes 0600; the collector refuses keys others can read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from collector.settings import Settings, write_key
from notary_core.errors import BadData

VNOTARY = Path(sys.executable).parent / "vnotary"


def _vnotary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VNOTARY), *args], capture_output=True, text=True, timeout=60, check=False
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    key = tmp_path / "collector.key"
    first = _vnotary("collector", "keygen", "--out", str(key))
    assert first.returncode == 0, first.stderr
    assert _mode(key) == 0o600
    before = key.read_bytes()
    again = _vnotary("collector", "keygen", "--out", str(key))
    assert again.returncode == 2
    assert "exists" in again.stderr and "--force" in again.stderr
    assert key.read_bytes() == before
    assert again.stdout == ""


def test_keygen_force_replaces_a_world_readable_key_with_a_0600_one(tmp_path: Path) -> None:
    key = tmp_path / "collector.key"
    key.write_bytes(b"an old key\n")
    key.chmod(0o644)
    done = _vnotary("collector", "keygen", "--force", "--out", str(key))
    assert done.returncode == 0, done.stderr
    assert key.read_bytes() != b"an old key\n"
    assert _mode(key) == 0o600
    assert "BEGIN PUBLIC KEY" in done.stdout
    assert not (tmp_path / "collector.key.new").exists()


def test_write_key_never_wider_than_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_key(tmp_path / "k")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "k") == 0o600
    with pytest.raises(FileExistsError):
        write_key(tmp_path / "k")


def _config(tmp: Path) -> Path:
    cfg = tmp / "collector.toml"
    cfg.write_text(
        f'store = "sqlite:///{tmp / "c.db"}"\nkey_file = "collector.key"\n'
        'origin = "collector.test/log"\n',
        encoding="utf-8",
    )
    return cfg


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_the_collector_refuses_a_key_others_can_read(tmp_path: Path, mode: int) -> None:
    write_key(tmp_path / "collector.key")
    (tmp_path / "collector.key").chmod(mode)
    settings = Settings.load(_config(tmp_path))
    with pytest.raises(BadData, match="chmod 600"):
        settings.signing_key()
    run = _vnotary("collector", "run", "--config", str(_config(tmp_path)))
    assert run.returncode == 2
    assert f"its mode is {mode:04o}: chmod 600 " in run.stderr
    (tmp_path / "collector.key").chmod(0o600)
    assert settings.signing_key() is not None


def test_the_chain_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    (tmp_path / "eth.key").write_text("0xabc\n")
    (tmp_path / "eth.key").chmod(0o644)
    cfg = _config(tmp_path)
    cfg.write_text(
        cfg.read_text() + '[anchor]\nrpc_url = "http://127.0.0.1:9"\n'
        f'contract = "0x{"00" * 20}"\nkey_file = "eth.key"\n'
    )
    anchor = Settings.load(cfg).anchor
    assert anchor is not None
    with pytest.raises(BadData, match="chmod 600"):
        anchor.private_key()
    deploy = _vnotary(
        "collector", "contract", "deploy", "--rpc", "http://127.0.0.1:9",
        "--key-file", str(tmp_path / "eth.key"),
    )  # fmt: skip
    assert deploy.returncode == 2 and "chmod 600" in deploy.stderr
