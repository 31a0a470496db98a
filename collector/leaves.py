"""Typed leaves of the collector's transparency log (docs/collector.md §Log leaves).

    leaf data = u8 leaf type || payload        leaf hash = SHA-256(0x00 || leaf data)

    0x01 BATCH_HEADER     payload = header hash (32 bytes, SHA-256 of the header's CBOR)
    0x02 REGISTRY_EVENT   payload = deterministic CBOR map
                          {1: version (1), 2: event (1 enrol, 2 rotate, 3 revoke),
                           3: device_id, 4: key SPKI DER, 5: key id, 6: not_before_ns,
                           7: not_after_ns or null, 8: at_utc_ns}

A typed prefix keeps a header hash from ever being read as an event and leaves room for the
access issue's grant, revoke and access events (types 0x03..).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from notary_core import cbor, limits, merkle
from notary_core.errors import BadData, Reason

REGISTRY_EVENT_VERSION = 1
MAX_LEAF_DATA = 1024


class LeafType(IntEnum):
    BATCH_HEADER = 0x01
    REGISTRY_EVENT = 0x02


class RegistryAction(IntEnum):
    ENROL = 1
    ROTATE = 2
    REVOKE = 3


def batch_leaf(header_hash: bytes) -> bytes:
    if len(header_hash) != limits.HASH_SIZE:
        raise BadData(Reason.BAD_HASH_LENGTH, "header hash must be 32 bytes")
    return bytes([LeafType.BATCH_HEADER]) + header_hash


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """A device key enrolled, rotated in or revoked: the log makes the registry auditable."""

    action: RegistryAction
    device_id: str
    key_spki: bytes
    key_id: bytes
    not_before_ns: int
    not_after_ns: int | None
    at_utc_ns: int

    def to_leaf(self) -> bytes:
        body: dict[int, Any] = {
            1: REGISTRY_EVENT_VERSION,
            2: int(self.action),
            3: self.device_id,
            4: self.key_spki,
            5: self.key_id,
            6: self.not_before_ns,
            7: self.not_after_ns,
            8: self.at_utc_ns,
        }
        return bytes([LeafType.REGISTRY_EVENT]) + cbor.dumps(body)

    @classmethod
    def from_leaf(cls, data: bytes) -> RegistryEvent:
        if not data or data[0] != LeafType.REGISTRY_EVENT:
            raise BadData(Reason.UNKNOWN_KIND, "not a registry-event leaf")
        value = cbor.loads(data[1:], MAX_LEAF_DATA, "registry event")
        if not isinstance(value, dict) or value.get(1) != REGISTRY_EVENT_VERSION:
            raise BadData(Reason.UNSUPPORTED_VERSION, "registry event version")
        try:
            return cls(
                RegistryAction(value[2]),
                value[3],
                value[4],
                value[5],
                value[6],
                value[7],
                value[8],
            )
        except (KeyError, ValueError) as exc:
            raise BadData(Reason.MALFORMED, f"registry event field: {exc}") from None


def leaf_hash(leaf_data: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of typed leaf data."""
    return merkle.hash_leaf(leaf_data)
