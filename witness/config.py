"""Witness settings, from a TOML file; unknown keys are refused with their path.

    name = "witness.insurer.example/w1"     # the cosignature key name (a schema-less URL)
    key_file = "witness.key"                # Ed25519 PEM (vnotary witness keygen)
    db = "witness.db"                       # SQLite: the latest cosigned checkpoint per log

    [[log]]                                 # one table per log this witness watches
    origin = "collector.example/vnotary/log"
    vkeys = ["collector.example+1a2b3c4d+AX..."]   # the log's checkpoint keys (signed-note)

Relative paths are relative to the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.checkpoint import NoteVerifier
from notary_core.witness import WitnessSigner

_TOP = {"name", "key_file", "db", "log"}
_LOG = {"origin", "vkeys"}


class ConfigError(ValueError):
    """The witness configuration is unusable; the message names the key."""


@dataclass(frozen=True)
class WitnessConfig:
    name: str
    key_file: Path
    db: Path
    logs: dict[str, tuple[NoteVerifier, ...]]  # origin -> pinned log keys

    @classmethod
    def load(cls, path: Path) -> WitnessConfig:
        base = path.resolve().parent
        try:
            doc: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        _only(doc, _TOP, str(path))
        logs: dict[str, tuple[NoteVerifier, ...]] = {}
        for i, table in enumerate(doc.get("log", [])):
            where = f"{path}: log[{i}]"
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: must be a table")
            _only(table, _LOG, where)
            origin, vkeys = table.get("origin"), table.get("vkeys")
            if not isinstance(origin, str) or not origin or origin in logs:
                raise ConfigError(f"{where}.origin: a non-empty origin, once")
            if not isinstance(vkeys, list) or not vkeys:
                raise ConfigError(f"{where}.vkeys: a list of at least one log key")
            try:
                logs[origin] = tuple(NoteVerifier.from_vkey(str(v)) for v in vkeys)
            except Exception as exc:  # BadData, or a malformed key the library rejects
                raise ConfigError(f"{where}.vkeys: {exc}") from None
        for key in ("name", "key_file", "db"):
            if not isinstance(doc.get(key), str) or not doc[key]:
                raise ConfigError(f"{path}: {key} is required")
        return cls(doc["name"], base / doc["key_file"], base / doc["db"], logs)

    def signer(self) -> WitnessSigner:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ConfigError(f"{self.key_file}: the witness key must be Ed25519")
        signer = WitnessSigner(self.name, key)
        signer.verifier  # noqa: B018 (checks the name is a valid key name)
        return signer


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")


def write_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """A new Ed25519 witness key, PEM, readable by its owner only (0600 before any byte)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with path.open("xb") as f:  # never overwrite a witness's identity
        path.chmod(0o600)
        f.write(pem)
    return key
