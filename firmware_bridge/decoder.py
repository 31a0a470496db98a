"""Sans-IO stream decoder: bytes in, checked frames out, every loss counted (SPEC.md §2, §6).

`StreamDecoder.feed(data)` takes whatever a read returned (any split, any garbage) and
returns the frames completed by it, in order. A frame is returned only if its COBS, length,
CRC-32C and version are valid; anything else is dropped, counted and kept (bytes + reason)
until `take_rejected()`. The decoder never raises on any input bytes.

Two implementations with one behaviour: `_PyDecoder` below is the reference, and the C
extension `_fastdecode` (c/vnb_rx.c) does the same work ~12x faster and returns the same
objects (Frame, Header, the message dataclasses), built in C. `StreamDecoder` uses the C
one when it is built, unless VNOTARY_PURE_PYTHON=1 or `pure_python=True`; the tests hold
the two to identical frames, counters and rejects on random streams.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import IntEnum
from typing import Any, NamedTuple

from firmware_bridge import frame, limits, messages
from firmware_bridge.errors import BadFrame, BridgeReason
from firmware_bridge.messages import DECODERS, AnyMessage, Opaque

_fast: Any = None
if os.environ.get("VNOTARY_PURE_PYTHON", "") in ("", "0"):
    try:
        from firmware_bridge import _fastdecode as _fast
    except ImportError:  # no C compiler where it was installed: the reference does the work
        _fast = None

__all__ = ["ACCELERATED", "Counters", "Frame", "FrameStatus", "Rejected", "StreamDecoder"]

ACCELERATED: bool = _fast is not None
"""True when StreamDecoder runs the C decoder by default."""


class FrameStatus(IntEnum):
    """Same values as notary_core.records.BridgeStatus, so the edge agent stores it as is."""

    OK = 0
    UNAUTHENTICATED = 1  # signing expected (or claimed) but no valid tag
    REPLAYED = 2  # valid tag, signing timestamp not newer than the last accepted one


class Frame(NamedTuple):
    """One intact frame. `raw` is the decoded frame, CRC included: the evidence bytes."""

    raw: bytes
    header: frame.Header
    message: AnyMessage  # Opaque for an unknown type or a payload that did not parse
    status: FrameStatus
    sign_ts: int | None  # None when unsigned
    problem: BridgeReason | None  # BAD_PAYLOAD when a known type did not parse


class Rejected(NamedTuple):
    """A dropped segment (COBS bytes as received, at most limits.MAX_ENCODED) and why."""

    reason: BridgeReason
    data: bytes


@dataclass(slots=True)
class Counters:
    """Running totals since the decoder was made; they feed the signed completeness counters."""

    frames: int = 0  # intact frames returned (any status)
    crc_failures: int = 0
    cobs_errors: int = 0
    short_frames: int = 0
    oversize_frames: int = 0
    unsupported_version: int = 0
    bad_payloads: int = 0  # intact frames of a known type whose payload did not parse
    unknown_types: int = 0
    unauthenticated: int = 0
    replays: int = 0
    seq_gaps: int = 0  # frames missing between consecutive accepted sequence numbers
    seq_resets: int = 0  # sequence went backwards (board reboot, or old frames)
    resyncs: int = 0  # times the decoder dropped a segment and resumed at the next 0x00
    bytes_discarded: int = 0  # non-delimiter bytes that ended in no returned frame
    rejects_evicted: int = 0  # rejected segments not kept because the queue was full

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_COUNTER_OF = {
    BridgeReason.BAD_CRC: "crc_failures",
    BridgeReason.BAD_COBS: "cobs_errors",
    BridgeReason.TOO_SHORT: "short_frames",
    BridgeReason.TOO_LARGE: "oversize_frames",
    BridgeReason.UNSUPPORTED_VERSION: "unsupported_version",
}
_U32_MOD = 1 << 32
_HALF = 1 << 31


class StreamDecoder:
    """Decode a byte stream from one serial link.

    keys: board id (u32) -> 32-byte signing key. A board with a key must sign every frame;
    `require_signed` extends that to boards without a key (their frames then come out
    UNAUTHENTICATED). Frames are returned whatever their status: the caller stores them.
    `pure_python` runs the reference decoder even when the C one is built."""

    def __init__(
        self,
        keys: Mapping[int, bytes] | None = None,
        *,
        require_signed: bool = False,
        pure_python: bool = False,
    ) -> None:
        checked = _checked_keys(keys)
        self.counters = Counters()
        self._impl: _PyDecoder | Any
        if _fast is not None and not pure_python:
            self._impl = _fast.Decoder(checked, require_signed, self.counters)
        else:
            self._impl = _PyDecoder(checked, require_signed, self.counters)

    @property
    def accelerated(self) -> bool:
        """True when this decoder runs in C."""
        return not isinstance(self._impl, _PyDecoder)

    @property
    def pending(self) -> int:
        """Bytes buffered after the last delimiter (an incomplete frame)."""
        return int(self._impl.pending)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes from the link; return the frames they complete, in order."""
        got: list[Frame] = self._impl.feed(data)
        return got

    def drop_partial(self) -> None:
        """Forget a half-received frame: after an outage the next bytes do not continue it."""
        self._impl.drop_partial()

    def take_rejected(self) -> list[Rejected]:
        """The rejected segments kept since the last call (for quarantine), oldest first."""
        got: list[Rejected] = self._impl.take_rejected()
        return got


