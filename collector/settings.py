"""Collector settings, read from a TOML file (no import-time globals, no environment magic).

store = "sqlite:///var/lib/vnotary/collector.db"     # or postgresql://...
key_file = "collector.key"        # Ed25519 PEM: signs receipts and checkpoints
origin = "collector.example/vnotary/log"            # checkpoint origin line
checkpoint_interval_s = 1.0
signer_state = "collector.key.signer-state.json"  # the signer guard's memory (default: beside
                                  # key_file; docs/collector.md § Signer guard)
witness_quorum = 2                # cosignatures a checkpoint needs before it is published

[[witness]]                       # one table per witness (docs/witness.md); none: quorum 0
url = "https://witness.insurer.example"  vkey = "witness.insurer.example/w1+1a2b3c4d+BX..."

[mqtt]                            # omit to run without ingest (API / anchoring only)
host = "127.0.0.1"  port = 8883  ca_cert = "ca.pem"  cert = "collector.pem"
key = "collector.key.pem"  shared_group = "collectors"    # optional

[anchor]                          # omit to run without anchoring
rpc_url = "http://127.0.0.1:8545"  contract = "0x..."  key_file = "eth.key"
interval_s = 60  confirmations = 12  use_finalized = false  start_block = 0

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
from collector.ingest.mqtt import MqttSettings
from collector.log.checkpoints import CheckpointSigner, WitnessPolicy
from collector.log.signer_state import StateFile
from collector.log.witness_http import HttpWitness
from collector.log.witnesses import WitnessClient, witness_sizes
from collector.store.base import Store
from notary_core import cose
from notary_core.checkpoint import NoteSigner
from notary_core.witness import WitnessVerifier


@dataclass(frozen=True)
class AnchorSettings:
    rpc_url: str
    contract: str
    key_file: str
    interval_s: float = limits.DEFAULT_ANCHOR_INTERVAL_S
    confirmations: int = limits.DEFAULT_CONFIRMATIONS
    use_finalized: bool = False
    start_block: int = 0  # the contract's deployment block: event searches start there

    def private_key(self) -> str:
        return Path(self.key_file).read_text(encoding="ascii").strip()


@dataclass(frozen=True)
class AccessSettings:
    operator_keys: tuple[str, ...] = ()
    dbc: str | None = None
    max_signature_age_s: int = 300
    retry_after_s: int = 5


@dataclass(frozen=True)
class WitnessSettings:
    url: str  # the witness's submission prefix: POST <url>/add-checkpoint
    vkey: str  # its cosignature verifier key (C2SP tlog-cosignature, type 0x04)

    @property
    def verifier(self) -> WitnessVerifier:
        return WitnessVerifier.from_vkey(self.vkey)


@dataclass(frozen=True)
class Settings:
    store: str
    key_file: str
    origin: str
    checkpoint_interval_s: float = limits.DEFAULT_CHECKPOINT_INTERVAL_S
    mqtt: MqttSettings | None = None
    anchor: AnchorSettings | None = None
    access: AccessSettings = AccessSettings()
    witness: tuple[WitnessSettings, ...] = ()
    witness_quorum: int = 0
    witness_timeout_s: float = 5.0
    signer_state: str | None = None

    def __post_init__(self) -> None:
        names = [w.verifier.name for w in self.witness]  # parses every vkey
        if len(set(names)) != len(names):
            raise ValueError("each [[witness]] must have its own key name")
        if not 0 <= self.witness_quorum <= len(self.witness):
            raise ValueError(f"witness_quorum {self.witness_quorum} with {len(names)} witnesses")
        if self.witness and self.witness_quorum == 0:
            raise ValueError("[[witness]] given: set witness_quorum (1..number of witnesses)")

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        base = Path(path).resolve().parent
        data: dict[str, Any] = tomllib.loads(Path(path).read_text(encoding="utf-8"))

        def rel(p: str) -> str:
            return str(base / p) if "://" not in p else p

        mqtt = data.pop("mqtt", None)
        anchor = data.pop("anchor", None)
        witnesses = tuple(WitnessSettings(**w) for w in data.pop("witness", []))
        if data.get("signer_state"):
            data["signer_state"] = rel(data["signer_state"])
        access = data.pop("access", {})
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
            witness=witnesses,
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

    def signer_state_path(self) -> Path:
        """The signer guard's state, next to the checkpoint key unless configured."""
        return Path(self.signer_state or self.key_file + ".signer-state.json")

    def witness_verifiers(self) -> tuple[WitnessVerifier, ...]:
        return tuple(w.verifier for w in self.witness)

    def witness_clients(self) -> list[WitnessClient]:
        """HTTP clients of the configured witnesses (close them when done)."""
        return [HttpWitness(w.url, w.verifier, self.witness_timeout_s) for w in self.witness]

    def checkpoint_signer(
        self, store: Store, witnesses: list[WitnessClient] | None = None
    ) -> CheckpointSigner:
        """The guarded signer of this collector's checkpoints (collector/log/checkpoints.py);
        with witness clients, it first asks them what they cosigned (its probe)."""
        policy = WitnessPolicy(self.witness_verifiers(), self.witness_quorum)
        state = StateFile(self.signer_state_path())
        clients = witnesses or []

        async def probe(empty_note: bytes) -> dict[str, int]:
            return await witness_sizes(clients, empty_note)

        return CheckpointSigner(store, self.note_signer(), self.origin, state, policy,
                                probe if clients else None)  # fmt: skip


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
