"""Collector settings: a TOML file validated by pydantic, secrets from files or the environment.

store = "sqlite:///var/lib/vnotary/collector.db"     # or postgresql://user@host/db
store_password_file = "db.password"  # optional; or VNOTARY_STORE_PASSWORD, or a credential
key_file = "collector.key"        # Ed25519 PEM: the default key of the three statements
log_key_file = "log.key"          # optional: signs checkpoints (signed notes, §7)
receipt_key_file = "receipt.key"  # optional: signs receipts (§6), pinned by agents
bundle_key_file = "bundle.key"    # optional: signs evidence bundles (§12), pinned in trust files
previous_log_key_file = "log-2025.key"   # optional: a log key rotation in progress: it
                                  # cosigns each checkpoint beside log_key_file (§6.3)
retired_log_vkeys = ["collector.example+1a2b3c4d+AX..."]  # published in the trust file
retired_bundle_keys = ["<base64 SPKI DER>"]  # keys of bundles issued before a rotation
origin = "collector.example/vnotary/log"            # checkpoint origin line
checkpoint_interval_s = 1.0
gap_grace_s = 10.0                # a hole is a gap once it outlived this (default: 0 alone,
                                  # 10 in a shared group; docs/collector.md § Gaps)
signer_state = "collector.key.signer-state.json"  # the signer guard's memory (default: beside
                                  # key_file, else log_key_file; required for a log key
                                  # rotation; docs/collector.md § Signer guard)
witness_quorum = 2                # cosignatures a checkpoint needs before it is published

[[witness]]                       # one table per witness (docs/witness.md); none: quorum 0
url = "https://witness.insurer.example"  vkey = "witness.insurer.example/w1+1a2b3c4d+BX..."

[mqtt]                            # omit to run without ingest (API / anchoring only)
host = "127.0.0.1"  port = 8883  ca_cert = "ca.pem"  cert = "collector.pem"
key = "collector.key.pem"  shared_group = "collectors"    # optional

[anchor]                          # omit to run without anchoring
rpc_url = "http://127.0.0.1:8545"  contract = "0x..."  start_block = 0
key_file = "eth.key"              # optional; or VNOTARY_CHAIN_KEY, or a credential chain_key
interval_s = 60  confirmations = 12  use_finalized = false  # at most one send per interval,
poll_s = 1.0                      # as soon as a checkpoint is published; an anchor in flight
                                  # is looked at every poll_s (about the chain's block time)

[[tsa]]                           # RFC 3161 TSAs that stamp each anchored checkpoint (needs
url = "https://tsa.example/tsr"   # [anchor]; docs/collector.md § Timestamps)  timeout_s = 10

[time]                            # ingest time checks (docs/protocol.md §6.2)
regression_tolerance_s = 2.0  future_tolerance_s = 300.0

[access]                          # owners, parties, grants and evidence (docs/access.md)
operator_keys = ["<base64url raw Ed25519 public key>"]   # who may sign registry requests
dbc = "toyota_rav4_2017_pt_generated.dbc"                 # decodes CAN views in bundles
max_signature_age_s = 300  retry_after_s = 5
party_rate_per_s = 2.0  party_burst = 120               # signed requests per party

A production deployment gives each statement its own key (log_key_file, receipt_key_file,
bundle_key_file: docs/collector.md § Keys); `key_file` alone signs all three, as before.

Every key is checked: an unknown or misspelt one is refused with its path, and each problem
is one `key: problem` item of a single BadData(MALFORMED) naming the file. Relative paths
are relative to the file. The secrets (the database password, the chain key) are never
required in the file: each comes from a `*_file` key, the environment (VNOTARY_STORE_PASSWORD,
VNOTARY_CHAIN_KEY), or a file of that name (`store_password`, `chain_key`) in systemd's
$CREDENTIALS_DIRECTORY (pydantic-settings' secrets directory). No import-time globals.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from collector import limits
from collector.ingest import timecheck
from collector.ingest.mqtt import MqttSettings
from collector.log.checkpoints import CheckpointSigner, WitnessPolicy
from collector.log.signer_state import StateFile
from collector.log.timestamps import TsaClient
from collector.log.tsa_http import HttpTsa
from collector.log.witness_http import HttpWitness
from collector.log.witnesses import WitnessClient, witness_sizes
from collector.store.base import Store
from notary_core import cose
from notary_core.checkpoint import NoteSigner, NoteVerifier
from notary_core.errors import BadData, NotaryError, Reason
from notary_core.witness import WitnessVerifier

MAX_SETTINGS_BYTES = 1 << 20  # a settings file is a few hundred bytes; refuse anything huge
Seconds = Annotated[float, Field(gt=0, le=86_400)]


class Secrets(BaseSettings):
    """Secrets kept out of collector.toml: VNOTARY_<NAME> in the environment, or a file
    <name> in the secrets directory ($CREDENTIALS_DIRECTORY: systemd's LoadCredential=)."""

    model_config = SettingsConfigDict(env_prefix="VNOTARY_", extra="ignore")
    store_password: SecretStr | None = None
    chain_key: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment first, then the credential files, named without the prefix
        (systemd: LoadCredential=store_password:/etc/...); no .env file."""
        where = os.environ.get("CREDENTIALS_DIRECTORY")
        if not where or not Path(where).is_dir():
            return init_settings, env_settings
        files = SecretsSettingsSource(settings_cls, secrets_dir=where, env_prefix="")
        return init_settings, env_settings, files

    @classmethod
    def read(cls) -> Secrets:
        return cls()


def _rel(value: str | None, info: ValidationInfo) -> str | None:
    """A path relative to the settings file (when loaded from one)."""
    base = (info.context or {}).get("base")
    if value is None or base is None or "://" in value or Path(value).is_absolute():
        return value
    return str(Path(base) / value)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AnchorSettings(_Table):
    rpc_url: str = Field(pattern=r"^https?://")
    contract: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    key_file: str | None = None
    start_block: int = Field(default=0, ge=0)  # the contract's deployment block: logs start there
    interval_s: Seconds = limits.DEFAULT_ANCHOR_INTERVAL_S
    confirmations: int = Field(default=limits.DEFAULT_CONFIRMATIONS, ge=0, le=10_000)
    use_finalized: bool = False
    poll_s: Seconds = 1.0  # how often an anchor in flight is looked at: about one block time

    resolve_paths = field_validator("key_file")(_rel)

    def private_key(self) -> str:
        """The sender's key: anchor.key_file, else VNOTARY_CHAIN_KEY or credential chain_key."""
        if self.key_file is not None:
            return read_private(self.key_file).decode("ascii").strip()
        secret = Secrets.read().chain_key
        if secret is None:
            raise BadData(Reason.MALFORMED, "anchor: no chain key: set anchor.key_file, "
                          "VNOTARY_CHAIN_KEY or a credential chain_key")  # fmt: skip
        return secret.get_secret_value().strip()


class AccessSettings(_Table):
    operator_keys: tuple[str, ...] = ()
    dbc: str | None = None
    max_signature_age_s: int = Field(default=300, gt=0, le=86_400)
    retry_after_s: int = Field(default=5, gt=0, le=3600)
    # Signed requests of one party (not an operator), per API process: a bucket of
    # `party_burst` refilled at `party_rate_per_s`; past it 429 with Retry-After.
    party_rate_per_s: float = Field(default=limits.PARTY_RATE_PER_S, gt=0, le=10_000)
    party_burst: int = Field(default=limits.PARTY_BURST, ge=1, le=100_000)

    resolve_paths = field_validator("dbc")(_rel)

    @field_validator("operator_keys", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v  # TOML arrays are lists


class WitnessSettings(_Table):
    url: str = Field(pattern=r"^https?://")  # its submission prefix: POST <url>/add-checkpoint
    vkey: str  # its cosignature verifier key (C2SP tlog-cosignature, type 0x04)

    @field_validator("vkey")
    @classmethod
    def _vkey(cls, v: str) -> str:
        try:
            WitnessVerifier.from_vkey(v)
        except NotaryError as exc:
            raise ValueError(f"not a witness verifier key: {exc}") from None
        return v

    @property
    def verifier(self) -> WitnessVerifier:
        return WitnessVerifier.from_vkey(self.vkey)


class TsaSettings(_Table):
    """An RFC 3161 time-stamping authority (docs/collector.md § Timestamps)."""

    url: str = Field(pattern=r"^https?://")  # where to POST application/timestamp-query
    timeout_s: Seconds = 10.0


class TimeSettings(_Table):
    """The collector's time checks at ingest (docs/protocol.md §6.2)."""

    regression_tolerance_s: float = Field(
        default=timecheck.DEFAULT_REGRESSION_TOLERANCE_S, ge=0, le=86_400
    )
    future_tolerance_s: float = Field(default=timecheck.DEFAULT_FUTURE_TOLERANCE_S, ge=0, le=86_400)

    def tolerance(self) -> timecheck.TimeTolerance:
        return timecheck.TimeTolerance(
            int(self.regression_tolerance_s * 1e9), int(self.future_tolerance_s * 1e9)
        )


class Settings(_Table):
    store: str = Field(pattern=r"^(sqlite|postgresql|postgres)://")
    log_key_file: str | None = None  # checkpoints (signed notes, protocol §7)
    receipt_key_file: str | None = None  # receipts (§6), pinned by every agent
    bundle_key_file: str | None = None  # evidence bundles (§12), pinned in trust files
    # The default of the three above (one key signs all): required unless each is set.
    key_file: str | None = Field(default=None, validate_default=True)
    previous_log_key_file: str | None = None  # a log key rotation: cosigns every checkpoint
    retired_log_vkeys: tuple[str, ...] = ()  # still published in the trust file (§6.3)
    retired_bundle_keys: tuple[str, ...] = ()  # base64 SPKI DER, ditto
    origin: str = Field(min_length=1, max_length=255)
    store_password_file: str | None = None
    checkpoint_interval_s: Seconds = limits.DEFAULT_CHECKPOINT_INTERVAL_S
    mqtt: MqttSettings | None = None
    anchor: AnchorSettings | None = None
    access: AccessSettings = AccessSettings()
    witness: tuple[WitnessSettings, ...] = ()
    witness_quorum: int = Field(default=0, ge=0, le=64)
    witness_timeout_s: Seconds = 5.0
    signer_state: str | None = None
    time: TimeSettings = TimeSettings()
    # A hole in a device's batch_seq is a gap only once it outlived this (docs/collector.md
    # § Gaps). Unset: 0 for a lone collector, limits.GROUP_GAP_GRACE_S in a shared group.
    gap_grace_s: float | None = Field(default=None, ge=0, le=86_400)
    tsa: tuple[TsaSettings, ...] = ()

    resolve_paths = field_validator(
        "key_file", "log_key_file", "receipt_key_file", "bundle_key_file",
        "previous_log_key_file", "store_password_file", "signer_state",
    )(_rel)  # fmt: skip

    @field_validator("witness", "tsa", "retired_log_vkeys", "retired_bundle_keys", mode="before")
    @classmethod
    def _witness_list(cls, v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v  # TOML arrays of tables are lists

    @field_validator("key_file")
    @classmethod
    def _default_key(cls, v: str | None, info: ValidationInfo) -> str | None:
        """key_file may be left out only when every statement has its own key (a field
        left out is a `missing` problem, reported with the others)."""
        own = ("log_key_file", "receipt_key_file", "bundle_key_file")
        if v is None and any(info.data.get(k) is None for k in own):
            raise PydanticCustomError("missing", "Field required")
        return v

    @field_validator("retired_log_vkeys")
    @classmethod
    def _retired_vkeys(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for vkey in v:
            try:
                NoteVerifier.from_vkey(vkey)
            except (NotaryError, ValueError) as exc:
                raise ValueError(f"not a signed-note verifier key: {vkey!r}: {exc}") from None
        return v

    @field_validator("retired_bundle_keys")
    @classmethod
    def _retired_spkis(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for b64 in v:
            try:
                cose.PublicKey.from_spki(base64.b64decode(b64, validate=True))
            except (binascii.Error, NotaryError) as exc:
                raise ValueError(f"not a base64 SPKI public key: {b64!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _keys(self) -> Settings:
        if self.previous_log_key_file is not None:
            if self.signer_state is None:
                raise ValueError("previous_log_key_file (a log key rotation) needs signer_state "
                                 "set: the guard's memory is the log's, not a key's")  # fmt: skip
            if self.previous_log_key_file == self.log_key_path():
                raise ValueError("previous_log_key_file is log_key_file: rotate to a new key")
        return self

    @model_validator(mode="after")
    def _quorum(self) -> Settings:
        names = [w.verifier.name for w in self.witness]
        if len(set(names)) != len(names):
            raise ValueError("each [[witness]] must have its own key name")
        if not self.witness_quorum <= len(self.witness):
            raise ValueError(f"witness_quorum {self.witness_quorum} with {len(names)} witnesses")
        if self.witness and self.witness_quorum == 0:
            raise ValueError("[[witness]] given: set witness_quorum (1..number of witnesses)")
        urls = [t.url for t in self.tsa]
        if len(set(urls)) != len(urls):
            raise ValueError("each [[tsa]] must have its own url")
        if self.tsa and self.anchor is None:
            raise ValueError("[[tsa]] given without [anchor]: only anchored checkpoints are "
                             "time-stamped")  # fmt: skip
        return self

    @field_validator("store")
    @classmethod
    def _store(cls, v: str, info: ValidationInfo) -> str:
        if v.startswith("sqlite:///") and not v.startswith("sqlite:////"):
            return "sqlite:///" + (_rel(v.removeprefix("sqlite:///"), info) or "")
        return v

    @field_validator("mqtt", mode="before")
    @classmethod
    def _mqtt_paths(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, dict):
            return {k: _rel(x, info) if k in ("ca_cert", "cert", "key") and isinstance(x, str)
                    else x for k, x in v.items()}  # fmt: skip
        return v

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        """Read, validate and complete the settings; BadData names the file and each key."""
        path = Path(path)
        if path.stat().st_size > MAX_SETTINGS_BYTES:  # OSError: the CLI names the file
            raise BadData(Reason.TOO_LARGE, f"{path}: larger than {MAX_SETTINGS_BYTES} bytes")
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise BadData(Reason.MALFORMED, f"{path}: not valid TOML: {exc}") from None
        try:
            s = cls.model_validate(doc, context={"base": path.resolve().parent})
        except ValidationError as exc:
            raise BadData(Reason.MALFORMED, f"{path}: {problems(exc)}") from None
        return s

    def store_url(self) -> str:
        """The store URL to open, with its password from store_password_file,
        VNOTARY_STORE_PASSWORD or the credential store_password when the URL has none (read
        when the store is opened, so the settings validate where the secret is not mounted)."""
        parts = urlsplit(self.store)
        if not parts.scheme.startswith("postgres") or parts.password is not None:
            return self.store
        if self.store_password_file is not None:
            password = Path(self.store_password_file).read_text(encoding="utf-8").strip()
        elif (secret := Secrets.read().store_password) is not None:
            password = secret.get_secret_value()
        else:
            return self.store  # peer or certificate authentication, or a libpq password file
        user, _, host = parts.netloc.rpartition("@")
        netloc = f"{user}:{quote(password, safe='')}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))

    def gap_grace_ns(self) -> int:
        grace = self.gap_grace_s
        if grace is None:
            grouped = self.mqtt is not None and self.mqtt.shared_group is not None
            grace = limits.GROUP_GAP_GRACE_S if grouped else 0.0
        return int(grace * 1e9)

    def log_key_path(self) -> str:
        path = self.log_key_file or self.key_file
        assert path is not None  # _keys
        return path

    def receipt_key_path(self) -> str:
        path = self.receipt_key_file or self.key_file
        assert path is not None  # _keys
        return path

    def bundle_key_path(self) -> str:
        path = self.bundle_key_file or self.key_file
        assert path is not None  # _keys
        return path

    def signing_key(self, path: str | None = None) -> ed25519.Ed25519PrivateKey:
        """An Ed25519 private key (PEM, 0600): `path`, by default the checkpoint key."""
        path = path or self.log_key_path()
        key = serialization.load_pem_private_key(read_private(path), None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise BadData(Reason.BAD_KEY, f"{path}: the collector's keys must be Ed25519")
        return key

    def receipt_signer(self) -> cose.Signer:
        """Signs receipts (protocol §6): the key every agent pins."""
        return cose.Signer.from_key(self.signing_key(self.receipt_key_path()))

    def bundle_signer(self) -> cose.Signer:
        """Signs evidence bundles (§12): the key trust files pin as collector_keys."""
        return cose.Signer.from_key(self.signing_key(self.bundle_key_path()))

    def note_signer(self) -> NoteSigner:
        """Signs checkpoints (§7): the key trust files pin as log_vkeys."""
        return NoteSigner(self.origin.split("/")[0], self.signing_key(self.log_key_path()))

    def note_signers(self) -> tuple[NoteSigner, ...]:
        """Every key that signs each checkpoint: the log key, and during a rotation the
        previous one beside it (protocol §6.3)."""
        signers = [self.note_signer()]
        if self.previous_log_key_file is not None:
            name = self.origin.split("/")[0]
            signers.append(NoteSigner(name, self.signing_key(self.previous_log_key_file)))
        return tuple(signers)

    def log_vkeys(self) -> list[str]:
        """The log keys a trust file pins: the current, the previous one, the retired ones."""
        out = [s.verifier.vkey for s in self.note_signers()]
        return out + [v for v in self.retired_log_vkeys if v not in out]

    def bundle_keys(self) -> list[str]:
        """The bundle keys a trust file pins (base64 SPKI DER): the current and retired."""
        out = [base64.b64encode(self.bundle_signer().public.spki()).decode()]
        return out + [k for k in self.retired_bundle_keys if k not in out]

    def signer_state_path(self) -> Path:
        """The signer guard's state, next to the checkpoint key unless configured."""
        return Path(self.signer_state or (self.key_file or self.log_key_path())
                    + ".signer-state.json")  # fmt: skip

    def witness_verifiers(self) -> tuple[WitnessVerifier, ...]:
        return tuple(w.verifier for w in self.witness)

    def witness_clients(self) -> list[WitnessClient]:
        """HTTP clients of the configured witnesses (close them when done)."""
        return [HttpWitness(w.url, w.verifier, self.witness_timeout_s) for w in self.witness]

    def tsa_clients(self) -> list[TsaClient]:
        """HTTP clients of the configured TSAs (close them when done)."""
        return [HttpTsa(t.url, t.timeout_s) for t in self.tsa]

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

        retired = tuple(NoteVerifier.from_vkey(v) for v in self.retired_log_vkeys)
        signers = self.note_signers()
        return CheckpointSigner(store, signers[0], self.origin, state, policy,
                                probe if clients else None, also=signers[1:],
                                retired=retired)  # fmt: skip


def problems(exc: ValidationError) -> str:
    """pydantic's errors as `key.path: problem` items, one per problem, on one line."""
    out = []
    for e in exc.errors(include_url=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
        where = where.removeprefix(".") or "(top level)"
        what = {"missing": "missing", "extra_forbidden": "unknown key"}.get(e["type"])
        if what is None:
            what = f"{e['msg'][0].lower()}{e['msg'][1:]}, got {e['input']!r}"[:200]
        out.append(f"{where}: {what}")
    return "; ".join(out)


def read_private(path: str | Path) -> bytes:
    """A private key's bytes, refused when the file is readable by group or others: a key
    that others could have copied is not the collector's alone any more."""
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        raise BadData(Reason.BAD_KEY, f"{path}: a private key must be readable by its owner "
                      f"only, its mode is {mode:04o}: chmod 600 {path}")  # fmt: skip
    return Path(path).read_bytes()


def write_private(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write a secret readable by its owner only (0600 before any byte is written). An
    existing file is never replaced (FileExistsError) unless `force`; then the new file is
    written beside it and renamed over it, so the old mode never carries over."""
    target = path.with_name(path.name + ".new") if force else path
    if force:
        target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # whatever the umask
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if force:
        os.replace(target, path)


def write_key(path: Path, *, force: bool = False) -> ed25519.Ed25519PrivateKey:
    """A new Ed25519 collector key, PEM, 0600. The key is an identity verifiers pin:
    an existing one is replaced only with `force` (FileExistsError otherwise)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem, force=force)
    return key
