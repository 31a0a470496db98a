"""deploy/gateway/install.sh: only a named file with its sha256, pinned by the lock; explicit
upgrades that keep the previous release; rollback in one command.

Run with --root (a folder standing for /) and --no-system (no apt, users, udev or systemd),
so the test changes nothing on this machine; everything else is the script as a gateway
runs it, installing the wheel and the sdist built from this checkout.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.packaging import venvs

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SCRIPT = venvs.REPO / "deploy" / "gateway" / "install.sh"


def gateway(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args, "--root", str(root), "--no-system"],
        cwd=root.parent, env=venvs.clean_env(), capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def current(root: Path, link: str = "current") -> str:
    return (root / "opt" / "vnotary" / link).readlink().name


def test_install_upgrade_rollback(dist: venvs.Dist, tmp_path: Path) -> None:
    root = tmp_path / "root"
    install = ["install", "--device-id", "veh-0001"]
    # Never a name an index resolves, never a file whose digest differs, never plain http.
    by_name = gateway(root, *install, "--package", "vnotary[edge]", "--sha256", sha(dist.wheel))
    assert by_name.returncode == 4 and "never a package name" in by_name.stderr
    wrong = gateway(root, *install, "--package", str(dist.wheel), "--sha256", "0" * 64)
    assert wrong.returncode == 3 and "sha256 mismatch" in wrong.stderr
    http = gateway(root, *install, "--package", "http://example.invalid/vnotary-0.1.0.tar.gz",
                   "--sha256", "0" * 64)  # fmt: skip
    assert http.returncode == 2 and "https only" in http.stderr
    no_sha = gateway(root, *install, "--package", str(dist.wheel))
    assert no_sha.returncode == 2 and "--sha256" in no_sha.stderr
    assert not (root / "opt" / "vnotary" / "current").exists()

    first = gateway(root, *install, "--package", str(dist.wheel), "--sha256", sha(dist.wheel))
    assert first.returncode == 0, first.stderr[-3000:]
    wheel_release = f"0.1.0-{sha(dist.wheel)[:12]}"
    assert current(root) == wheel_release
    key = root / "var" / "lib" / "vnotary" / "device.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert 'device_id = "veh-0001"' in (root / "etc" / "vnotary" / "edge.toml").read_text()
    agent = root / "opt" / "vnotary" / "current" / "bin" / "vnotary"
    assert venvs.run(agent.parent, "vnotary", "--version", cwd=tmp_path).stdout == (
        "vnotary 0.1.0\n"
    )
    lock = hashlib.sha256(venvs.LOCK.read_bytes()).hexdigest()
    assert f"lock {lock}" in (root / "opt/vnotary/releases" / wheel_release / "RELEASE").read_text()

    up = gateway(root, "upgrade", "--package", str(dist.sdist), "--sha256", sha(dist.sdist))
    assert up.returncode == 0, up.stderr[-3000:]
    sdist_release = f"0.1.0-{sha(dist.sdist)[:12]}"
    assert (current(root), current(root, "previous")) == (sdist_release, wheel_release)
    assert key.read_bytes() and "roll back with" in up.stdout  # keys kept, rollback named

    back = gateway(root, "rollback")
    assert back.returncode == 0, back.stderr
    assert (current(root), current(root, "previous")) == (wheel_release, sdist_release)
    status = gateway(root, "status")
    assert f"current: {wheel_release}" in status.stdout
    assert f"previous: {sdist_release}" in status.stdout
    assert venvs.run(agent.parent, "vnotary", "edge", "--help", cwd=tmp_path).returncode == 0
