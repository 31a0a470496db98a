"""Records and their canonical bytes (docs/protocol.md §Records, format version 1).

A record is one observation exactly as captured. Its canonical encoding is a fixed binary
layout, big-endian, with every length derived from the content, so there is one and only
one encoding of each record: `decode` rejects anything `encode` would not have produced.

    u8  version (1)        u8  kind            u8  clock source
    u64 seq                u64 mono_ns         i64 utc_ns
    u8  stream length      stream (ASCII)      body (by kind, to the end)
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from notary_core import limits
from notary_core.errors import BadData, Reason, too_large

RECORD_VERSION = 1

_PREFIX = struct.Struct(">BBBQQqB")
_CAN = struct.Struct(">IBB")
_IMU = struct.Struct(">6d")
_EVENT = struct.Struct(">Bqq")
_STREAM_RE = re.compile(rb"[a-z0-9][a-z0-9:._-]{0,31}")
_U64 = 1 << 64
_I64 = 1 << 63


class Kind(IntEnum):
    CAN = 1
    NMEA = 2
    IMU = 3
    BRIDGE = 4
    EVENT = 5


class ClockSource(IntEnum):
    """Where the UTC time of a record came from (its trustworthiness differs)."""

    UNKNOWN = 0
    RTC = 1  # free-running system clock, never synchronised this boot
    NTP = 2
    GNSS = 3
    PTP = 4
    REPLAY = 5  # timestamps taken from a recorded log


class CanFlags(IntFlag):
    EXT = 0x01  # 29-bit identifier
    RTR = 0x02  # remote transmission request (classic only)
    ERR = 0x04  # error frame reported by the controller
    FD = 0x08  # CAN FD frame
    BRS = 0x10  # FD bit-rate switch
    ESI = 0x20  # FD error state indicator


_CAN_FLAG_MASK = 0x3F
# Plain ints and prebuilt members: IntFlag arithmetic and Enum(value) calls cost about a
# microsecond each, which dominated decoding on the verifier's hot path.
_EXT, _RTR, _ERR, _FD = int(CanFlags.EXT), int(CanFlags.RTR), int(CanFlags.ERR), int(CanFlags.FD)
_BRS_ESI = int(CanFlags.BRS | CanFlags.ESI)
_FLAGS = tuple(CanFlags(i) for i in range(_CAN_FLAG_MASK + 1))
_CLOCKS = {int(c): c for c in ClockSource}
_STREAM_NAMES: dict[bytes, str] = {}  # stream names already found valid (bounded below)

# ISO 11898-1: the 4-bit DLC code of an FD frame maps to these data lengths.
FD_DLC_TO_LEN = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)
FD_LEN_TO_DLC = {n: i for i, n in enumerate(FD_DLC_TO_LEN)}


class NmeaStatus(IntEnum):
    """What the capturing agent found when it checked the sentence's checksum."""

    NO_CHECKSUM = 0
    CHECKSUM_OK = 1
    CHECKSUM_BAD = 2  # kept and flagged, never silently accepted
    MALFORMED = 3  # not a sentence at all ($/! start missing, bad characters)


class BridgeStatus(IntEnum):
    """What the firmware-bridge decoder found about a frame (firmware_bridge/SPEC.md)."""

    OK = 0
    UNAUTHENTICATED = 1  # the board signs, but this frame carried no valid signature
    REPLAYED = 2  # signature valid, timestamp not newer than the last accepted one


class EventType(IntEnum):
    """Agent events; `a`, `b` are documented per type in docs/protocol.md §Events."""

    AGENT_START = 1  # detail: agent version
    CLOCK_STEP = 2  # a: step in ns (signed), b: new UTC ns
    SEQ_GAP = 3  # a: missing count, b: first missing sequence number
    DROPPED = 4  # a: records dropped, b: cause code
    BUS_ERROR = 5  # a: error count, b: bus state
    BUS_OFF = 6
    RX_OVERFLOW = 7  # a: frames the kernel dropped
    SERIAL_OUTAGE = 8  # a: outage duration ns
    SPOOL_DISCARD = 9  # a: batches discarded, b: first discarded batch_seq
    SOURCE_STATE = 10  # detail: what changed (opened, closed, reconnected)
    SPOOL_LOST = 11  # a: batches lost, b: first lost batch_seq; detail: damage, where it went
    UNSEALED = 12  # a: records read but never sealed, b: first such sequence number
    RECEIPT_REJECTED = 13  # a: batch_seq the collector rejected; detail: its header hash
    GNSS_TIME = 14  # a: system clock minus receiver time (ns), b: receiver time; detail: why


