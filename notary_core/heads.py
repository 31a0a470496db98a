"""The index of heads (docs/protocol.md §7.3): what every version-2 checkpoint commits to.

For every device its newest batch and the head of its device chain; for every vehicle the
heads of its vehicle chain and rule chain. `Index.apply` derives it from the log's leaves
in order and refuses a leaf whose link does not fit; the same code serves the collector
(which appends the index leaf), the monitor (which recomputes it) and the tests. The
sparse Merkle tree over the heads is notary_core.smt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from notary_core import cbor, limits, smt
from notary_core.errors import BadData, Reason
from notary_core.logleaf import (
    DEVICE_ACTIONS,
    RULE_ACTIONS,
    AccessEvent,
    BatchLeaf,
    IndexLeaf,
    Link,
    RegistryEvent,
    parse_leaf,
)

DEVICE_PREFIX = b"\x01"
VEHICLE_PREFIX = b"\x02"
MAX_VALUE = 256


def device_key(device_id: str) -> bytes:
    return DEVICE_PREFIX + device_id.encode("ascii")


def vehicle_key(vehicle_id: str) -> bytes:
    return VEHICLE_PREFIX + vehicle_id.encode("utf-8")


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash: what links and heads name."""
    return hashlib.sha256(b"\x00" + leaf).digest()


@dataclass(frozen=True, slots=True)
class ChainHead:
    """A chain's count and its last entry (log index, leaf hash); None while empty."""

    count: int = 0
    last_index: int | None = None
    last_hash: bytes | None = None

    def link(self) -> Link:
        """The link the next entry of this chain must carry."""
        return Link(self.count, self.last_index, self.last_hash)

    def append(self, index: int, leaf: bytes) -> ChainHead:
        return ChainHead(self.count + 1, index, leaf_hash(leaf))

    def fields(self) -> list[Any]:
        return [self.count, self.last_index, self.last_hash]


def _chain(v: Any) -> ChainHead:
    count, index, h = v
    ok = type(count) is int  # not a CBOR true: Python takes it for 1
    ok = ok and ((count == 0 and index is None and h is None) or (
        count > 0 and type(index) is int and index >= 0
        and isinstance(h, bytes) and len(h) == limits.HASH_SIZE))  # fmt: skip
    if not ok:
        raise BadData(Reason.MALFORMED, "an index chain head is [count, last index, last hash]")
    return ChainHead(count, index, h)


@dataclass(frozen=True, slots=True)
class DeviceHead:
    batch_seq: int | None = None
    header_hash: bytes | None = None
    batch_index: int | None = None
    chain: ChainHead = ChainHead()

    def value(self) -> bytes:
        return cbor.dumps([self.batch_seq, self.header_hash, self.batch_index,
                           *self.chain.fields()])  # fmt: skip

    @classmethod
    def parse(cls, data: bytes) -> DeviceHead:
        v = cbor.loads(data, MAX_VALUE, "device head")
        if not (isinstance(v, list) and len(v) == 6):
            raise BadData(Reason.MALFORMED, "a device head is an array of 6")
        seq, h, index = v[:3]
        batch_ok = (seq is None and h is None and index is None) or (
            type(seq) is int and seq >= 0 and isinstance(h, bytes)
            and len(h) == limits.HASH_SIZE and type(index) is int and index >= 0)  # fmt: skip
        if not batch_ok:
            raise BadData(Reason.MALFORMED, "a device head's batch fields")
        return cls(seq, h, index, _chain(v[3:]))


@dataclass(frozen=True, slots=True)
class VehicleHead:
    entries: ChainHead = ChainHead()
    rules: ChainHead = ChainHead()

    def value(self) -> bytes:
        return cbor.dumps([*self.entries.fields(), *self.rules.fields()])

    @classmethod
    def parse(cls, data: bytes) -> VehicleHead:
        v = cbor.loads(data, MAX_VALUE, "vehicle head")
        if not (isinstance(v, list) and len(v) == 6):
            raise BadData(Reason.MALFORMED, "a vehicle head is an array of 6")
        return cls(_chain(v[:3]), _chain(v[3:]))


def _fit(link: Link | None, head: ChainHead, what: str, index: int) -> None:
    if link != head.link():
        raise BadData(
            Reason.INDEX_MISMATCH,
            f"log entry {index}: its {what} link {link} does not follow the chain's head {head}",
        )


