"""Typed leaves of the collector's transparency log (docs/protocol.md §Log leaves).

    leaf data = u8 leaf type || payload        leaf hash = SHA-256(0x00 || leaf data)

    0x01 BATCH_HEADER    payload = header hash (32 bytes)
    0x02 REGISTRY_EVENT  payload = deterministic CBOR map (RegistryEvent)
    0x03 ACCESS_EVENT    payload = deterministic CBOR map (AccessEvent): grants, revocations,
                         owner bindings, reads and exports

The typed prefix keeps a header hash from ever being read as an event. The verifier
recomputes these leaves, so their bytes are part of the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from notary_core import cbor, limits
from notary_core.errors import BadData, Reason

EVENT_VERSION = 1
MAX_LEAF_DATA = 4096
"""A registry event holds one SPKI (~91 bytes for P-256); an access event one grant id,
party ids and a window: 4 KiB bounds both with room to spare."""


class LeafType(IntEnum):
    BATCH_HEADER = 0x01
    REGISTRY_EVENT = 0x02
    ACCESS_EVENT = 0x03


class RegistryAction(IntEnum):
    ENROL = 1
    ROTATE = 2
    REVOKE = 3


class AccessAction(IntEnum):
    OWNER_BOUND = 1  # an owner key bound to a vehicle for a period
    GRANT = 2  # an owner (or delegating party) issued a grant
    REVOKE = 3  # a grant was revoked (cascades to its sub-grants)
    READ = 4  # a party read data under a grant
    EXPORT = 5  # an evidence bundle was issued under a grant
    REQUEST = 6  # a party asked for access (pending)
    DENY = 7  # the owner denied a request
    DEVICE_INSTALLED = 8  # a device recorded this vehicle for a period (subject: device id)


def batch_leaf(header_hash: bytes) -> bytes:
    if len(header_hash) != limits.HASH_SIZE:
        raise BadData(Reason.BAD_HASH_LENGTH, "header hash must be 32 bytes")
    return bytes([LeafType.BATCH_HEADER]) + header_hash


def _decode_map(data: bytes, leaf_type: LeafType, what: str) -> dict[int, Any]:
    if not data or data[0] != leaf_type:
        raise BadData(Reason.UNKNOWN_KIND, f"not a {what} leaf")
    value = cbor.loads(data[1:], MAX_LEAF_DATA, what)
    if not isinstance(value, dict) or value.get(1) != EVENT_VERSION:
        raise BadData(Reason.UNSUPPORTED_VERSION, f"{what} version")
    return value


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
            1: EVENT_VERSION,
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
        v = _decode_map(data, LeafType.REGISTRY_EVENT, "registry event")
        try:
            event = cls(RegistryAction(v[2]), v[3], v[4], v[5], v[6], v[7], v[8])
        except (KeyError, ValueError) as exc:
            raise BadData(Reason.MALFORMED, f"registry event field: {exc}") from None
        ok = (
            isinstance(event.device_id, str)
            and isinstance(event.key_spki, bytes)
            and isinstance(event.key_id, bytes)
            and isinstance(event.not_before_ns, int)
            and (event.not_after_ns is None or isinstance(event.not_after_ns, int))
            and isinstance(event.at_utc_ns, int)
        )
        if not ok or len(v) != 8:
            raise BadData(Reason.MALFORMED, "registry event fields have the wrong types")
        return event


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """Who did what to which vehicle's data, under which grant (all ids are text)."""

    action: AccessAction
    vehicle_id: str
    actor: str  # key thumbprint of who acted (owner, party, or the collector)
    subject: str  # grant id, request id or owner key thumbprint, by action
    window_start_ns: int
    window_end_ns: int
    at_utc_ns: int
    detail: str = ""  # e.g. the streams read, a bundle id, a purpose

    def to_leaf(self) -> bytes:
        body: dict[int, Any] = {
            1: EVENT_VERSION,
            2: int(self.action),
            3: self.vehicle_id,
            4: self.actor,
            5: self.subject,
            6: self.window_start_ns,
            7: self.window_end_ns,
            8: self.at_utc_ns,
            9: self.detail,
        }
        return bytes([LeafType.ACCESS_EVENT]) + cbor.dumps(body)

    @classmethod
    def from_leaf(cls, data: bytes) -> AccessEvent:
        v = _decode_map(data, LeafType.ACCESS_EVENT, "access event")
        try:
            event = cls(AccessAction(v[2]), v[3], v[4], v[5], v[6], v[7], v[8], v[9])
        except (KeyError, ValueError) as exc:
            raise BadData(Reason.MALFORMED, f"access event field: {exc}") from None
        texts = (event.vehicle_id, event.actor, event.subject, event.detail)
        ints = (event.window_start_ns, event.window_end_ns, event.at_utc_ns)
        if len(v) != 9 or not all(isinstance(t, str) for t in texts):
            raise BadData(Reason.MALFORMED, "access event fields have the wrong types")
        if not all(isinstance(i, int) for i in ints):
            raise BadData(Reason.MALFORMED, "access event times must be integers")
        return event