@dataclass(frozen=True, slots=True)
class CanFrame:
    can_id: int
    flags: CanFlags
    dlc: int  # the 4-bit code as on the wire
    data: bytes


@dataclass(frozen=True, slots=True)
class NmeaSentence:
    status: NmeaStatus
    raw: bytes


@dataclass(frozen=True, slots=True)
class ImuSample:
    accel: tuple[float, float, float]  # m/s^2, sensor frame
    gyro: tuple[float, float, float]  # rad/s


@dataclass(frozen=True, slots=True)
class BridgeFrame:
    status: BridgeStatus
    frame: bytes  # the decoded (un-COBSed) frame, CRC included


@dataclass(frozen=True, slots=True)
class AgentEvent:
    event: EventType
    a: int = 0
    b: int = 0
    detail: str = ""


Body = CanFrame | NmeaSentence | ImuSample | BridgeFrame | AgentEvent

_KIND_OF: dict[type, Kind] = {
    CanFrame: Kind.CAN,
    NmeaSentence: Kind.NMEA,
    ImuSample: Kind.IMU,
    BridgeFrame: Kind.BRIDGE,
    AgentEvent: Kind.EVENT,
}


@dataclass(frozen=True, slots=True)
class Record:
    stream: str
    seq: int
    mono_ns: int
    utc_ns: int
    clock: ClockSource
    body: Body

    @property
    def kind(self) -> Kind:
        return _KIND_OF[type(self.body)]


def can_data_length(flags: int, dlc: int) -> int:
    """Bytes of data a CAN frame with these flags and DLC code carries."""
    if flags & _FD:
        return FD_DLC_TO_LEN[dlc]
    if flags & _RTR:
        return 0
    return min(dlc, 8)


def _check_can(can_id: int, flags: int, dlc: int, data_len: int) -> None:
    if flags & ~_CAN_FLAG_MASK:
        raise BadData(Reason.NON_CANONICAL, f"unknown CAN flag bits {flags:#x}")
    fd = flags & _FD
    if not fd and flags & _BRS_ESI:
        raise BadData(Reason.NON_CANONICAL, "BRS/ESI set on a classic frame")
    if fd and flags & _RTR:
        raise BadData(Reason.NON_CANONICAL, "CAN FD has no remote frames")
    id_limit = 1 << 29 if flags & (_EXT | _ERR) else 1 << 11
    if not 0 <= can_id < id_limit:
        raise BadData(Reason.NON_CANONICAL, f"CAN id {can_id:#x} out of range for its flags")
    if not 0 <= dlc <= 15 or (not fd and dlc > 8):
        raise BadData(Reason.NON_CANONICAL, f"DLC {dlc} invalid for this frame type")
    if data_len != can_data_length(flags, dlc):
        raise BadData(Reason.NON_CANONICAL, f"{data_len} data bytes disagree with DLC {dlc}")


def stream_name(raw: bytes) -> str:
    """A stream name as it appears in record bytes, validated (NON_CANONICAL otherwise)."""
    name = _STREAM_NAMES.get(raw)
    if name is None:
        if _STREAM_RE.fullmatch(raw) is None:
            raise BadData(Reason.NON_CANONICAL, f"bad stream name {raw!r}")
        name = raw.decode("ascii")
        if len(_STREAM_NAMES) < 4096:  # a hostile input cannot grow the memo without bound
            _STREAM_NAMES[raw] = name
    return name


def _check_envelope(stream: bytes, seq: int, mono_ns: int, utc_ns: int, clock: int) -> None:
    stream_name(stream)
    if not (0 <= seq < _U64 and 0 <= mono_ns < _U64 and -_I64 <= utc_ns < _I64):
        raise BadData(Reason.MALFORMED, "seq, mono_ns or utc_ns out of range")
    if clock not in _CLOCKS:
        raise BadData(Reason.NON_CANONICAL, f"unknown clock source {clock}")


