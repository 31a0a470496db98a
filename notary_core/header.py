"""The batch header: the device's signed statement about one batch (docs/protocol.md §Header).

Encoded as a deterministic CBOR map with small integer keys, signed as COSE_Sign1. Keys 1-63
are defined by the header version; keys >= 64 are extensions, kept as they came so that a
newer agent's signature still verifies on an older collector. An unknown key below 64 is
an error: it would mean a meaning we cannot check.

Version 2 (§4.3) adds the per-item record counts of the batch (key 18: what makes a
disclosure provably complete per granted CAN id) and the chain beacon (key 19: the batch
is not older than that block).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from notary_core import cbor, cose, limits
from notary_core.errors import BadData, Reason, too_large
from notary_core.records import ClockSource

HEADER_VERSION = 2
HEADER_VERSIONS = (1, 2)
HEADER_CONTENT_TYPE = "application/vnd.vnotary.batch-header+cbor; v=1"
GENESIS_PREV_HASH = bytes(32)
FIRST_EXTENSION_KEY = 64

_U64 = 1 << 64
_I64 = 1 << 63


@dataclass(frozen=True, slots=True)
class StreamCounters:
    """Per-stream completeness counters, cumulative since the agent's first batch."""

    seen: int = 0
    stored: int = 0
    dropped: int = 0
    bus_errors: int = 0
    crc_failures: int = 0
    gaps: int = 0

    def as_list(self) -> list[int]:
        return [self.seen, self.stored, self.dropped, self.bus_errors, self.crc_failures, self.gaps]


NON_CAN_ITEM = -1
"""The item key of every record that is not a CAN frame (§4.3)."""
_EFF, _ERR_FLAG = 0x8000_0000, 0x2000_0000


def item_key(can_id: int, flags: int) -> int:
    """§4.3 item key from `records.scan`'s (CAN id or -1, flags): SocketCAN can_id style."""
    if can_id < 0:
        return NON_CAN_ITEM
    return can_id | (_EFF if flags & 0x01 else 0) | (_ERR_FLAG if flags & 0x04 else 0)


@dataclass(frozen=True, slots=True)
class Beacon:
    """A chain block the device learned from a receipt: the batch is not older (§4.3)."""

    chain_id: int
    block_number: int
    block_hash: bytes
    block_time: int  # seconds, as the collector reported it: a claim until checked on chain

    def to_cbor(self) -> list[Any]:
        return [self.chain_id, self.block_number, self.block_hash, self.block_time]

    @classmethod
    def parse(cls, v: Any) -> Beacon:
        if not (isinstance(v, list) and len(v) == 4):
            raise BadData(Reason.MALFORMED, "a beacon is [chain id, number, hash, time]")
        b = cls(*v)
        if not (_is_uint(b.chain_id) and _is_uint(b.block_number) and _is_uint(b.block_time)
                and _is_bytes(b.block_hash, limits.HASH_SIZE)):  # fmt: skip
            raise BadData(Reason.MALFORMED, "beacon fields have the wrong types")
        return b


Counts = dict[str, dict[int, int]]


