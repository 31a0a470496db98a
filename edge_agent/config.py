"""The agent's TOML configuration: parsed and validated once at start, with clear errors.

Every problem names its key (`mqtt.port: must be an integer 1..65535`); all problems are
reported together. The config hash (SHA-256 of the file bytes) goes into every header.
The format is documented in edge_agent/README.md; deploy/edge/agent.toml is an example.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent import limits
from notary_core.errors import BadData, Reason
from notary_core.header import DEVICE_ID_RE
from notary_core.records import CanEncoder, ClockSource

SOURCE_TYPES = ("can", "replay", "nmea", "bridge")
LOG_FORMATS = ("plain", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SPOOL_KEYS = ("path", "head_path", "max_bytes", "retention_s", "min_free_bytes")
_BATCH_KEYS = ("window_s", "max_records")
_MQTT_KEYS = (
    "host",
    "port",
    "ca_file",
    "cert_file",
    "key_file",
    "collector_public_key",
    "inflight",
    "receipt_timeout_s",
    "backoff_min_s",
    "backoff_max_s",
)


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
    collector_public_key: Path
    inflight: int = limits.DEFAULT_INFLIGHT
    receipt_timeout_s: float = limits.DEFAULT_RECEIPT_TIMEOUT_S
    backoff_min_s: float = limits.DEFAULT_BACKOFF_MIN_S
    backoff_max_s: float = limits.DEFAULT_BACKOFF_MAX_S
    keepalive_s: int = 30


@dataclass(frozen=True)
class ClockConfig:
    """Where the agent reads the clock discipline (edge_agent/discipline.py)."""

    chrony: str = limits.DEFAULT_CHRONY  # socket path or address; "" = adjtimex only
    chronyc: str = "chronyc"
    poll_s: float = limits.DEFAULT_CLOCK_POLL_S


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


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, base: Path) -> None:
        self.problems: list[str] = []
        self.base = base

    def get(
        self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str
    ) -> Any:
        value = table.get(key)
        if value is None:
            return None
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.problems.append(f"{where}{key}: expected {_kind_name(kind)}, got {value!r}")
            return None
        return value

    def req(self, table: dict[str, Any], key: str, kind: type, where: str) -> Any:
        if key not in table:
            self.problems.append(f"{where}{key}: missing")
            return None
        return self.get(table, key, kind, where)

    def path(self, table: dict[str, Any], key: str, where: str) -> Path:
        value = self.req(table, key, str, where)
        p = Path(value) if value else Path()
        return p if p.is_absolute() else self.base / p

    def positive(self, value: Any, name: str, upper: float | None = None) -> None:
        if value is not None and (value <= 0 or (upper is not None and value > upper)):
            bound = f" and <= {upper}" if upper is not None else ""
            self.problems.append(f"{name}: must be > 0{bound}, got {value!r}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", float: "a number", bool: "true/false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


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
    r = _Reader(base)
    known = {"device_id", "key_file", "spool", "batch", "mqtt", "source", "exit_when_done", "log",
             "clock"}  # fmt: skip
    r.problems += [f"{k}: unknown key" for k in doc if k not in known]
    device_id = r.req(doc, "device_id", str, "")
    if device_id is not None and not DEVICE_ID_RE.fullmatch(device_id):
        r.problems.append(f"device_id: {device_id!r} is not a device id ([A-Za-z0-9._-], 1-64)")
    key_file = r.path(doc, "key_file", "")
    spool = _table(r, doc, "spool")
    batch = _table(r, doc, "batch")
    mq = _table(r, doc, "mqtt")
    lg = _table(r, doc, "log")
    r.problems += [f"log.{k}: unknown key" for k in lg if k not in ("format", "level")]
    log_format = r.get(lg, "format", str, "log.") or "plain"
    if log_format not in LOG_FORMATS:
        r.problems.append(f"log.format: must be 'plain' or 'json', got {log_format!r}")
    log_level = (r.get(lg, "level", str, "log.") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        r.problems.append(f"log.level: must be one of {', '.join(LOG_LEVELS)}")
    for tname, table, keys in (("spool", spool, _SPOOL_KEYS), ("batch", batch, _BATCH_KEYS)):
        r.problems += [f"{tname}.{k}: unknown key" for k in table if k not in keys]
    r.problems += [f"mqtt.{k}: unknown key" for k in mq if k not in _MQTT_KEYS]
    window = r.get(batch, "window_s", (int, float), "batch.")
    r.positive(window, "batch.window_s", 3600)
    max_records = r.get(batch, "max_records", int, "batch.")
    r.positive(max_records, "batch.max_records", 65536)
    port = r.req(mq, "port", int, "mqtt.")
    if port is not None and not 0 < port < 65536:
        r.problems.append(f"mqtt.port: must be 1..65535, got {port}")
    inflight = r.get(mq, "inflight", int, "mqtt.")
    r.positive(inflight, "mqtt.inflight", 1000)
    mqtt = MqttConfig(
        host=r.req(mq, "host", str, "mqtt.") or "",
        port=port or 0,
        ca_file=r.path(mq, "ca_file", "mqtt."),
        cert_file=r.path(mq, "cert_file", "mqtt."),
        key_file=r.path(mq, "key_file", "mqtt."),
        collector_public_key=r.path(mq, "collector_public_key", "mqtt."),
        inflight=inflight or limits.DEFAULT_INFLIGHT,
        receipt_timeout_s=_num(r, mq, "receipt_timeout_s", limits.DEFAULT_RECEIPT_TIMEOUT_S),
        backoff_min_s=_num(r, mq, "backoff_min_s", limits.DEFAULT_BACKOFF_MIN_S),
        backoff_max_s=_num(r, mq, "backoff_max_s", limits.DEFAULT_BACKOFF_MAX_S),
    )
    sources = _sources(r, doc)
    clock = _clock(r, _table(r, doc, "clock"))
    spool_path = r.path(spool, "path", "spool.")
    head_path = (
        r.path(spool, "head_path", "spool.")
        if "head_path" in spool
        else spool_path.with_name(spool_path.name + ".head")
    )
    cfg = Config(
        device_id=device_id or "",
        key_file=key_file,
        spool_path=spool_path,
        mqtt=mqtt,
        sources=sources,
        window_s=float(window or limits.DEFAULT_WINDOW_S),
        max_records=max_records or limits.DEFAULT_MAX_RECORDS,
        spool_max_bytes=int(_num(r, spool, "max_bytes", limits.DEFAULT_SPOOL_MAX_BYTES)),
        retention_s=_num(r, spool, "retention_s", limits.DEFAULT_RETENTION_S),
        min_free_bytes=int(_num(r, spool, "min_free_bytes", limits.DEFAULT_MIN_FREE_BYTES)),
        exit_when_done=bool(r.get(doc, "exit_when_done", bool, "")),
        config_hash=config_hash,
        head_path=head_path,
        log_format=log_format,
        log_level=log_level,
        clock=clock,
    )
    if r.problems:
        raise BadData(Reason.MALFORMED, f"{name}: " + "; ".join(r.problems))
    return cfg


def _table(r: _Reader, doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        r.problems.append(f"{key}: must be a table [{key}]")
        return {}
    return value


def _num(r: _Reader, table: dict[str, Any], key: str, default: float) -> float:
    value = r.get(table, key, (int, float), "")
    r.positive(value, key)
    return float(value) if value is not None else default


def _clock(r: _Reader, t: dict[str, Any]) -> ClockConfig:
    r.problems += [f"clock.{k}: unknown key" for k in t if k not in ("chrony", "chronyc",
                                                                      "poll_s")]  # fmt: skip
    poll = r.get(t, "poll_s", (int, float), "clock.")
    r.positive(poll, "clock.poll_s", 60)
    sock = r.get(t, "chrony", str, "clock.")
    return ClockConfig(
        chrony=limits.DEFAULT_CHRONY if sock is None else sock,
        chronyc=r.get(t, "chronyc", str, "clock.") or "chronyc",
        poll_s=float(poll or limits.DEFAULT_CLOCK_POLL_S),
    )


def _sources(r: _Reader, doc: dict[str, Any]) -> tuple[SourceConfig, ...]:
    items = doc.get("source", [])
    if not isinstance(items, list) or not items:
        r.problems.append("source: at least one [[source]] is required")
        return ()
    out: list[SourceConfig] = []
    for i, s in enumerate(items):
        w = f"source[{i}]."
        kind = r.req(s, "type", str, w)
        if kind is not None and kind not in SOURCE_TYPES:
            r.problems.append(f"{w}type: {kind!r} is not one of {', '.join(SOURCE_TYPES)}")
        stream = r.req(s, "stream", str, w) or ""
        if stream and not _valid_stream(stream):
            r.problems.append(f"{w}stream: {stream!r} is not a stream name ([a-z0-9:._-])")
        speed = r.get(s, "speed", str, w) or "recorded"
        if speed not in ("recorded", "max"):
            r.problems.append(f"{w}speed: must be 'recorded' or 'max'")
        if kind == "replay":
            f = r.path(s, "file", w)
            if not f.is_file():
                r.problems.append(f"{w}file: {f} does not exist")
        if kind in ("nmea", "bridge"):
            r.req(s, "port", str, w)
        out.append(
            SourceConfig(
                type=kind or "",
                stream=stream,
                interface=r.get(s, "interface", str, w) or "virtual",
                channel=r.get(s, "channel", str, w) or "",
                bitrate=r.get(s, "bitrate", int, w),
                fd=bool(r.get(s, "fd", bool, w)),
                options=r.get(s, "options", dict, w) or {},
                file=str(r.path(s, "file", w)) if kind == "replay" else "",
                speed=speed,
                per_channel=r.get(s, "per_channel", bool, w) is not False,
                port=r.get(s, "port", str, w) or "",
                baudrate=r.get(s, "baudrate", int, w) or 9600,
            )
        )
    return tuple(out)


def _valid_stream(name: str) -> bool:
    """notary_core's own rule for stream names (the encoder refuses any other)."""
    try:
        CanEncoder(name, ClockSource.UNKNOWN)
    except (BadData, UnicodeEncodeError):
        return False
    return True
