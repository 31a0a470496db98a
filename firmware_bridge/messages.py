"""Message payloads of protocol version 1 (SPEC.md §4): layouts, encoders, strict decoders.

Every payload is little-endian with a fixed layout, or a fixed prefix plus a bounded
tail. A decoder rejects any other length with BadFrame(BAD_PAYLOAD); a type this version
does not know decodes to `Opaque`, kept byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from firmware_bridge import limits
from firmware_bridge.errors import BadFrame, BridgeReason


class MsgType(IntEnum):
    HELLO = 0x01
    HEARTBEAT = 0x02
    IMU = 0x03
    GNSS = 0x04
    SENSOR = 0x05
    TIME_SYNC = 0x06
    LOG = 0x07


class TimeSource(IntEnum):
    HOST = 1  # a time the gateway sent, echoed with the MCU tick at which it arrived
    GNSS_PPS = 2  # the MCU tick latched at a GNSS pulse-per-second edge
    GNSS_FIX = 3  # the UTC of a GNSS fix and the MCU tick at which the fix arrived (coarser)


_HELLO = struct.Struct("<BBH32sI")
_HEARTBEAT = struct.Struct("<II")
_IMU = struct.Struct("<6iII")
_SENSOR = struct.Struct("<Hbq")
_TIME_SYNC = struct.Struct("<BQq")
_LOG = struct.Struct("<BH")


def _bad(kind: str, payload: bytes) -> BadFrame:
    return BadFrame(
        BridgeReason.BAD_PAYLOAD, f"{kind} payload of {len(payload)} bytes", payload=payload
    )


def _pack(layout: struct.Struct, kind: str, *values: object) -> bytes:
    try:
        return layout.pack(*values)
    except struct.error as exc:
        raise BadFrame(BridgeReason.BAD_VALUE, f"{kind}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Hello:
    """Sent at boot and every minute: who the board is and what it runs (SPEC §4.1)."""

    TYPE: ClassVar[MsgType] = MsgType.HELLO
    fw_version: tuple[int, int, int]
    fw_image_sha256: bytes
    capabilities: int

    def encode(self) -> bytes:
        major, minor, patch = self.fw_version
        if len(self.fw_image_sha256) != 32:
            raise BadFrame(BridgeReason.BAD_VALUE, "firmware image hash must be 32 bytes")
        return _pack(_HELLO, "hello", major, minor, patch, self.fw_image_sha256, self.capabilities)

    @classmethod
    def decode(cls, payload: bytes) -> Hello:
        if len(payload) != _HELLO.size:
            raise _bad("hello", payload)
        major, minor, patch, image, caps = _HELLO.unpack(payload)
        return cls((major, minor, patch), image, caps)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Once a second: fault bits and how many frames the board could not send (SPEC §4.2)."""

    TYPE: ClassVar[MsgType] = MsgType.HEARTBEAT
    status: int
    tx_dropped: int

    def encode(self) -> bytes:
        return _pack(_HEARTBEAT, "heartbeat", self.status, self.tx_dropped)

    @classmethod
    def decode(cls, payload: bytes) -> Heartbeat:
        if len(payload) != _HEARTBEAT.size:
            raise _bad("heartbeat", payload)
        return cls(*_HEARTBEAT.unpack(payload))


@dataclass(frozen=True, slots=True)
class ImuSample:
    """Raw 3-axis accel and gyro counts with their scales in 1e-9 SI units per LSB (§4.3)."""

    TYPE: ClassVar[MsgType] = MsgType.IMU
    accel: tuple[int, int, int]
    gyro: tuple[int, int, int]
    accel_scale_nano: int  # (m/s^2) * 1e-9 per LSB
    gyro_scale_nano: int  # (rad/s) * 1e-9 per LSB

    @property
    def accel_si(self) -> tuple[float, float, float]:
        s = self.accel_scale_nano * 1e-9
        return (self.accel[0] * s, self.accel[1] * s, self.accel[2] * s)

    @property
    def gyro_si(self) -> tuple[float, float, float]:
        s = self.gyro_scale_nano * 1e-9
        return (self.gyro[0] * s, self.gyro[1] * s, self.gyro[2] * s)

    def encode(self) -> bytes:
        return _pack(
            _IMU, "imu", *self.accel, *self.gyro, self.accel_scale_nano, self.gyro_scale_nano
        )

    @classmethod
    def decode(cls, payload: bytes) -> ImuSample:
        if len(payload) != _IMU.size:
            raise _bad("imu", payload)
        ax, ay, az, gx, gy, gz, sa, sg = _IMU.unpack(payload)
        return cls((ax, ay, az), (gx, gy, gz), sa, sg)