@dataclass
class Index:
    """Heads derived from the log's leaves [0, size), with the tree over them."""

    devices: dict[str, DeviceHead] = field(default_factory=dict)
    vehicles: dict[str, VehicleHead] = field(default_factory=dict)
    size: int = 0
    tree: smt.SparseTree = field(default_factory=smt.SparseTree)
    keep: int = 1024  # how many snapshots (one per index leaf) stay provable
    snapshots: dict[int, smt.Snapshot] = field(default_factory=dict)  # by covered size
    _dirty: set[bytes] = field(default_factory=set)

    def device(self, device_id: str) -> DeviceHead:
        return self.devices.get(device_id, DeviceHead())

    def vehicle(self, vehicle_id: str) -> VehicleHead:
        return self.vehicles.get(vehicle_id, VehicleHead())

    def apply(self, index: int, leaf: bytes) -> None:
        """Apply leaf `index` (which must be the next one) of the log (§7.3)."""
        if index != self.size:
            raise BadData(Reason.BAD_INDEX, f"leaf {index} applied to an index of size {self.size}")
        parsed = parse_leaf(leaf)
        if isinstance(parsed, BatchLeaf):
            d = self.device(parsed.device_id)
            if d.batch_seq is None or parsed.batch_seq > d.batch_seq:
                newest = replace(d, batch_seq=parsed.batch_seq, header_hash=parsed.header_hash,
                                 batch_index=index)  # fmt: skip
                self._set_device(parsed.device_id, newest)
        elif isinstance(parsed, RegistryEvent) and parsed.link is not None:
            d = self.device(parsed.device_id)
            _fit(parsed.link, d.chain, "device", index)
            self._set_device(parsed.device_id, replace(d, chain=d.chain.append(index, leaf)))
        elif isinstance(parsed, AccessEvent) and parsed.vehicle_link is not None:
            self._apply_access(index, leaf, parsed)
        elif isinstance(parsed, IndexLeaf):
            root = self.root()
            if (parsed.covered, parsed.root) != (index, root):
                raise BadData(
                    Reason.INDEX_MISMATCH,
                    f"the index leaf at {index} states ({parsed.covered}, {parsed.root.hex()}), "
                    f"the leaves give ({index}, {root.hex()})",
                )
            self.snapshots[index] = self.tree.snapshot()
            while len(self.snapshots) > self.keep:
                del self.snapshots[min(self.snapshots)]
        self.size += 1

    def _apply_access(self, index: int, leaf: bytes, e: AccessEvent) -> None:
        v = self.vehicle(e.vehicle_id)
        _fit(e.vehicle_link, v.entries, "vehicle", index)
        rules = v.rules
        if e.action in RULE_ACTIONS:
            _fit(e.rule_link, rules, "rule", index)
            rules = rules.append(index, leaf)
        if e.action in DEVICE_ACTIONS:
            d = self.device(e.subject)
            _fit(e.device_link, d.chain, "device", index)
            self._set_device(e.subject, replace(d, chain=d.chain.append(index, leaf)))
        self.vehicles[e.vehicle_id] = VehicleHead(v.entries.append(index, leaf), rules)
        self._dirty.add(vehicle_key(e.vehicle_id))

    def _set_device(self, device_id: str, head: DeviceHead) -> None:
        self.devices[device_id] = head
        self._dirty.add(device_key(device_id))

    def linked(self, e: RegistryEvent | AccessEvent) -> RegistryEvent | AccessEvent:
        """`e` as a version-2 event: with the links its chains' heads give it now. (What a
        log writer appends next; `apply` then checks the links.)"""
        if isinstance(e, RegistryEvent):
            return replace(e, link=self.device(e.device_id).chain.link())
        v = self.vehicle(e.vehicle_id)
        install = e.action in DEVICE_ACTIONS
        return replace(
            e,
            vehicle_link=v.entries.link(),
            rule_link=v.rules.link() if e.action in RULE_ACTIONS else None,
            device_link=self.device(e.subject).chain.link() if install else None,
        )

    def _value(self, key: bytes) -> bytes:
        name = key[1:]
        if key[:1] == DEVICE_PREFIX:
            return self.devices[name.decode("ascii")].value()
        return self.vehicles[name.decode("utf-8")].value()

    def root(self) -> bytes:
        for key in self._dirty:
            value = self._value(key)
            self.tree.set(smt.key_hash(key), hashlib.sha256(value).digest(), value)
        self._dirty.clear()
        return self.tree.root()

    def index_leaf(self) -> bytes:
        """The index leaf to append at position `size`, covering [0, size)."""
        return IndexLeaf(self.size, self.root()).to_leaf()

    def snapshot(self) -> smt.Snapshot:
        """The index as it is now (covering [0, size)): it keeps proving that state."""
        self.root()
        return self.tree.snapshot()

    def prove(self, key: bytes, at: smt.Snapshot | None = None) -> tuple[bytes, tuple[bytes, ...]]:
        """(value, siblings): the inclusion proof of a device or vehicle head (§7.3), now
        or in an earlier snapshot."""
        proof = (self.snapshot() if at is None else at).prove(smt.key_hash(key))
        if proof.value is None:
            raise BadData(Reason.INDEX_MISMATCH, "no such entry in the index")
        return proof.value_bytes, proof.siblings


def verify_head(root: bytes, key: bytes, value: bytes, siblings: tuple[bytes, ...]) -> None:
    """An index inclusion proof (§7.3) of `value` under `key`; raises BadData(BAD_PROOF)."""
    smt.verify_inclusion(root, smt.key_hash(key), hashlib.sha256(value).digest(), siblings)