class CanEncoder:
    """Hot-path encoder for one CAN stream: one struct.pack per frame, cheap checks first."""

    __slots__ = ("_fixed", "_pack")

    def __init__(self, stream: str, clock: ClockSource) -> None:
        raw = stream.encode("ascii")
        _check_envelope(raw, 0, 0, 0, clock)
        # The whole fixed part, stream name included, in one precompiled layout.
        self._pack = struct.Struct(f">BBBQQqB{len(raw)}sIBB").pack
        self._fixed = (RECORD_VERSION, int(Kind.CAN), int(clock), len(raw), raw)

    def encode(
        self, seq: int, mono_ns: int, utc_ns: int, can_id: int, flags: int, dlc: int, data: bytes
    ) -> bytes:
        # Fast path: a classic 11-bit data frame, the bulk of real traffic; anything else
        # takes the full check. struct.pack range-checks every integer field.
        if flags or can_id >= 0x800 or dlc > 8 or len(data) != dlc:
            _check_can(can_id, flags, dlc, len(data))
        v, k, c, slen, stream = self._fixed
        try:
            head = self._pack(v, k, c, seq, mono_ns, utc_ns, slen, stream, can_id, flags, dlc)
        except struct.error as exc:
            raise BadData(Reason.MALFORMED, f"CAN record field out of range: {exc}") from None
        return head + data


def encode(record: Record) -> bytes:
    """The canonical bytes of a record. Raises BadData if the record cannot be encoded."""
    stream = record.stream.encode("ascii", "replace")
    _check_envelope(stream, record.seq, record.mono_ns, record.utc_ns, record.clock)
    head = _PREFIX.pack(
        RECORD_VERSION,
        record.kind,
        record.clock,
        record.seq,
        record.mono_ns,
        record.utc_ns,
        len(stream),
    )
    body = _encode_body(record.body)
    out = head + stream + body
    if len(out) > limits.MAX_RECORD_SIZE:
        raise too_large("record", len(out), limits.MAX_RECORD_SIZE)
    return out


def _encode_body(body: Body) -> bytes:
    if isinstance(body, CanFrame):
        _check_can(body.can_id, body.flags, body.dlc, len(body.data))
        return _CAN.pack(body.can_id, body.flags, body.dlc) + body.data
    if isinstance(body, NmeaSentence):
        _check_raw(body.raw, limits.MAX_NMEA_SENTENCE, "NMEA sentence")
        return bytes([NmeaStatus(body.status)]) + body.raw
    if isinstance(body, ImuSample):
        values = (*body.accel, *body.gyro)
        if len(values) != 6 or not all(math.isfinite(v) for v in values):
            raise BadData(Reason.MALFORMED, "IMU sample needs 6 finite values")
        return _IMU.pack(*values)
    if isinstance(body, BridgeFrame):
        _check_raw(body.frame, limits.MAX_BRIDGE_FRAME, "bridge frame")
        return bytes([BridgeStatus(body.status)]) + body.frame
    detail = body.detail.encode("utf-8")
    if len(detail) > limits.MAX_EVENT_DETAIL:
        raise too_large("event detail", len(detail), limits.MAX_EVENT_DETAIL)
    if not (-_I64 <= body.a < _I64 and -_I64 <= body.b < _I64):
        raise BadData(Reason.MALFORMED, "event value out of i64 range")
    return _EVENT.pack(EventType(body.event), body.a, body.b) + detail


def _check_raw(raw: bytes, limit: int, what: str) -> None:
    if not raw:
        raise BadData(Reason.MALFORMED, f"empty {what}")
    if len(raw) > limit:
        raise too_large(what, len(raw), limit)


def decode(data: bytes) -> Record:
    """Parse canonical record bytes. Rejects anything that is not canonical version 1."""
    if len(data) > limits.MAX_RECORD_SIZE:
        raise too_large("record", len(data), limits.MAX_RECORD_SIZE)
    if len(data) < _PREFIX.size + 1:
        raise BadData(Reason.MALFORMED, f"record of {len(data)} bytes is truncated")
    version, kind, clock, seq, mono_ns, utc_ns, slen = _PREFIX.unpack_from(data)
    if version != RECORD_VERSION:
        raise BadData(Reason.UNSUPPORTED_VERSION, f"record version {version}")
    pos = _PREFIX.size + slen
    stream = bytes(data[_PREFIX.size : pos])
    if len(stream) != slen:
        raise BadData(Reason.MALFORMED, "record truncated in its stream name")
    _check_envelope(stream, seq, mono_ns, utc_ns, clock)
    body = _decode_body(kind, memoryview(data)[pos:])
    return Record(stream.decode("ascii"), seq, mono_ns, utc_ns, _CLOCKS[clock], body)


