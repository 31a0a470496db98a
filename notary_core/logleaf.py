"""Typed leaves of the collector's transparency log (docs/protocol.md §Log leaves).

    leaf data = u8 leaf type || payload        leaf hash = SHA-256(0x00 || leaf data)

    0x01 BATCH_HEADER    payload = header hash (32 bytes)                      (v1 logs)
    0x02 REGISTRY_EVENT  payload = deterministic CBOR map (RegistryEvent)
    0x03 ACCESS_EVENT    payload = deterministic CBOR map (AccessEvent): grants, revocations,
                         owner bindings, reads and exports
    0x04 BATCH           header hash || u64 batch_seq || device id              (v2 logs)
    0x05 INDEX           deterministic CBOR {1: 1, 2: covered size, 3: index root} (v2 logs)

Version-2 events carry links (`Link`): each names the previous entry of its chains, so the
index of heads (notary_core.heads) proves a chain complete from its last entry. The typed
prefix keeps a header hash from ever being read as an event. The verifier recomputes these
leaves, so their bytes are part of the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from notary_core import cbor, limits
from notary_core.errors import BadData, Reason

EVENT_VERSION = 1
EVENT_VERSION_2 = 2
INDEX_VERSION = 1
MAX_LEAF_DATA = 4096
"""A registry event holds one SPKI (~91 bytes for P-256); an access event one grant id,
party ids and a window: 4 KiB bounds both with room to spare."""


class LeafType(IntEnum):
    BATCH_HEADER = 0x01
    REGISTRY_EVENT = 0x02
    ACCESS_EVENT = 0x03
    BATCH = 0x04
    INDEX = 0x05


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
    REFUSED = 9  # (v2) a party's request was refused (subject: grant id or "-")
    OWNER_ENDED = 10  # (v2) an ownership ends (subject: owner; window: the period as it ends)
    DEVICE_REMOVED = 11  # (v2) an installation ends (subject: device; window: as it ends)


RULE_ACTIONS = frozenset(
    {AccessAction.OWNER_BOUND, AccessAction.GRANT, AccessAction.REVOKE,
     AccessAction.DEVICE_INSTALLED, AccessAction.OWNER_ENDED, AccessAction.DEVICE_REMOVED}
)  # fmt: skip
"""The actions on a vehicle's rule chain: what decides who may see which data (§7.1.1)."""

DEVICE_ACTIONS = frozenset({AccessAction.DEVICE_INSTALLED, AccessAction.DEVICE_REMOVED})
"""The access actions also on the device chain of their subject (§7.1.1)."""

V2_ACTIONS = frozenset(
    {AccessAction.REFUSED, AccessAction.OWNER_ENDED, AccessAction.DEVICE_REMOVED}
)


@dataclass(frozen=True, slots=True)
class Link:
    """An entry's place in one chain: position n, and the log index and leaf hash of the
    entry before it (both None for n = 0)."""

    n: int
    prev_index: int | None = None
    prev_hash: bytes | None = None

    def to_cbor(self) -> list[Any]:
        return [self.n, self.prev_index, self.prev_hash]

    @classmethod
    def parse(cls, v: Any) -> Link:
        if not (isinstance(v, list) and len(v) == 3 and _uint(v[0])):
            raise BadData(Reason.MALFORMED, "a link is [n, prev index, prev hash]")
        n, index, h = v
        if n == 0:
            if index is not None or h is not None:
                raise BadData(Reason.MALFORMED, "the first entry of a chain names no previous")
        elif not (_uint(index) and _hash(h)):
            raise BadData(Reason.MALFORMED, "a link names the previous entry's index and hash")
        return cls(n, index, h)


def _uint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 63


def _int(v: Any) -> bool:
    """A CBOR integer: Python reads CBOR true and false as ints, and they are not."""
    return isinstance(v, int) and not isinstance(v, bool)


def _hash(v: Any) -> bool:
    return isinstance(v, bytes) and len(v) == limits.HASH_SIZE


def batch_leaf(header_hash: bytes) -> bytes:
    if len(header_hash) != limits.HASH_SIZE:
        raise BadData(Reason.BAD_HASH_LENGTH, "header hash must be 32 bytes")
    return bytes([LeafType.BATCH_HEADER]) + header_hash


