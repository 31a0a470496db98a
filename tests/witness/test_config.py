"""Witness configuration: every file it trusts is validated; unknown keys name their path."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.checkpoint import NoteSigner
from tests.infra.witness import write_config
from witness.config import ConfigError, WitnessConfig

VKEY = NoteSigner("log.test", ed25519.Ed25519PrivateKey.generate()).verifier.vkey


def test_a_valid_config_loads_with_paths_beside_it(tmp_path: Path) -> None:
    cfg = WitnessConfig.load(write_config(tmp_path, "witness.test/w1", {"log.test/l": [VKEY]}))
    assert cfg.key_file == tmp_path / "witness.key" and cfg.db == tmp_path / "witness.db"
    assert [v.vkey for v in cfg.logs["log.test/l"]] == [VKEY]
    assert cfg.signer().verifier.name == "witness.test/w1"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "\nlisten = 1\n", "unknown key(s) listen"),
        (lambda t: t.replace("vkeys", "keys"), "log[0]: unknown key(s) keys"),
        (lambda t: t.replace(VKEY, "not a key"), "log[0].vkeys"),
        (lambda t: t.replace('name = "witness.test/w1"\n', ""), "name is required"),
        (lambda t: t + '\n[[log]]\norigin = "log.test/l"\nvkeys = ["x"]\n', "log[1].origin"),
        (lambda t: t.replace("[[log]]", "log = 3\n[[x]]"), "unknown key(s) x"),
    ],
)
def test_bad_configs_are_refused_with_their_path(
    tmp_path: Path, edit: object, message: str
) -> None:
    path = write_config(tmp_path, "witness.test/w1", {"log.test/l": [VKEY]})
    path.write_text(edit(path.read_text()))  # type: ignore[operator]
    with pytest.raises(ConfigError) as err:
        WitnessConfig.load(path)
    assert message in str(err.value)
