"""collector.toml through one validator: every key checked, errors name the key, secrets
come from files or the environment (issue 15: `KeyError: 'store'`, `TypeError: unexpected
keyword argument` were tracebacks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.settings import Settings, write_key
from notary_core.errors import BadData
from vnotary_cli.main import main

BASE = 'store = "sqlite:///c.db"\nkey_file = "c.key"\norigin = "t.test/log"\n'
ANCHOR = '[anchor]\nrpc_url = "http://127.0.0.1:8545"\ncontract = "0x' + "ab" * 20 + '"\n'


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "collector.toml"
    path.write_text(text)
    return Settings.load(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(BadData) as exc:
        load(tmp_path, text)
    message = str(exc.value)
    assert "\n" not in message and "collector.toml: " in message
    return message


def test_a_valid_file_resolves_paths_beside_it(tmp_path: Path) -> None:
    mqtt = '[mqtt]\nhost = "h"\nport = 8883\nca_cert = "ca"\ncert = "c"\nkey = "k"\n'
    access = '[access]\ndbc = "x.dbc"\noperator_keys = ["k"]\n'
    s = load(tmp_path, BASE + ANCHOR + 'key_file = "eth.key"\ninterval_s = 2\n' + access + mqtt)
    assert s.store == f"sqlite:///{tmp_path}/c.db" and s.key_file == str(tmp_path / "c.key")
    assert s.anchor is not None and s.anchor.key_file == str(tmp_path / "eth.key")
    assert s.anchor.interval_s == 2.0 and s.access.operator_keys == ("k",)
    assert s.mqtt is not None and s.mqtt.ca_cert == str(tmp_path / "ca")
    assert s.access.dbc == str(tmp_path / "x.dbc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('key_file = "c.key"\norigin = "o"\n', "store: missing"),
        (BASE + "colour = 1\n", "colour: unknown key"),
        (BASE + ANCHOR + "confirmatons = 3\n", "anchor.confirmatons: unknown key"),
        (BASE + '[mqtt]\nhots = "h"\n', "mqtt.hots: unknown key"),
        (
            BASE + '[mqtt]\nhost = "h"\nport = 99999\nca_cert = "a"\ncert = "b"\nkey = "c"\n',
            "mqtt.port: input should be less than 65536, got 99999",
        ),
        (
            BASE + '[mqtt]\nhost = "h"\nport = "8883"\nca_cert = "a"\ncert = "b"\nkey = "c"\n',
            "mqtt.port: input should be a valid integer",
        ),
        (BASE + '[anchor]\nrpc_url = "ftp://x"\ncontract = "0x1"\n', "anchor.contract: "),
        (BASE + "checkpoint_interval_s = -1\n", "checkpoint_interval_s: input should be greater"),
        (BASE.replace("sqlite", "mysql"), "store: string should match pattern"),
        (BASE + "[access]\noperator_keys = [1]\n", "access.operator_keys[0]: "),
    ],
)
def test_every_problem_names_its_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    message = refused(tmp_path, "colour = 1\n[anchor]\nrpc_url = 3\n")
    for part in ("store: missing", "key_file: missing", "colour: unknown key",
                 "anchor.rpc_url:", "anchor.contract: missing"):  # fmt: skip
        assert part in message, message


def test_the_cli_says_it_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "collector.toml"
    cfg.write_text('key_file = "c.key"\norigin = "o"\n[mqtt]\nport = 1\n')
    assert main(["collector", "device", "list", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "store: missing" in err and "mqtt.host: missing" in err
    cfg.write_text("store = [\n")
    assert main(["collector", "device", "list", "--config", str(cfg)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_the_database_password_from_a_file_the_environment_or_a_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = 'store = "postgresql://vn@db:5432/vn"\nkey_file = "k"\norigin = "o"\n'
    monkeypatch.delenv("VNOTARY_STORE_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert load(tmp_path, pg).store_url() == "postgresql://vn@db:5432/vn"  # peer/cert auth
    (tmp_path / "pw").write_text("s3cr/t@x\n")
    s = load(tmp_path, pg + 'store_password_file = "pw"\n')
    assert s.store_url() == "postgresql://vn:s3cr%2Ft%40x@db:5432/vn"
    assert "s3cr" not in repr(s)  # the file holds it, the settings only name the file
    monkeypatch.setenv("VNOTARY_STORE_PASSWORD", "from-env")
    assert load(tmp_path, pg).store_url() == "postgresql://vn:from-env@db:5432/vn"
    monkeypatch.delenv("VNOTARY_STORE_PASSWORD")
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "store_password").write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load(tmp_path, pg).store_url() == "postgresql://vn:from-systemd@db:5432/vn"
    inline = 'store = "postgresql://vn:inline@db/vn"\nkey_file = "k"\norigin = "o"\n'
    assert load(tmp_path, inline).store_url() == "postgresql://vn:inline@db/vn"


def test_the_chain_key_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VNOTARY_CHAIN_KEY", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "eth.key").write_text("0xabc\n")
    s = load(tmp_path, BASE + ANCHOR + 'key_file = "eth.key"\n')
    assert s.anchor is not None and s.anchor.private_key() == "0xabc"
    s = load(tmp_path, BASE + ANCHOR)
    assert s.anchor is not None
    with pytest.raises(BadData, match="no chain key"):
        s.anchor.private_key()
    monkeypatch.setenv("VNOTARY_CHAIN_KEY", "0xdef")
    assert s.anchor.private_key() == "0xdef"


def test_the_collector_key_must_be_ed25519(tmp_path: Path) -> None:
    write_key(tmp_path / "c.key")
    assert load(tmp_path, BASE).signing_key() is not None
    (tmp_path / "c.key").write_text("not a key")
    with pytest.raises(ValueError):
        load(tmp_path, BASE).signing_key()


def test_tsa_tables_need_an_anchor_and_distinct_urls(tmp_path: Path) -> None:
    tsa = '[[tsa]]\nurl = "http://127.0.0.1:3180/tsr"\ntimeout_s = 3\n'
    s = load(tmp_path, BASE + tsa + '[[tsa]]\nurl = "https://tsa.example/tsr"\n' + ANCHOR)
    assert [(t.url, t.timeout_s) for t in s.tsa] == [
        ("http://127.0.0.1:3180/tsr", 3.0), ("https://tsa.example/tsr", 10.0)]  # fmt: skip
    assert "without [anchor]" in refused(tmp_path, BASE + tsa)
    assert "its own url" in refused(tmp_path, BASE + tsa + tsa + ANCHOR)
    assert "tsa[0].url: " in refused(tmp_path, BASE + '[[tsa]]\nurl = "ftp://x"\n' + ANCHOR)
    assert "tsa[0].colour: unknown key" in refused(
        tmp_path, BASE + '[[tsa]]\nurl = "http://x"\ncolour = 1\n' + ANCHOR)  # fmt: skip
