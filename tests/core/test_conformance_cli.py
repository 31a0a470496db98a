"""The conformance command other tools call: output contract and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notary_core.conformance", "merkle", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_passes_every_shared_vector(shared_data: Path) -> None:
    proc = run(*sorted((shared_data / "merkle-vectors").glob("*.json")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    passed, failed = (int(x.split()[0]) for x in last.split(", "))
    assert failed == 0 and passed >= 234


def test_a_wrong_expectation_is_reported_and_fails(shared_data: Path, tmp_path: Path) -> None:
    doc = json.loads((shared_data / "merkle-vectors" / "transparency-dev-rfc6962.json").read_text())
    doc["inclusion_proofs"][0]["valid"] = not doc["inclusion_proofs"][0]["valid"]
    doc["consistency_proofs"][3]["root2"] = "00" * 32
    doc["consistency_proofs"][3]["valid"] = True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    proc = run(bad)
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].endswith(", 2 failed")
    assert sum(line.startswith("FAIL ") for line in lines) == 2
