"""agent.toml through the schema: every key typed and bounded, misspelt keys refused with
their path, one line per file, and unusable TLS files named at start (issue 15: the edge
config ignored misspelt keys and a bad TLS file was an ssl.SSLError traceback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edge_agent import config
from notary_core.errors import BadData
from tests.datasets import DATA, GIULIA_CAN
from tests.edge.kit import Device, provision, replay_source
from tests.infra.mqtt_broker import MosquittoBroker
from vnotary_cli.main import main


@pytest.fixture
def dev(tmp_path: Path) -> Device:
    broker = MosquittoBroker(tmp_path / "b")  # for its CA only; never started
    broker.port = 1
    return provision(tmp_path, broker)


def good(dev: Device, tmp_path: Path) -> str:
    broker = MosquittoBroker(tmp_path / "b")
    broker.port = 1
    return dev.config(broker, replay_source(DATA / GIULIA_CAN)).read_text()


def refused(dev: Device, text: str) -> str:
    path = dev.dir / "agent.toml"
    path.write_text(text)
    with pytest.raises(BadData) as exc:
        config.load(path)
    message = str(exc.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_valid_file_becomes_the_agent_config(dev: Device, tmp_path: Path) -> None:
    path = dev.dir / "agent.toml"
    path.write_text(good(dev, tmp_path))
    cfg = config.load(path)
    assert cfg.device_id == "edge-001" and cfg.key_file == dev.dir / "device.key"
    assert cfg.mqtt.port == 1 and cfg.mqtt.cert_file == dev.dir / "tls.crt"
    (source,) = cfg.sources
    assert source.type == "replay" and source.file == str(DATA / GIULIA_CAN)
    assert cfg.config_hash == hashlib.sha256(path.read_bytes()).digest()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("[mqtt]\n", "[mqtt]\nhots = 1\n"), "mqtt.hots: unknown key"),
        (("[batch]\n", "[batch]\nwindw_s = 1\n"), "batch.windw_s: unknown key"),
        (('type = "replay"\n', 'type = "replay"\ncolour = 1\n'), "source[0].colour: unknown key"),
        (('type = "replay"\n', 'type = "tape"\n'), "source[0].type: expected one of"),
        (('speed = "max"', 'speed = "fast"'), "source[0].speed: expected one of"),
        (("[spool]\n", "[spool]\nmax_bytes = -1\n"), "spool.max_bytes: input should be greater"),
        (("[mqtt]\n", "[mqtt]\ninflight = 2000\n"), "mqtt.inflight: input should be less"),
        (("[mqtt]\n", '[mqtt]\nkeepalive_s = "30"\n'), "mqtt.keepalive_s: expected an integer"),
        (('stream = "can"', 'stream = "CAN 0"'), "source[0].stream: 'CAN 0' is not a stream"),
    ],
)
def test_every_problem_names_its_key(
    dev: Device, tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = good(dev, tmp_path)
    assert change[0] in text
    assert expected in refused(dev, text.replace(change[0], change[1], 1))


def test_a_replay_needs_a_file_that_exists(dev: Device, tmp_path: Path) -> None:
    text = good(dev, tmp_path).replace(str(DATA / GIULIA_CAN), "absent.log")
    assert "source[0].file: " in refused(dev, text) and "does not exist" in refused(dev, text)


def test_unusable_tls_files_are_named_without_a_traceback(
    dev: Device, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = dev.dir / "agent.toml"
    path.write_text(good(dev, tmp_path))
    (dev.dir / "tls.crt").write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    assert main(["edge", "run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "mqtt.cert_file / mqtt.key_file: not usable for TLS" in err
    assert "Traceback" not in err and err.count("\n") == 1
    (dev.dir / "tls.crt").unlink()
    assert main(["edge", "run", "--config", str(path)]) == 2
    assert "tls.crt is missing or unreadable" in capsys.readouterr().err  # checked earlier
