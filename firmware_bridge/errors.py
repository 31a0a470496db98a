"""The bridge's two error families, with stable reason codes (SPEC.md §7).

`BadFrame`: the bytes are wrong (corrupted, malformed, oversized, forged). Retrying will
not help; keep them and count the reason. `PortUnavailable`: the serial port could not
be opened or read. The data may be fine; the serial module retries on its own.
The edge agent maps these onto notary_core's BadData / Unreachable; firmware_bridge does
not import the core (the MCU side and the gateway side must not share code by accident).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class BridgeReason(StrEnum):
    """Stable, machine-readable reason codes: never rename one (SPEC §7)."""

    BAD_COBS = "BAD_COBS"  # a segment that is not valid COBS
    TOO_SHORT = "TOO_SHORT"  # shorter than header + CRC
    TOO_LARGE = "TOO_LARGE"  # longer than limits.MAX_FRAME (or no delimiter in time)
    BAD_CRC = "BAD_CRC"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    BAD_PAYLOAD = "BAD_PAYLOAD"  # known type, payload does not match its layout
    BAD_VALUE = "BAD_VALUE"  # an encoder was asked to write a value the format cannot hold
    BAD_KEY = "BAD_KEY"
    UNREACHABLE = "UNREACHABLE"


class BridgeError(Exception):
    """Base of every error firmware_bridge raises on purpose."""

    def __init__(self, reason: BridgeReason, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.fields: dict[str, Any] = fields

    def to_dict(self) -> dict[str, Any]:
        """Structured form for logs and quarantine rows (bytes as hex)."""
        out: dict[str, Any] = {"reason": str(self.reason), "message": self.message}
        for key, value in self.fields.items():
            out[key] = value.hex() if isinstance(value, bytes | bytearray) else value
        return out

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class BadFrame(BridgeError):
    """The bytes are wrong. Keep them, count the reason, do not retry."""


class PortUnavailable(BridgeError):
    """The serial port is gone or unreadable. Retry later; the data may be fine."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(BridgeReason.UNREACHABLE, message, **fields)