def _checked_keys(keys: Mapping[int, bytes] | None) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for board, key in (keys or {}).items():
        if not isinstance(board, int) or not 0 <= board < _U32_MOD:
            raise BadFrame(BridgeReason.BAD_KEY, f"board id {board!r} is not a u32")
        if len(key) != limits.KEY_SIZE:
            raise BadFrame(BridgeReason.BAD_KEY, f"key for board {board:#x} is not 32 bytes")
        out[int(board)] = bytes(key)
    return out


class _PyDecoder:
    """The reference decoder (SPEC §2-§6); the C one (c/vnb_rx.c) must match it exactly."""

    def __init__(self, keys: dict[int, bytes], require_signed: bool, counters: Counters) -> None:
        self._keys = keys
        self._require_signed = require_signed
        self._pending = b""
        self._skipping = False  # inside an oversize run: drop up to the next delimiter
        self._next_seq: dict[int, int] = {}
        self._last_ts: dict[int, int] = {}
        self._rejected: deque[Rejected] = deque()
        self.counters = counters

    @property
    def pending(self) -> int:
        """Bytes buffered after the last delimiter (an incomplete frame)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes from the link; return the frames they complete, in order."""
        parts = (self._pending + data).split(b"\x00") if self._pending else data.split(b"\x00")
        tail = parts.pop()
        out: list[Frame] = []
        for seg in parts:
            if self._skipping:
                self._skipping = False
                self.counters.bytes_discarded += len(seg)
                continue
            if seg:
                got = self._segment(seg)
                if got is not None:
                    out.append(got)
        if self._skipping:
            self.counters.bytes_discarded += len(tail)
            tail = b""
        elif len(tail) > limits.MAX_ENCODED:
            self._reject(BridgeReason.TOO_LARGE, tail)
            self._skipping = True
            tail = b""
        self._pending = tail
        return out

    def drop_partial(self) -> None:
        """Forget a half-received frame: after an outage the next bytes do not continue it."""
        if self._pending:
            self._reject(BridgeReason.TOO_SHORT, self._pending)
        self._pending = b""
        self._skipping = False

    def take_rejected(self) -> list[Rejected]:
        """The rejected segments kept since the last call (for quarantine), oldest first."""
        out = list(self._rejected)
        self._rejected.clear()
        return out

    def _reject(self, reason: BridgeReason, seg: bytes) -> None:
        c = self.counters
        name = _COUNTER_OF[reason]
        setattr(c, name, getattr(c, name) + 1)
        c.resyncs += 1
        c.bytes_discarded += len(seg)
        if len(self._rejected) >= limits.MAX_KEPT_REJECTS:
            self._rejected.popleft()
            c.rejects_evicted += 1
        self._rejected.append(Rejected(reason, seg[: limits.MAX_ENCODED]))

    def _segment(self, seg: bytes) -> Frame | None:
        if len(seg) > limits.MAX_ENCODED:
            self._reject(BridgeReason.TOO_LARGE, seg)
            return None
        try:
            raw = frame.unstuff(seg)
            header = frame.check(raw)
        except BadFrame as exc:
            self._reject(exc.reason, seg)
            return None
        payload, sign_ts, tag = frame.split(raw, header)
        status = self._authenticate(raw, header, sign_ts, tag)
        c = self.counters
        c.frames += 1
        problem: BridgeReason | None = None
        parse = DECODERS.get(header.type)  # type: ignore[call-overload]
        message: AnyMessage
        if parse is None:
            c.unknown_types += 1
            message = Opaque(header.type, payload)
        else:
            try:
                message = parse(payload)
            except BadFrame as exc:
                c.bad_payloads += 1
                problem = exc.reason
                message = Opaque(header.type, payload)
        if status is FrameStatus.OK:
            self._track_seq(header.board_id, header.seq)
        return Frame(raw, header, message, status, sign_ts, problem)

    def _authenticate(
        self, raw: bytes, header: frame.Header, sign_ts: int | None, tag: bytes | None
    ) -> FrameStatus:
        key = self._keys.get(header.board_id)
        if sign_ts is None or tag is None:
            if key is None and not self._require_signed:
                return FrameStatus.OK
            self.counters.unauthenticated += 1
            return FrameStatus.UNAUTHENTICATED
        end = len(raw) - limits.CRC_SIZE - limits.TAG_SIZE
        if key is None or not _tag_ok(key, raw[:end], tag):
            self.counters.unauthenticated += 1
            return FrameStatus.UNAUTHENTICATED
        last = self._last_ts.get(header.board_id)
        if last is not None and sign_ts <= last:
            self.counters.replays += 1
            return FrameStatus.REPLAYED
        if last is not None or len(self._last_ts) < limits.MAX_TRACKED_BOARDS:
            self._last_ts[header.board_id] = sign_ts
        return FrameStatus.OK

    def _track_seq(self, board: int, seq: int) -> None:
        expected = self._next_seq.get(board)
        if expected is None:
            if len(self._next_seq) >= limits.MAX_TRACKED_BOARDS:
                return
        else:
            missing = (seq - expected) % _U32_MOD
            if missing >= _HALF:
                self.counters.seq_resets += 1
            else:
                self.counters.seq_gaps += missing
        self._next_seq[board] = (seq + 1) % _U32_MOD


