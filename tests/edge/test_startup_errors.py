"""Start-up refuses clearly: a bad config, a key others can read or nobody can, a full disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.edge.kit import GIULIA, Device, provision, replay_source
from tests.infra.mqtt_broker import MosquittoBroker, running_broker
from vnotary_cli.main import main


@pytest.fixture
def dev(tmp_path: Path) -> Device:
    # The broker is only needed for its CA (certificates); it is not started by the agent.
    broker = MosquittoBroker(tmp_path / "b")
    broker.port = 1
    return provision(tmp_path, broker)


def _run(cfg: Path, capsys: pytest.CaptureFixture[str], code: int = 2) -> str:
    """Exit 2: the configuration or its files are refused; 5: the system is not ready."""
    assert main(["edge", "run", "--config", str(cfg)]) == code
    return capsys.readouterr().err


def test_bad_config_names_every_problem(dev: Device, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = dev.dir / "bad.toml"
    cfg.write_text('device_id = "a/b"\nkey_file = 3\ncolour = 1\n[mqtt]\nport = 99999\n')
    err = _run(cfg, capsys)
    for text in (
        "device_id",
        "key_file: expected a string",
        "colour: unknown key",
        "mqtt.port",
        "mqtt.host: missing",
        "at least one [[source]]",
    ):
        assert text in err, err


def test_config_that_is_not_toml(dev: Device, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = dev.dir / "bad.toml"
    cfg.write_text("device_id = [\n")
    assert "not valid TOML" in _run(cfg, capsys)


def test_key_readable_by_others_is_refused(
    dev: Device, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_broker(tmp_path / "r") as broker:
        cfg = dev.config(broker, replay_source(GIULIA))
    os.chmod(dev.dir / "device.key", 0o644)
    err = _run(cfg, capsys)
    assert "BAD_KEY" in err and "others can read it" in err and "chmod 600" in err


def test_missing_or_unreadable_key(
    dev: Device, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_broker(tmp_path / "r") as broker:
        cfg = dev.config(broker, replay_source(GIULIA))
    (dev.dir / "device.key").write_text("not a key")
    assert "is not a private key" in _run(cfg, capsys)
    (dev.dir / "device.key").unlink()
    assert "No such file" in _run(cfg, capsys)


def test_full_disk_for_the_spool(
    dev: Device, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_broker(tmp_path / "r") as broker:
        cfg = dev.config(broker, replay_source(GIULIA), spool={"min_free_bytes": 1 << 60})
        err = _run(cfg, capsys, code=5)  # a full disk: retry later, the config is fine
        assert "UNREACHABLE" in err and "is full" in err
        cfg = dev.config(broker, replay_source(GIULIA), spool={"path": "/nonexistent/s.db"})
        assert "spool directory /nonexistent does not exist" in _run(cfg, capsys)


def test_provision_writes_private_keys_0600_and_a_csr_the_fleet_ca_signs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keys"
    assert main(["edge", "provision", "--device-id", "edge-042", "--dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "edge-042" in text and "BEGIN PUBLIC KEY" in text
    for name in ("device.key", "tls.key"):
        assert (out / name).stat().st_mode & 0o777 == 0o600
    assert main(["edge", "provision", "--device-id", "edge-042", "--dir", str(out)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    from tests.infra.pki import FleetCA

    ca = FleetCA.create(tmp_path / "ca")
    assert b"BEGIN CERTIFICATE" in ca.sign_device_csr((out / "tls.csr").read_bytes())
    assert (
        main(["edge", "provision", "--device-id", "collector", "--dir", str(tmp_path / "c")]) == 2
    )