@dataclass(frozen=True, slots=True)
class BatchLeaf:
    """(v2) A batch in the log: its header hash, and its device and place in its chain."""

    header_hash: bytes
    batch_seq: int
    device_id: str

    def to_leaf(self) -> bytes:
        if len(self.header_hash) != limits.HASH_SIZE:
            raise BadData(Reason.BAD_HASH_LENGTH, "header hash must be 32 bytes")
        device = self.device_id.encode("ascii")
        if not 1 <= len(device) <= 64 or not _uint(self.batch_seq):
            raise BadData(Reason.MALFORMED, "batch leaf: device id 1..64 bytes, u64 batch_seq")
        seq = self.batch_seq.to_bytes(8, "big")
        return bytes([LeafType.BATCH]) + self.header_hash + seq + device

    @classmethod
    def from_leaf(cls, data: bytes) -> BatchLeaf:
        if not data or data[0] != LeafType.BATCH:
            raise BadData(Reason.UNKNOWN_KIND, "not a batch leaf")
        if not 1 + 32 + 8 + 1 <= len(data) <= 1 + 32 + 8 + 64:
            raise BadData(Reason.MALFORMED, "a batch leaf is 42..105 bytes")
        try:
            device = data[41:].decode("ascii")
        except UnicodeDecodeError:
            raise BadData(Reason.MALFORMED, "a batch leaf's device id is ASCII") from None
        leaf = cls(data[1:33], int.from_bytes(data[33:41], "big"), device)
        leaf.to_leaf()  # a batch_seq with its top bit set is refused as writing it would be
        return leaf  # every byte of `data` is a field: nothing else encodes this leaf


@dataclass(frozen=True, slots=True)
class IndexLeaf:
    """(v2) The index of heads over the leaves [0, covered): appended before each checkpoint."""

    covered: int
    root: bytes

    def to_leaf(self) -> bytes:
        if not _uint(self.covered) or len(self.root) != limits.HASH_SIZE:
            raise BadData(Reason.MALFORMED, "index leaf: u63 size and a 32-byte root")
        body = {1: INDEX_VERSION, 2: self.covered, 3: self.root}
        return bytes([LeafType.INDEX]) + cbor.dumps(body)

    @classmethod
    def from_leaf(cls, data: bytes) -> IndexLeaf:
        if not data or data[0] != LeafType.INDEX:
            raise BadData(Reason.UNKNOWN_KIND, "not an index leaf")
        v = cbor.loads(data[1:], MAX_LEAF_DATA, "index leaf")
        if not isinstance(v, dict) or not _int(v.get(1)) or v[1] != INDEX_VERSION:
            raise BadData(Reason.UNSUPPORTED_VERSION, "index leaf version")
        if set(v) != {1, 2, 3} or not _uint(v[2]) or not _hash(v[3]):
            raise BadData(Reason.MALFORMED, "index leaf fields")
        return cls(v[2], v[3])  # each field's type is exact: it re-encodes to `data`