# The classes the C decoder builds, in the order bind() takes them; it checks that each has
# exactly the fields it fills (and, for a message, no __post_init__) and builds them directly.
_BIND_ARGS = (
    Frame,
    frame.Header,
    Rejected,
    (FrameStatus.OK, FrameStatus.UNAUTHENTICATED, FrameStatus.REPLAYED),
    (
        None,
        BridgeReason.BAD_COBS,
        BridgeReason.TOO_SHORT,
        BridgeReason.TOO_LARGE,
        BridgeReason.BAD_CRC,
        BridgeReason.UNSUPPORTED_VERSION,
        BridgeReason.BAD_PAYLOAD,
    ),
    (
        Opaque,
        messages.Hello,
        messages.Heartbeat,
        messages.ImuSample,
        messages.GnssSentence,
        messages.SensorReading,
        messages.TimeSync,
        messages.LogEvent,
    ),
    messages.TimeSource,
    tuple(f.name for f in fields(Counters)),
)
if _fast is not None:
    _fast.bind(*_BIND_ARGS)


def _tag_ok(key: bytes, signed: bytes, tag: bytes) -> bool:
    import hmac  # noqa: PLC0415  (keeps the unsigned fast path free of the import lookup)

    return hmac.compare_digest(frame.signature_tag(key, signed), tag)