@dataclass(frozen=True, slots=True)
class BatchHeader:
    device_id: str
    boot_id: bytes
    batch_seq: int
    prev_header_hash: bytes
    record_count: int
    merkle_root: bytes
    first_mono_ns: int
    last_mono_ns: int
    first_utc_ns: int
    last_utc_ns: int
    clock_source: ClockSource
    clock_uncertainty_ns: int
    streams: dict[str, StreamCounters]
    agent_version: str
    config_hash: bytes
    key_id: bytes
    version: int = HEADER_VERSION
    extensions: dict[int, Any] = field(default_factory=dict)
    counts: Counts | None = None  # v2: stream -> item key -> records in this batch
    beacon: Beacon | None = None  # v2

    def to_cbor(self) -> bytes:
        body: dict[int, Any] = {
            1: self.version,
            2: self.device_id,
            3: self.boot_id,
            4: self.batch_seq,
            5: self.prev_header_hash,
            6: self.record_count,
            7: self.merkle_root,
            8: self.first_mono_ns,
            9: self.last_mono_ns,
            10: self.first_utc_ns,
            11: self.last_utc_ns,
            12: int(self.clock_source),
            13: self.clock_uncertainty_ns,
            14: {name: c.as_list() for name, c in self.streams.items()},
            15: self.agent_version,
            16: self.config_hash,
            17: self.key_id,
        }
        if self.version >= 2:
            body[18] = self.counts
            body[19] = None if self.beacon is None else self.beacon.to_cbor()
        for key, value in self.extensions.items():
            body[key] = value
        data = cbor.dumps(body)
        _validate(self)
        return data

    @classmethod
    def from_cbor(cls, data: bytes) -> BatchHeader:
        value = cbor.loads(data, limits.MAX_HEADER_SIZE, "batch header")
        if not isinstance(value, dict):
            raise BadData(Reason.MALFORMED, "batch header is not a map")
        version = value.get(1)
        if type(version) is not int or version not in HEADER_VERSIONS:
            raise BadData(Reason.UNSUPPORTED_VERSION, f"batch header version {version!r}")
        last = 17 if version == 1 else 19
        unknown = [k for k in value if type(k) is not int or (last < k < FIRST_EXTENSION_KEY)]
        missing = [k for k in range(1, last + 1) if k not in value]
        if unknown or missing:
            raise BadData(Reason.MALFORMED, f"header keys: unknown {unknown}, missing {missing}")
        streams = value[14]
        if not isinstance(streams, dict) or len(streams) > limits.MAX_STREAMS_PER_BATCH:
            raise BadData(Reason.MALFORMED, "header stream counters are not a bounded map")
        counters: dict[str, StreamCounters] = {}
        for name, c in streams.items():
            if not (isinstance(name, str) and isinstance(c, list) and len(c) == 6):
                raise BadData(Reason.MALFORMED, f"bad counters for stream {name!r}")
            counters[name] = StreamCounters(*c)
        clock = value[12]
        if type(clock) is not int or clock not in ClockSource._value2member_map_:
            raise BadData(Reason.MALFORMED, f"unknown clock source {clock!r}")
        header = cls(
            device_id=value[2],
            boot_id=value[3],
            batch_seq=value[4],
            prev_header_hash=value[5],
            record_count=value[6],
            merkle_root=value[7],
            first_mono_ns=value[8],
            last_mono_ns=value[9],
            first_utc_ns=value[10],
            last_utc_ns=value[11],
            clock_source=ClockSource(clock),
            clock_uncertainty_ns=value[13],
            streams=counters,
            agent_version=value[15],
            config_hash=value[16],
            key_id=value[17],
            version=version,
            extensions={k: v for k, v in value.items() if k >= FIRST_EXTENSION_KEY},
            counts=_counts(value[18]) if version >= 2 else None,
            beacon=None if version < 2 or value[19] is None else Beacon.parse(value[19]),
        )
        _validate(header)
        return header

    def hash(self) -> bytes:
        """The header hash: SHA-256 of its deterministic CBOR (what prev_header_hash names)."""
        return hashlib.sha256(self.to_cbor()).digest()


def _counts(v: Any) -> Counts:
    if not isinstance(v, dict) or len(v) > limits.MAX_STREAMS_PER_BATCH:
        raise BadData(Reason.MALFORMED, "header counts are not a bounded map")
    out: Counts = {}
    for stream, items in v.items():
        if not (isinstance(stream, str) and isinstance(items, dict) and items):
            raise BadData(Reason.MALFORMED, f"bad counts for stream {stream!r}")
        if len(items) > limits.MAX_RECORDS_PER_BATCH:
            raise BadData(Reason.MALFORMED, "too many items in the header counts")
        for key, n in items.items():
            if not (type(key) is int and -1 <= key < 1 << 32 and _is_uint(n) and n >= 1):
                raise BadData(Reason.MALFORMED, f"bad count {key!r}: {n!r} in {stream!r}")
        out[stream] = dict(items)
    return out


def _is_uint(v: Any, bound: int = _U64) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < bound


def _is_bytes(v: Any, size: int) -> bool:
    return isinstance(v, bytes) and len(v) == size