@dataclass(frozen=True, slots=True)
class GnssSentence:
    """A GNSS receiver's NMEA sentence, the exact bytes it sent, CR LF included (§4.4).

    The board does not check or alter it: the gateway checks the NMEA checksum
    (firmware_bridge.nmea) and keeps a bad one flagged."""

    TYPE: ClassVar[MsgType] = MsgType.GNSS
    raw: bytes

    def encode(self) -> bytes:
        if not 0 < len(self.raw) <= limits.MAX_GNSS_SENTENCE:
            raise BadFrame(BridgeReason.BAD_VALUE, f"NMEA sentence of {len(self.raw)} bytes")
        return bytes(self.raw)

    @classmethod
    def decode(cls, payload: bytes) -> GnssSentence:
        if not 0 < len(payload) <= limits.MAX_GNSS_SENTENCE:
            raise _bad("gnss", payload)
        return cls(payload)


@dataclass(frozen=True, slots=True)
class SensorReading:
    """Any other sensor: value = mantissa * 10^exponent in `unit` (UCUM code) (§4.5)."""

    TYPE: ClassVar[MsgType] = MsgType.SENSOR
    sensor_id: int
    mantissa: int
    exponent: int
    unit: str

    @property
    def value(self) -> float:
        return self.mantissa * 10.0**self.exponent

    def encode(self) -> bytes:
        unit = self.unit.encode("ascii", "replace")
        if len(unit) > limits.MAX_UNIT or not _printable(unit):
            raise BadFrame(BridgeReason.BAD_VALUE, f"unit {self.unit!r}")
        return _pack(_SENSOR, "sensor", self.sensor_id, self.exponent, self.mantissa) + unit

    @classmethod
    def decode(cls, payload: bytes) -> SensorReading:
        unit = payload[_SENSOR.size :]
        if len(payload) < _SENSOR.size or len(unit) > limits.MAX_UNIT or not _printable(unit):
            raise _bad("sensor", payload)
        sensor_id, exponent, mantissa = _SENSOR.unpack_from(payload)
        return cls(sensor_id, mantissa, exponent, unit.decode("ascii"))


@dataclass(frozen=True, slots=True)
class TimeSync:
    """Pairs an MCU tick with a UTC time from the host or a GNSS PPS edge (§4.6)."""

    TYPE: ClassVar[MsgType] = MsgType.TIME_SYNC
    source: TimeSource
    mcu_us: int
    utc_ns: int

    def encode(self) -> bytes:
        return _pack(_TIME_SYNC, "time sync", int(self.source), self.mcu_us, self.utc_ns)

    @classmethod
    def decode(cls, payload: bytes) -> TimeSync:
        if len(payload) != _TIME_SYNC.size:
            raise _bad("time sync", payload)
        source, mcu_us, utc_ns = _TIME_SYNC.unpack(payload)
        if source not in TimeSource._value2member_map_:
            raise _bad("time sync source", payload)
        return cls(TimeSource(source), mcu_us, utc_ns)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A board event or log line: syslog level 0-7, a code, UTF-8 text (§4.7)."""

    TYPE: ClassVar[MsgType] = MsgType.LOG
    level: int
    code: int
    text: str

    def encode(self) -> bytes:
        text = self.text.encode("utf-8")
        if len(text) > limits.MAX_LOG_TEXT or not 0 <= self.level <= 7:
            raise BadFrame(BridgeReason.BAD_VALUE, "log level or text length out of range")
        return _pack(_LOG, "log", self.level, self.code) + text

    @classmethod
    def decode(cls, payload: bytes) -> LogEvent:
        text = payload[_LOG.size :]
        if len(payload) < _LOG.size or len(text) > limits.MAX_LOG_TEXT or payload[0] > 7:
            raise _bad("log", payload)
        level, code = _LOG.unpack_from(payload)
        try:
            return cls(level, code, text.decode("utf-8"))
        except UnicodeDecodeError:
            raise _bad("log text", payload) from None


@dataclass(frozen=True, slots=True)
class Opaque:
    """A type this version does not know (or a known type whose payload did not parse):
    kept byte for byte so the evidence is complete (SPEC §4.8)."""

    type: int
    payload: bytes

    def encode(self) -> bytes:
        return bytes(self.payload)


Message = Hello | Heartbeat | ImuSample | GnssSentence | SensorReading | TimeSync | LogEvent
AnyMessage = Message | Opaque

DECODERS = {
    MsgType.HELLO: Hello.decode,
    MsgType.HEARTBEAT: Heartbeat.decode,
    MsgType.IMU: ImuSample.decode,
    MsgType.GNSS: GnssSentence.decode,
    MsgType.SENSOR: SensorReading.decode,
    MsgType.TIME_SYNC: TimeSync.decode,
    MsgType.LOG: LogEvent.decode,
}


def type_of(message: AnyMessage) -> int:
    """The wire type byte of a message."""
    return message.type if isinstance(message, Opaque) else int(message.TYPE)


def _printable(text: bytes) -> bool:
    return all(0x21 <= b <= 0x7E for b in text)
