"""requirements.lock: the one lock of setup, CI, the collector image and the gateway install.

Consensus-critical dependencies (cbor2 encodes every signed byte, cryptography checks every
signature) are bounded above in pyproject.toml, and the environment the vectors run in has
exactly the locked versions: `make vectors-check` and tests/core/test_vectors.py therefore
check the vectors against the lock.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
CONSENSUS = ("cbor2", "cryptography", "asn1crypto")


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    out: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-]+)==([^ ;\\]+)", line):
            name = canonicalize_name(m.group(1))
            out[name] = (Version(m.group(2)), 0)
        elif "--hash=sha256:" in line:
            version, n = out[name]
            out[name] = (version, n + 1)
    return out


def requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("vnotary[")]
    return reqs


def test_every_requirement_is_locked_within_its_bounds_with_hashes() -> None:
    lock = locked()
    for req in requirements():
        version, _ = lock[canonicalize_name(req.name)]
        assert req.specifier.contains(version, prereleases=True), (req, version)
    assert all(n > 0 for _, n in lock.values())


def test_consensus_critical_dependencies_are_bounded_above() -> None:
    for req in requirements():
        if req.name in CONSENSUS:
            assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), req


def test_the_vectors_run_on_the_locked_versions() -> None:
    lock = locked()
    for name in (*CONSENSUS, "pycose", "pymerkle", "vyper"):
        assert Version(metadata.version(name)) == lock[name][0], name