def scan(data: bytes) -> tuple[str, int, int, int]:
    """(stream, seq, CAN id or -1, CAN flags) of a record, validated exactly as `decode`
    validates it but without building objects: the verifier's hot path over CAN frames.
    Other kinds take the full `decode`."""
    n = len(data)
    layout = _SCAN_LAYOUTS[data[_PREFIX.size - 1]] if n >= _PREFIX.size else None
    if (
        layout is None
        or n < layout.size
        or n > limits.MAX_RECORD_SIZE
        or data[0] != RECORD_VERSION
        or data[1] != Kind.CAN
    ):
        # Anything unusual takes the full decode, so errors come in decode's order too.
        r = decode(data)
        if isinstance(r.body, CanFrame):
            return r.stream, r.seq, r.body.can_id, int(r.body.flags)
        return r.stream, r.seq, -1, 0
    _, _, clock, seq, mono_ns, utc_ns, _, stream, can_id, flags, dlc = layout.unpack_from(data)
    name = _STREAM_NAMES.get(stream)
    if name is None or clock not in _CLOCKS:  # seq and times are in range by their layout
        _check_envelope(stream, seq, mono_ns, utc_ns, clock)
        name = stream.decode("ascii")
    data_len = n - layout.size
    if flags or can_id >= 0x800 or dlc > 8 or data_len != dlc:  # the common frame is cheap
        _check_can(can_id, flags, dlc, data_len)
    return name, seq, can_id, flags


_SCAN_LAYOUTS = tuple(struct.Struct(f">BBBQQqB{i}sIBB") for i in range(256))


def _decode_body(kind: int, rest: memoryview) -> Body:
    if kind == Kind.CAN:
        if len(rest) < _CAN.size:
            raise BadData(Reason.MALFORMED, "CAN record truncated")
        can_id, flags, dlc = _CAN.unpack_from(rest)
        payload = bytes(rest[_CAN.size :])
        _check_can(can_id, flags, dlc, len(payload))
        return CanFrame(can_id, _FLAGS[flags], dlc, payload)
    if kind in (Kind.NMEA, Kind.BRIDGE):
        if len(rest) < 2:
            raise BadData(Reason.MALFORMED, "record body truncated")
        status, raw = rest[0], bytes(rest[1:])
        if kind == Kind.NMEA:
            if status not in NmeaStatus._value2member_map_:
                raise BadData(Reason.NON_CANONICAL, f"unknown NMEA status {status}")
            _check_raw(raw, limits.MAX_NMEA_SENTENCE, "NMEA sentence")
            return NmeaSentence(NmeaStatus(status), raw)
        if status not in BridgeStatus._value2member_map_:
            raise BadData(Reason.NON_CANONICAL, f"unknown bridge status {status}")
        _check_raw(raw, limits.MAX_BRIDGE_FRAME, "bridge frame")
        return BridgeFrame(BridgeStatus(status), raw)
    if kind == Kind.IMU:
        if len(rest) != _IMU.size:
            raise BadData(Reason.MALFORMED, f"IMU body is {len(rest)} bytes, not {_IMU.size}")
        v = _IMU.unpack(rest)
        if not all(math.isfinite(x) for x in v):
            raise BadData(Reason.NON_CANONICAL, "IMU value is not finite")
        return ImuSample((v[0], v[1], v[2]), (v[3], v[4], v[5]))
    if kind == Kind.EVENT:
        if len(rest) < _EVENT.size:
            raise BadData(Reason.MALFORMED, "event record truncated")
        event, a, b = _EVENT.unpack_from(rest)
        if event not in EventType._value2member_map_:
            raise BadData(Reason.UNKNOWN_KIND, f"unknown event type {event}")
        detail = bytes(rest[_EVENT.size :])
        if len(detail) > limits.MAX_EVENT_DETAIL:
            raise too_large("event detail", len(detail), limits.MAX_EVENT_DETAIL)
        try:
            text = detail.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadData(Reason.NON_CANONICAL, "event detail is not UTF-8") from exc
        return AgentEvent(EventType(event), a, b, text)
    raise BadData(Reason.UNKNOWN_KIND, f"unknown record kind {kind}")
