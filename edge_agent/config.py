"""The agent's TOML configuration: parsed and validated once at start, with clear errors.

The file's layout is a pydantic schema (the validator the collector's settings use too):
every key is typed and bounded, an unknown or misspelt key is refused with its path
(`mqtt.hots: unknown key`), and every problem is one `key: problem` item of a single
BadData(MALFORMED) naming the file. The valid file becomes the frozen dataclasses below,
which the agent uses. The config hash (SHA-256 of the file bytes) goes into every header.
The format is documented in edge_agent/README.md; deploy/edge/agent.toml is an example.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge_agent import limits
from notary_core.errors import BadData, Reason
from notary_core.header import DEVICE_ID_RE
from notary_core.records import CanEncoder, ClockSource

SOURCE_TYPES = ("can", "replay", "nmea", "bridge")  # = _Source.type
LOG_FORMATS = ("plain", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class SourceConfig:
    type: str
    stream: str
    interface: str = "virtual"  # can: any python-can interface
    channel: str = ""
    bitrate: int | None = None
    fd: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # extra python-can Bus kwargs
    file: str = ""  # replay
    speed: str = "recorded"  # replay: "recorded" or "max"
    per_channel: bool = True  # replay: stream = the log's channel name when it has one
    port: str = ""  # nmea, bridge
    baudrate: int = 9600


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    ca_file: Path
    cert_file: Path
    key_file: Path
    collector_public_keys: tuple[Path, ...]  # the pinned receipt keys (several: a rotation)
    inflight: int = limits.DEFAULT_INFLIGHT
    receipt_timeout_s: float = limits.DEFAULT_RECEIPT_TIMEOUT_S
    backoff_min_s: float = limits.DEFAULT_BACKOFF_MIN_S
    backoff_max_s: float = limits.DEFAULT_BACKOFF_MAX_S
    keepalive_s: int = 30
    compress: str = "zlib"  # docs/protocol.md §5.1 envelope on the wire; "none": bare batches


@dataclass(frozen=True)
class ClockConfig:
    """Where the agent reads the clock discipline (edge_agent/discipline.py)."""

    chrony: str = limits.DEFAULT_CHRONY  # socket path or address; "" = adjtimex only
    chronyc: str = "chronyc"
    poll_s: float = limits.DEFAULT_CLOCK_POLL_S


@dataclass(frozen=True)
class MetricsConfig:
    """Prometheus metrics on an HTTP port (edge_agent/metrics_http.py); off without a port."""

    port: int | None = None
    address: str = "127.0.0.1"


@dataclass(frozen=True)
class Config:
    device_id: str
    key_file: Path
    spool_path: Path
    mqtt: MqttConfig
    sources: tuple[SourceConfig, ...]
    window_s: float = limits.DEFAULT_WINDOW_S
    max_records: int = limits.DEFAULT_MAX_RECORDS
    spool_max_bytes: int = limits.DEFAULT_SPOOL_MAX_BYTES
    retention_s: float = limits.DEFAULT_RETENTION_S
    min_free_bytes: int = limits.DEFAULT_MIN_FREE_BYTES
    exit_when_done: bool = False  # replay demos: stop once replays end and all is receipted
    config_hash: bytes = bytes(32)
    head_path: Path = Path()  # the second record of the chain position (edge_agent/headfile)
    log_format: str = "plain"  # "plain" lines for journald, or "json" lines
    log_level: str = "INFO"
    clock: ClockConfig = ClockConfig()
    metrics: MetricsConfig = MetricsConfig()


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Batch(_Table):
    window_s: float = Field(default=limits.DEFAULT_WINDOW_S, gt=0, le=3600)
    max_records: int = Field(default=limits.DEFAULT_MAX_RECORDS, gt=0, le=65536)


class _Spool(_Table):
    path: str
    head_path: str | None = None  # default: <path>.head
    max_bytes: int = Field(default=limits.DEFAULT_SPOOL_MAX_BYTES, gt=0)
    retention_s: float = Field(default=limits.DEFAULT_RETENTION_S, gt=0)
    min_free_bytes: int = Field(default=limits.DEFAULT_MIN_FREE_BYTES, gt=0)


class _Mqtt(_Table):
    host: str = Field(min_length=1)
    port: int = Field(gt=0, lt=65536)
    ca_file: str
    cert_file: str
    key_file: str
    collector_public_key: str | tuple[str, ...]  # one PEM file, or several during a rotation
    inflight: int = Field(default=limits.DEFAULT_INFLIGHT, gt=0, le=1000)
    receipt_timeout_s: float = Field(default=limits.DEFAULT_RECEIPT_TIMEOUT_S, gt=0)
    backoff_min_s: float = Field(default=limits.DEFAULT_BACKOFF_MIN_S, gt=0)
    backoff_max_s: float = Field(default=limits.DEFAULT_BACKOFF_MAX_S, gt=0)
    keepalive_s: int = Field(default=30, gt=0, le=65535)
    # zlib by default: the link (cellular) is the scarce resource, ~1 us of CPU per frame
    # buys 2.8x fewer bytes (docs/performance.md); "none" for a collector older than §5.1.
    compress: Literal["zlib", "none"] = "zlib"

    @field_validator("collector_public_key", mode="before")
    @classmethod
    def _receipt_keys(cls, v: Any) -> Any:
        """A TOML array of receipt keys (a rotation in progress, protocol §6.3)."""
        if isinstance(v, list):
            if not v or len(set(v)) != len(v):
                raise ValueError("a list of distinct PEM files, at least one")
            return tuple(v)
        return v


def _paths(v: str | tuple[str, ...]) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else v


class _Source(_Table):
    type: Literal["can", "replay", "nmea", "bridge"]
    stream: str
    interface: str = "virtual"
    channel: str = ""
    bitrate: int | None = Field(default=None, gt=0)
    fd: bool = False
    options: dict[str, Any] = {}
    file: str = ""
    speed: Literal["recorded", "max"] = "recorded"
    per_channel: bool = True
    port: str = ""
    baudrate: int = Field(default=9600, gt=0)

    @field_validator("stream")
    @classmethod
    def _stream(cls, v: str) -> str:
        if not _valid_stream(v):
            raise ValueError(f"{v!r} is not a stream name ([a-z0-9:._-])")
        return v

    @model_validator(mode="after")
    def _needs(self) -> _Source:
        if self.type == "replay" and not self.file:
            raise ValueError("a replay source needs `file`")
        if self.type in ("nmea", "bridge") and not self.port:
            raise ValueError(f"a {self.type} source needs `port`")
        return self


class _Log(_Table):
    format: Literal["plain", "json"] = "plain"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"] = (
        "INFO"
    )


class _Clock(_Table):
    chrony: str = limits.DEFAULT_CHRONY  # chronyd's socket path or address; "" = adjtimex only
    chronyc: str = "chronyc"
    poll_s: float = Field(default=limits.DEFAULT_CLOCK_POLL_S, gt=0, le=60)


class _Metrics(_Table):
    port: int | None = Field(default=None, gt=0, lt=65536)  # none: no metrics server
    address: str = Field(default="127.0.0.1", min_length=1)  # "0.0.0.0" for a remote scraper


class _File(_Table):
    device_id: str
    key_file: str
    exit_when_done: bool = False
    log: _Log = _Log()
    clock: _Clock = _Clock()
    metrics: _Metrics = _Metrics()
    batch: _Batch = _Batch()
    spool: _Spool
    mqtt: _Mqtt
    source: list[_Source] = Field(min_length=1)

    @field_validator("device_id")
    @classmethod
    def _device(cls, v: str) -> str:
        if not DEVICE_ID_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a device id ([A-Za-z0-9._-], 1-64)")
        return v


def load(path: Path) -> Config:
    """Read and validate a config file; raise BadData(MALFORMED) listing every problem."""
    try:
        if path.stat().st_size > limits.MAX_CONFIG_BYTES:
            raise BadData(Reason.TOO_LARGE, f"config {path} is larger than 1 MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise BadData(Reason.MALFORMED, f"cannot read config {path}: {exc.strerror}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadData(Reason.MALFORMED, f"config {path} is not valid TOML: {exc}") from None
    return parse(doc, path.parent, hashlib.sha256(raw).digest(), str(path))


def parse(doc: dict[str, Any], base: Path, config_hash: bytes, name: str = "config") -> Config:
    try:
        f = _File.model_validate(doc)
    except ValidationError as exc:
        raise BadData(Reason.MALFORMED, f"{name}: {problems(exc)}") from None

    def path(p: str) -> Path:
        return Path(p) if Path(p).is_absolute() else base / p

    missing = [
        f"source[{i}].file: {path(s.file)} does not exist"
        for i, s in enumerate(f.source)
        if s.type == "replay" and not path(s.file).is_file()
    ]
    if missing:
        raise BadData(Reason.MALFORMED, f"{name}: " + "; ".join(missing))
    m = f.mqtt
    return Config(
        device_id=f.device_id,
        key_file=path(f.key_file),
        spool_path=path(f.spool.path),
        mqtt=MqttConfig(
            host=m.host,
            port=m.port,
            ca_file=path(m.ca_file),
            cert_file=path(m.cert_file),
            key_file=path(m.key_file),
            collector_public_keys=tuple(map(path, _paths(m.collector_public_key))),
            inflight=m.inflight,
            receipt_timeout_s=m.receipt_timeout_s,
            backoff_min_s=m.backoff_min_s,
            backoff_max_s=m.backoff_max_s,
            keepalive_s=m.keepalive_s,
            compress=m.compress,
        ),
        sources=tuple(
            SourceConfig(**{**s.model_dump(), "file": str(path(s.file)) if s.file else ""})
            for s in f.source
        ),
        window_s=f.batch.window_s,
        max_records=f.batch.max_records,
        spool_max_bytes=f.spool.max_bytes,
        retention_s=f.spool.retention_s,
        min_free_bytes=f.spool.min_free_bytes,
        exit_when_done=f.exit_when_done,
        config_hash=config_hash,
        head_path=path(f.spool.head_path) if f.spool.head_path is not None
        else path(f.spool.path).with_name(Path(f.spool.path).name + ".head"),
        log_format=f.log.format,
        log_level=f.log.level.upper(),
        clock=ClockConfig(chrony=f.clock.chrony, chronyc=f.clock.chronyc, poll_s=f.clock.poll_s),
        metrics=MetricsConfig(port=f.metrics.port, address=f.metrics.address),
    )  # fmt: skip


KINDS = {"string_type": "expected a string", "int_type": "expected an integer",
         "float_type": "expected a number", "bool_type": "expected true/false",
         "dict_type": "expected a table", "list_type": "expected a list of tables",
         "model_type": "expected a table", "literal_error": "expected one of"}  # fmt: skip


def problems(exc: ValidationError) -> str:
    """pydantic's errors as `key.path: problem` items, one per problem, on one line."""
    out = []
    for e in exc.errors(include_url=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
        where = where.removeprefix(".") or "(top level)"
        kind, msg = e["type"], e["msg"].removeprefix("Value error, ")
        if where == "source" and kind in ("missing", "too_short"):
            what = "at least one [[source]] is required"
        elif kind == "missing":
            what = "missing"
        elif kind == "extra_forbidden":
            what = "unknown key"
        elif kind in KINDS:
            what = f"{KINDS[kind]}{msg.partition('expected')[2] if kind == 'literal_error' else ''}"
            what += f", got {e['input']!r}"
        else:
            what = f"{msg[0].lower()}{msg[1:]}"
            if kind != "value_error":
                what += f", got {e['input']!r}"
        out.append(f"{where}: {what[:200]}")
    return "; ".join(out)


def _valid_stream(name: str) -> bool:
    """notary_core's own rule for stream names (the encoder refuses any other)."""
    try:
        CanEncoder(name, ClockSource.UNKNOWN)
    except (BadData, UnicodeEncodeError):
        return False
    return True
