"""Build the sdist and the wheel once, and install either into a fresh virtual environment.

Installs go through the one lock (requirements.lock) exactly as the gateway install does:
the package by file with its sha256, every dependency pinned and hash-checked by the lock as
constraints, nothing from the source tree on the path (the processes run in a temporary
directory with no PYTHONPATH).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements.lock"


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


def build(out: Path) -> Dist:
    """`make dist`: the sdist, then from it the pure wheel, with the locked setuptools."""
    env = {**os.environ, "VNOTARY_PURE_WHEEL": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist, wheel)


def clean_env() -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH, no virtual environment active."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}


def install(where: Path, artifact: Path, extras: str = "") -> Path:
    """A fresh venv at `where` with `vnotary[extras]` from `artifact`; returns its bin/."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    pip += ["--disable-pip-version-check", "-c", str(LOCK)]
    if artifact.name.endswith(".tar.gz"):
        # Built here: with the locked setuptools, not whatever the index serves today.
        _run([*pip, "setuptools"], where)
        pip.append("--no-build-isolation")
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    name = f"vnotary[{extras}]" if extras else "vnotary"
    req = where / "requirements.txt"
    req.write_text(f"{name} @ {artifact.as_uri()} --hash=sha256:{digest}\n")
    _run([*pip, "-r", str(req)], where)
    return where / "bin"


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(
        cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, " ".join(cmd) + "\n" + proc.stderr[-3000:]


def run(
    bin_dir: Path, *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A command of the installed package, run from `cwd` (outside the source tree)."""
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=clean_env(),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
