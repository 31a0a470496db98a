"""Collector settings, read from a TOML file (no import-time globals, no environment magic).

store = "sqlite:///var/lib/vnotary/collector.db"     # or postgresql://...
key_file = "collector.key"        # Ed25519 PEM: signs receipts and checkpoints
origin = "collector.example/vnotary/log"            # checkpoint origin line
checkpoint_interval_s = 1.0

[mqtt]                            # omit to run without ingest (API / anchoring only)
host = "127.0.0.1"  port = 8883  ca_cert = "ca.pem"  cert = "collector.pem"
key = "collector.key.pem"  shared_group = "collectors"    # optional

[anchor]                          # omit to run without anchoring
rpc_url = "http://127.0.0.1:8545"  contract = "0x..."  key_file = "eth.key"
interval_s = 60  confirmations = 12  use_finalized = false

[time]                            # ingest time checks (docs/protocol.md §6.2)
regression_tolerance_s = 2.0  future_tolerance_s = 300.0

[access]                          # owners, parties, grants and evidence (docs/access.md)
operator_keys = ["<base64url raw Ed25519 public key>"]   # who may sign registry requests
dbc = "toyota_rav4_2017_pt_generated.dbc"                 # decodes CAN views in bundles
max_signature_age_s = 300  retry_after_s = 5
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector import limits
from collector.ingest import timecheck
from collector.ingest.mqtt import MqttSettings
from notary_core import cose
from notary_core.checkpoint import NoteSigner


@dataclass(frozen=True)
class AnchorSettings:
    rpc_url: str
    contract: str
    key_file: str
    interval_s: float = limits.DEFAULT_ANCHOR_INTERVAL_S
    confirmations: int = limits.DEFAULT_CONFIRMATIONS
    use_finalized: bool = False

    def private_key(self) -> str:
        return Path(self.key_file).read_text(encoding="ascii").strip()


@dataclass(frozen=True)
class AccessSettings:
    operator_keys: tuple[str, ...] = ()
    dbc: str | None = None
    max_signature_age_s: int = 300
    retry_after_s: int = 5


@dataclass(frozen=True)
class TimeSettings:
    regression_tolerance_s: float = timecheck.DEFAULT_REGRESSION_TOLERANCE_S
    future_tolerance_s: float = timecheck.DEFAULT_FUTURE_TOLERANCE_S

    def tolerance(self) -> timecheck.TimeTolerance:
        if self.regression_tolerance_s < 0 or self.future_tolerance_s < 0:
            raise ValueError("time tolerances must not be negative")
        return timecheck.TimeTolerance(
            int(self.regression_tolerance_s * 1e9), int(self.future_tolerance_s * 1e9)
        )


@dataclass(frozen=True)
class Settings:
    store: str
    key_file: str
    origin: str
    checkpoint_interval_s: float = limits.DEFAULT_CHECKPOINT_INTERVAL_S
    mqtt: MqttSettings | None = None
    anchor: AnchorSettings | None = None
    access: AccessSettings = AccessSettings()
    time: TimeSettings = TimeSettings()

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        base = Path(path).resolve().parent
        data: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))

        def rel(p: str) -> str:
            return str(base / p) if "://" not in p else p

        mqtt = data.pop("mqtt", None)
        anchor = data.pop("anchor", None)
        access = data.pop("access", {})
        times = TimeSettings(**data.pop("time", {}))
        if access.get("dbc"):
            access["dbc"] = rel(access["dbc"])
        access["operator_keys"] = tuple(access.get("operator_keys", ()))
        store = data.pop("store")
        if store.startswith("sqlite:///") and not store.startswith("sqlite:////"):
            store = "sqlite:///" + rel(store.removeprefix("sqlite:///"))
        return cls(
            store=store,
            key_file=rel(data.pop("key_file")),
            mqtt=None if mqtt is None else MqttSettings(**_paths(mqtt, rel)),
            anchor=None
            if anchor is None
            else AnchorSettings(**{**anchor, "key_file": rel(anchor["key_file"])}),
            access=AccessSettings(**access),
            time=times,
            **data,
        )

    def signing_key(self) -> ed25519.Ed25519PrivateKey:
        key = serialization.load_pem_private_key(Path(self.key_file).read_bytes(), None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("the collector key must be Ed25519")
        return key

    def receipt_signer(self) -> cose.Signer:
        return cose.Signer.from_key(self.signing_key())

    def note_signer(self) -> NoteSigner:
        return NoteSigner(self.origin.split("/")[0], self.signing_key())


def _paths(table: dict[str, Any], rel: Any) -> dict[str, Any]:
    return {k: rel(v) if k in ("ca_cert", "cert", "key") else v for k, v in table.items()}


def write_key(path: Path) -> ed25519.Ed25519PrivateKey:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return key
