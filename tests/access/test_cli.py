"""`vnotary collector vehicle|party|owner|install|trust`: the registry from the operator's shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.access.world import raw_pub, tp
from vnotary_cli.main import main


def test_registry_cli_and_trust_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collector", "keygen", "--out", str(tmp_path / "collector.key")]) == 0
    cfg = tmp_path / "c.toml"
    cfg.write_text('store = "sqlite:///c.db"\nkey_file = "collector.key"\n'
                   'origin = "collector.test/log"\n')  # fmt: skip
    c = ["--config", str(cfg)]
    dev = ed25519.Ed25519PrivateKey.generate().public_key()
    (tmp_path / "dev.pem").write_bytes(dev.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    # A thumbprint is base64url: one in 64 starts with '-', which argparse would read as an
    # option. Pick such an owner on purpose: `--` and `--opt=value` must carry it.
    owner = next(k for k in iter(ed25519.Ed25519PrivateKey.generate, None) if tp(k)[0] == "-")
    steps = [
        ["device", "add", *c, "veh-1", "--public-key", str(tmp_path / "dev.pem")],
        ["vehicle", *c, "vin-1", "--label", "RAV4"],
        ["party", *c, "owner", "Alice", f"--public-key={raw_pub(owner)}"],
        ["owner", *c, "--start", "2018-01-01T00:00:00Z", "--", "vin-1", tp(owner)],
        ["install", *c, "vin-1", "veh-1"],
        ["trust", *c, "--out", str(tmp_path / "trust.json")],
    ]
    for step in steps:
        assert main(["collector", *step]) == 0, step
    out = capsys.readouterr().out
    assert f"owner {tp(owner)} in vin-1: log#" in out and "install veh-1 in vin-1: log#" in out
    doc = json.loads((tmp_path / "trust.json").read_text())
    assert len(doc["log_vkeys"]) == 1 and len(doc["collector_keys"]) == 1
    assert main(["collector", "owner", *c, "--", "vin-1", tp(owner)]) == 2  # overlapping ownership
    assert "another owner" in capsys.readouterr().err