def _decode_map(data: bytes, leaf_type: LeafType, what: str) -> dict[int, Any]:
    if not data or data[0] != leaf_type:
        raise BadData(Reason.UNKNOWN_KIND, f"not a {what} leaf")
    value: Any = cbor.loads(data[1:], MAX_LEAF_DATA, what)
    if not isinstance(value, dict):
        raise BadData(Reason.UNSUPPORTED_VERSION, f"{what} version")
    version = value.get(1)
    if not _int(version) or version not in (EVENT_VERSION, EVENT_VERSION_2):
        raise BadData(Reason.UNSUPPORTED_VERSION, f"{what} version")
    if not _int(value.get(2)):  # an IntEnum takes True or 1.0 for 1
        raise BadData(Reason.MALFORMED, f"{what} action is not an integer")
    return value


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """A device key enrolled, rotated in or revoked: the log makes the registry auditable.
    With a `link` (its place in the device chain) it is a version-2 event."""

    action: RegistryAction
    device_id: str
    key_spki: bytes
    key_id: bytes
    not_before_ns: int
    not_after_ns: int | None
    at_utc_ns: int
    link: Link | None = None

    def to_leaf(self) -> bytes:
        body: dict[int, Any] = {
            1: EVENT_VERSION if self.link is None else EVENT_VERSION_2,
            2: int(self.action),
            3: self.device_id,
            4: self.key_spki,
            5: self.key_id,
            6: self.not_before_ns,
            7: self.not_after_ns,
            8: self.at_utc_ns,
        }
        if self.link is not None:
            body[9] = self.link.to_cbor()
        return bytes([LeafType.REGISTRY_EVENT]) + cbor.dumps(body)

    @classmethod
    def from_leaf(cls, data: bytes) -> RegistryEvent:
        v = _decode_map(data, LeafType.REGISTRY_EVENT, "registry event")
        v2 = v[1] == EVENT_VERSION_2
        if set(v) != set(range(1, 10 if v2 else 9)):
            raise BadData(Reason.MALFORMED, "registry event keys")
        try:
            link = Link.parse(v[9]) if v2 else None
            event = cls(RegistryAction(v[2]), v[3], v[4], v[5], v[6], v[7], v[8], link)
        except (KeyError, ValueError) as exc:
            raise BadData(Reason.MALFORMED, f"registry event field: {exc}") from None
        ok = (
            isinstance(event.device_id, str)
            and isinstance(event.key_spki, bytes)
            and isinstance(event.key_id, bytes)
            and _int(event.not_before_ns)
            and (event.not_after_ns is None or _int(event.not_after_ns))
            and _int(event.at_utc_ns)
        )
        if not ok:
            raise BadData(Reason.MALFORMED, "registry event fields have the wrong types")
        return event


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """Who did what to which vehicle's data, under which grant (all ids are text).
    With links (vehicle chain; rule chain for a rule action; device chain for an
    installation) it is a version-2 event."""

    action: AccessAction
    vehicle_id: str
    actor: str  # key thumbprint of who acted (owner, party, or the collector)
    subject: str  # grant id, request id or owner key thumbprint, by action
    window_start_ns: int
    window_end_ns: int
    at_utc_ns: int
    detail: str = ""  # e.g. the streams read, a bundle id, a purpose
    vehicle_link: Link | None = None
    rule_link: Link | None = None
    device_link: Link | None = None

    @property
    def version(self) -> int:
        return EVENT_VERSION if self.vehicle_link is None else EVENT_VERSION_2

    def to_leaf(self) -> bytes:
        body: dict[int, Any] = {
            1: self.version,
            2: int(self.action),
            3: self.vehicle_id,
            4: self.actor,
            5: self.subject,
            6: self.window_start_ns,
            7: self.window_end_ns,
            8: self.at_utc_ns,
            9: self.detail,
        }
        if self.vehicle_link is not None:
            self._check_links()
            body[10] = self.vehicle_link.to_cbor()
            if self.rule_link is not None:
                body[11] = self.rule_link.to_cbor()
            if self.device_link is not None:
                body[12] = self.device_link.to_cbor()
        elif self.rule_link is not None or self.device_link is not None:
            raise BadData(Reason.MALFORMED, "a version-1 access event has no links")
        return bytes([LeafType.ACCESS_EVENT]) + cbor.dumps(body)

    def _check_links(self) -> None:
        rule = self.action in RULE_ACTIONS
        install = self.action in DEVICE_ACTIONS
        if (self.rule_link is not None) != rule or (self.device_link is not None) != install:
            raise BadData(
                Reason.MALFORMED,
                f"a {self.action.name} event carries a rule link iff it is a rule action, "
                "and a device link iff it is an installation",
            )

    @classmethod
    def from_leaf(cls, data: bytes) -> AccessEvent:
        v = _decode_map(data, LeafType.ACCESS_EVENT, "access event")
        v2 = v[1] == EVENT_VERSION_2
        keys = set(v)
        if not (set(range(1, 10)) <= keys <= (set(range(1, 13)) if v2 else set(range(1, 10)))):
            raise BadData(Reason.MALFORMED, "access event keys")
        try:
            links = [Link.parse(v[k]) if k in v else None for k in (10, 11, 12)]
            event = cls(AccessAction(v[2]), v[3], v[4], v[5], v[6], v[7], v[8], v[9], *links)
        except (KeyError, ValueError) as exc:
            raise BadData(Reason.MALFORMED, f"access event field: {exc}") from None
        texts = (event.vehicle_id, event.actor, event.subject, event.detail)
        ints = (event.window_start_ns, event.window_end_ns, event.at_utc_ns)
        if not all(isinstance(t, str) for t in texts):
            raise BadData(Reason.MALFORMED, "access event fields have the wrong types")
        if not all(_int(i) for i in ints):
            raise BadData(Reason.MALFORMED, "access event times must be integers")
        if v2:
            if event.vehicle_link is None:
                raise BadData(Reason.MALFORMED, "a version-2 access event has a vehicle link")
            event._check_links()
        elif event.action in V2_ACTIONS:
            raise BadData(Reason.UNKNOWN_KIND, f"{event.action.name} is a version-2 action")
        return event


Leaf = BatchLeaf | IndexLeaf | RegistryEvent | AccessEvent | bytes
"""A parsed log leaf; `bytes` is a version-1 batch leaf (its header hash)."""


def parse_leaf(data: bytes) -> Leaf:
    """Any log leaf, by its type byte (UNKNOWN_KIND for an unknown type)."""
    if not data:
        raise BadData(Reason.MALFORMED, "an empty log leaf")
    kind = data[0]
    if kind == LeafType.BATCH_HEADER:
        if len(data) != 1 + limits.HASH_SIZE:
            raise BadData(Reason.MALFORMED, "a version-1 batch leaf is 33 bytes")
        return data[1:]
    if kind == LeafType.BATCH:
        return BatchLeaf.from_leaf(data)
    if kind == LeafType.INDEX:
        return IndexLeaf.from_leaf(data)
    if kind == LeafType.REGISTRY_EVENT:
        return RegistryEvent.from_leaf(data)
    if kind == LeafType.ACCESS_EVENT:
        return AccessEvent.from_leaf(data)
    raise BadData(Reason.UNKNOWN_KIND, f"log leaf type {kind:#04x}")