DEVICE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A device id is also an MQTT topic level and a certificate CN: no '/', '+', '#'."""


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v.encode("utf-8")) <= limits.MAX_TEXT_FIELD


def _validate(h: BatchHeader) -> None:
    problems = []
    if not (isinstance(h.device_id, str) and DEVICE_ID_RE.fullmatch(h.device_id)):
        problems.append("device_id")
    if not _is_bytes(h.boot_id, 16):
        problems.append("boot_id")
    if not _is_uint(h.batch_seq):
        problems.append("batch_seq")
    if not _is_bytes(h.prev_header_hash, limits.HASH_SIZE):
        problems.append("prev_header_hash")
    if not _is_uint(h.record_count, limits.MAX_RECORDS_PER_BATCH + 1):
        problems.append("record_count")
    if not _is_bytes(h.merkle_root, limits.HASH_SIZE):
        problems.append("merkle_root")
    for name in ("first_mono_ns", "last_mono_ns", "clock_uncertainty_ns"):
        if not _is_uint(getattr(h, name)):
            problems.append(name)
    for name in ("first_utc_ns", "last_utc_ns"):
        v = getattr(h, name)
        if not (type(v) is int and -_I64 <= v < _I64):
            problems.append(name)
    if not _is_text(h.agent_version):
        problems.append("agent_version")
    if not _is_bytes(h.config_hash, limits.HASH_SIZE):
        problems.append("config_hash")
    if not (isinstance(h.key_id, bytes) and 0 < len(h.key_id) <= 32):
        problems.append("key_id")
    for c in h.streams.values():
        if not all(_is_uint(x) for x in c.as_list()):
            problems.append("stream counters")
            break
    if h.version not in HEADER_VERSIONS:
        problems.append("version")
    elif h.version >= 2:
        if h.counts is None or sum(sum(c.values()) for c in h.counts.values()) != h.record_count:
            problems.append("counts")
    elif h.counts is not None or h.beacon is not None:
        problems.append("counts or beacon in a version-1 header")
    if problems:
        raise BadData(Reason.MALFORMED, f"invalid header fields: {', '.join(problems)}")
    if h.last_mono_ns < h.first_mono_ns:
        raise BadData(Reason.MALFORMED, "last_mono_ns before first_mono_ns")
    if h.batch_seq == 0 and h.prev_header_hash != GENESIS_PREV_HASH:
        raise BadData(Reason.CHAIN_BROKEN, "batch 0 must name the genesis hash (32 zero bytes)")


@dataclass(frozen=True)
class SignedHeader:
    """A batch header with its COSE_Sign1 envelope; `header` is parsed but not yet trusted."""

    raw: bytes
    header: BatchHeader
    payload: bytes
    message: cose.Sign1

    @classmethod
    def sign(cls, header: BatchHeader, signer: cose.Signer) -> SignedHeader:
        if header.key_id != signer.kid:
            raise BadData(Reason.KEY_MISMATCH, "header key_id is not the signer's key id")
        payload = header.to_cbor()
        data = cose.sign1(signer, payload, HEADER_CONTENT_TYPE)
        return cls.parse(data)

    @classmethod
    def parse(cls, data: bytes) -> SignedHeader:
        if len(data) > limits.MAX_HEADER_SIZE:
            raise too_large("signed header", len(data), limits.MAX_HEADER_SIZE)
        message = cose.parse_sign1(data, limits.MAX_HEADER_SIZE)
        if message.content_type != HEADER_CONTENT_TYPE:
            raise BadData(Reason.MALFORMED, f"content type {message.content_type!r}")
        header = BatchHeader.from_cbor(message.payload)
        if message.kid != header.key_id:
            raise BadData(Reason.KEY_MISMATCH, "COSE kid differs from the header key_id")
        return cls(data, header, message.payload, message)

    def verify(self, key: cose.PublicKey) -> BatchHeader:
        """Check the signature against the device key; return the now-trusted header."""
        self.message.verify(key)
        return self.header

    @property
    def header_hash(self) -> bytes:
        return hashlib.sha256(self.payload).digest()
