"""Evidence bundles: one self-contained, signed file per disclosure (docs/protocol.md §Evidence).

A bundle is a COSE_Sign1 by the collector over a deterministic CBOR map. It carries every
link a verifier needs offline: disclosed records with their salts and multiproofs, the
signed headers of the hash-chain segment over the window, the device key with its log
entries, the owner's binding and the grant chain with their log entries, the signed
checkpoint those entries are proven against, and the anchor of that checkpoint on chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from notary_core import batch, cbor, cose, grant, limits, merkle
from notary_core import records as rec
from notary_core.errors import BadData, Reason, too_large
from notary_core.header import item_key
from notary_core.native import accel as _accel

BUNDLE_VERSION = 2
BUNDLE_VERSIONS = (1, 2)
MAGIC = b"\x89VNB\r\n\x1a\n"
"""The version-2 file prefix (§12.2): not ASCII, not CBOR; CR LF and 0x1A catch text mode."""
BUNDLE_CONTENT_TYPE = "application/vnd.vnotary.evidence+cbor; v=1"
MAX_BUNDLE_SIZE = 256 * 1024 * 1024
"""An hour of four saturated CAN buses disclosed in full is ~110 M records: far beyond
what any grant should ask for; 256 MiB bounds a bundle a verifier will even read."""
MAX_BATCHES = 100_000


class Disclosed(NamedTuple):
    """A disclosed record: a tuple, because a bundle holds up to millions of them."""

    leaf_index: int
    record: bytes
    salt: bytes


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """A log leaf (typed leaf data) with its inclusion proof at the bundle's checkpoint."""

    leaf: bytes
    log_index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class BatchEvidence:
    signed_header: bytes  # COSE_Sign1 of the batch header
    log_index: int
    log_proof: tuple[bytes, ...]
    disclosed: tuple[Disclosed, ...] = ()
    multiproof: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class AnchorRef:
    chain_id: int
    contract: bytes  # 20-byte address
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    tree_size: int
    root: bytes
    block_time: int  # seconds since the epoch, as the block says


@dataclass(frozen=True, slots=True)
class Request:
    vehicle_id: str
    device_id: str
    window_start_ns: int
    window_end_ns: int
    scope: tuple[str, ...]
    purpose: str
    grantee: str  # key thumbprint of the party the bundle was issued to
    event: tuple[int, str] | None = None  # (v2) the moment asked about: (utc ns, label)


@dataclass(frozen=True, slots=True)
class IndexProof:
    """(v2) The index leaf at the checkpoint's last position, and the inclusion proofs of
    the request's device and vehicle heads under its root (§7.3)."""

    leaf: bytes
    leaf_proof: tuple[bytes, ...]
    device_value: bytes
    device_siblings: tuple[bytes, ...]
    vehicle_value: bytes
    vehicle_siblings: tuple[bytes, ...]


@dataclass(frozen=True)
class EvidenceBundle:
    bundle_id: str
    issued_utc_ns: int
    log_origin: str
    log_vkey: str  # signed-note verifier key of the log
    collector_key: bytes  # SPKI of the key that signs bundles (the bundle key, §6)
    request: Request
    device_key: bytes  # SPKI
    device_events: tuple[LoggedEntry, ...]  # registry events of the device key
    vehicle_events: tuple[LoggedEntry, ...]  # owner bindings and device installations
    grants: tuple[str, ...]  # compact JWS chain, the owner's grant first
    grant_events: tuple[LoggedEntry, ...]  # GRANT / REVOKE events of the chain's grants
    batches: tuple[BatchEvidence, ...]  # contiguous by batch_seq
    checkpoint: bytes  # signed note
    anchor: AnchorRef | None
    views: Mapping[str, Any] = field(default_factory=dict)  # decoded, non-normative
    version: int = 1
    device_chain: tuple[bytes, ...] = ()  # (v2) leaf data, oldest first
    rule_chain: tuple[bytes, ...] = ()  # (v2) leaf data, oldest first
    index: IndexProof | None = None  # (v2)
    timestamps: tuple[bytes, ...] = ()  # (v2) RFC 3161 tokens over the checkpoint text

    def to_cbor(self) -> bytes:
        return cbor.dumps(_encode(self) if self.version == 1 else _encode_v2(self))

    def sign(self, signer: cose.Signer) -> bytes:
        """The bundle file: for version 2, the magic, the version byte, then the COSE_Sign1."""
        if signer.public.spki() != self.collector_key:
            raise BadData(Reason.KEY_MISMATCH, "bundle must be signed by its collector key")
        message = cose.sign1(signer, self.to_cbor(), BUNDLE_CONTENT_TYPE)
        return message if self.version == 1 else MAGIC + bytes([self.version]) + message


def _entry(e: LoggedEntry) -> list[Any]:
    return [e.leaf, e.log_index, list(e.proof)]


def _encode(b: EvidenceBundle) -> dict[int, Any]:
    r = b.request
    a = b.anchor
    return {
        1: 1,
        2: b.bundle_id,
        3: b.issued_utc_ns,
        4: [b.log_origin, b.log_vkey, b.collector_key],
        5: [r.vehicle_id, r.device_id, r.window_start_ns, r.window_end_ns, list(r.scope),
            r.purpose, r.grantee],
        6: b.device_key,
        7: [_entry(e) for e in b.device_events],
        8: [_entry(e) for e in b.vehicle_events],
        9: list(b.grants),
        10: [_entry(e) for e in b.grant_events],
        11: [[x.signed_header, x.log_index, list(x.log_proof),
              [[d.leaf_index, d.record, d.salt] for d in x.disclosed], list(x.multiproof)]
             for x in b.batches],
        12: b.checkpoint,
        13: None if a is None else [a.chain_id, a.contract, a.tx_hash, a.block_number,
                                    a.block_hash, a.tree_size, a.root, a.block_time],
        14: dict(b.views),
    }  # fmt: skip


def _encode_v2(b: EvidenceBundle) -> dict[int, Any]:
    r, a, x = b.request, b.anchor, b.index
    if x is None:
        raise BadData(Reason.MALFORMED, "a version-2 bundle carries the index proof")
    return {
        1: 2,
        2: b.bundle_id,
        3: b.issued_utc_ns,
        4: [b.log_origin, b.log_vkey, b.collector_key],
        5: [r.vehicle_id, r.device_id, r.window_start_ns, r.window_end_ns, list(r.scope),
            r.purpose, r.grantee, None if r.event is None else list(r.event)],
        6: list(b.device_chain),
        7: list(b.rule_chain),
        8: list(b.grants),
        9: [x.leaf, list(x.leaf_proof), [x.device_value, list(x.device_siblings)],
            [x.vehicle_value, list(x.vehicle_siblings)]],
        10: [[e.signed_header, e.log_index, list(e.log_proof),
              [[d.leaf_index, d.record, d.salt] for d in e.disclosed], list(e.multiproof)]
             for e in b.batches],
        11: b.checkpoint,
        12: None if a is None else [a.chain_id, a.contract, a.tx_hash, a.block_number,
                                    a.block_hash, a.tree_size, a.root, a.block_time],
        13: list(b.timestamps),
        14: dict(b.views),
    }  # fmt: skip


def _bytes_list(v: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(v, list | tuple) or not all(isinstance(x, bytes) for x in v):
        raise BadData(Reason.MALFORMED, f"{what} must be a list of byte strings")
    return tuple(v)


def _logged(v: Any) -> LoggedEntry:
    if not (isinstance(v, list | tuple) and len(v) == 3):
        raise BadData(Reason.MALFORMED, "a logged entry is [leaf, index, proof]")
    leaf, index, proof = v
    if not isinstance(leaf, bytes) or type(index) is not int:
        raise BadData(Reason.MALFORMED, "logged entry fields have the wrong types")
    return LoggedEntry(leaf, index, _bytes_list(proof, "log proof"))


def _disclosed_rows(disclosed: list[Any] | tuple[Any, ...], size: int) -> list[Disclosed]:
    """The pure-Python form of `_accel.disclosed_rows`, and the one that names faults."""
    make = tuple.__new__  # no Python-level __new__: the parser's per-record loop
    ok = all(isinstance(d, list | tuple) and len(d) == 3 for d in disclosed)
    items = [make(Disclosed, d) for d in disclosed] if ok else []
    ok = ok and all(
        type(i) is int and type(r) is bytes and type(s) is bytes and len(s) == size
        for i, r, s in items
    )
    if not ok:
        raise BadData(Reason.MALFORMED, f"disclosed: [int index, bytes record, {size}-byte salt]")
    return items


def _batch(v: Any) -> BatchEvidence:
    if not (isinstance(v, list | tuple) and len(v) == 5):
        raise BadData(Reason.MALFORMED, "batch evidence is a list of 5")
    signed, index, proof, disclosed, multi = v
    if not (isinstance(signed, bytes) and type(index) is int):
        raise BadData(Reason.MALFORMED, "batch evidence fields have the wrong types")
    if not isinstance(disclosed, list | tuple):
        raise BadData(Reason.MALFORMED, "disclosed records must be a list")
    size = limits.SALT_SIZE
    rows = None
    if _accel is not None and type(disclosed) is list:
        rows = _accel.disclosed_rows(disclosed, Disclosed, size)
    items = rows if rows is not None else _disclosed_rows(disclosed, size)
    return BatchEvidence(
        signed,
        index,
        _bytes_list(proof, "log proof"),
        tuple(items),
        _bytes_list(multi, "multiproof"),
    )


def _parse(v: Any) -> EvidenceBundle:
    if not isinstance(v, Mapping) or type(v.get(1)) is not int or v[1] != 1:
        raise BadData(Reason.UNSUPPORTED_VERSION, "evidence bundle version")
    try:
        origin, vkey, ckey = v[4]
        req = v[5]
        request = Request(req[0], req[1], req[2], req[3], tuple(req[4]), req[5], req[6])
        batches = v[11]
        if not isinstance(batches, list | tuple) or len(batches) > MAX_BATCHES:
            raise BadData(Reason.TOO_LARGE, "too many batches")
        a = v[13]
        anchor = None if a is None else AnchorRef(*a)
        bundle = EvidenceBundle(
            bundle_id=v[2], issued_utc_ns=v[3], log_origin=origin, log_vkey=vkey,
            collector_key=ckey, request=request, device_key=v[6],
            device_events=tuple(_logged(e) for e in v[7]),
            vehicle_events=tuple(_logged(e) for e in v[8]),
            grants=tuple(v[9]), grant_events=tuple(_logged(e) for e in v[10]),
            batches=tuple(_batch(b) for b in batches), checkpoint=v[12], anchor=anchor,
            views=v[14] if isinstance(v[14], Mapping) else {},
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadData(Reason.MALFORMED, f"evidence bundle field: {exc!r}") from None
    _check_types(bundle)
    return bundle


def _check_types(b: EvidenceBundle) -> None:
    r = b.request
    texts: Sequence[Any] = (b.bundle_id, b.log_origin, b.log_vkey, r.vehicle_id, r.device_id,
                            r.purpose, r.grantee, *b.grants, *r.scope)  # fmt: skip
    ints: Sequence[Any] = (b.issued_utc_ns, r.window_start_ns, r.window_end_ns)
    if not all(isinstance(t, str) for t in texts) or not all(type(i) is int for i in ints):
        raise BadData(Reason.MALFORMED, "bundle text or time fields have the wrong types")
    if not all(isinstance(x, bytes) for x in (b.collector_key, b.device_key, b.checkpoint)):
        raise BadData(Reason.MALFORMED, "bundle key or checkpoint fields must be bytes")
    a = b.anchor
    if a is not None and not (
        isinstance(a.contract, bytes) and len(a.contract) == 20
        and isinstance(a.tx_hash, bytes) and len(a.tx_hash) == 32
        and isinstance(a.block_hash, bytes) and len(a.block_hash) == 32
        and isinstance(a.root, bytes) and len(a.root) == 32
        and all(type(x) is int for x in (a.chain_id, a.block_number, a.tree_size, a.block_time))
    ):  # fmt: skip
        raise BadData(Reason.MALFORMED, "anchor reference fields have the wrong types")


def _index(v: Any) -> IndexProof:
    if not (isinstance(v, list) and len(v) == 4):
        raise BadData(Reason.MALFORMED, "the index is [leaf, proof, device proof, vehicle proof]")
    leaf, proof, dev, veh = v
    if not (
        isinstance(leaf, bytes)
        and all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], bytes) for p in (dev, veh))
    ):
        raise BadData(Reason.MALFORMED, "index proof fields have the wrong types")  # fmt: skip
    return IndexProof(leaf, _bytes_list(proof, "index leaf proof"), dev[0],
                      _bytes_list(dev[1], "device proof"), veh[0],
                      _bytes_list(veh[1], "vehicle proof"))  # fmt: skip


def _parse_v2(v: Any) -> EvidenceBundle:
    if not isinstance(v, Mapping) or set(v) != set(range(1, 15)):
        raise BadData(Reason.MALFORMED, "a version-2 bundle has exactly the keys 1..14")
    try:
        origin, vkey, ckey = v[4]
        req = v[5]
        if not (isinstance(req, list) and len(req) == 8 and isinstance(req[4], list)):
            raise BadData(Reason.MALFORMED, "the request is an array of 8")
        ev = req[7]
        if ev is not None and not (
            isinstance(ev, list) and len(ev) == 2 and type(ev[0]) is int and isinstance(ev[1], str)
        ):
            raise BadData(Reason.MALFORMED, "the request's event is [utc ns, label]")  # fmt: skip
        request = Request(req[0], req[1], req[2], req[3], tuple(req[4]), req[5], req[6],
                          None if ev is None else (ev[0], ev[1]))  # fmt: skip
        batches = v[10]
        if not isinstance(batches, list) or len(batches) > MAX_BATCHES:
            raise BadData(Reason.TOO_LARGE, "too many batches")
        a = v[12]
        if a is not None and not (isinstance(a, list) and len(a) == 8):
            raise BadData(Reason.MALFORMED, "the anchor is an array of 8")
        bundle = EvidenceBundle(
            bundle_id=v[2], issued_utc_ns=v[3], log_origin=origin, log_vkey=vkey,
            collector_key=ckey, request=request, device_key=b"", device_events=(),
            vehicle_events=(), grants=tuple(v[8]), grant_events=(),
            batches=tuple(_batch(b) for b in batches), checkpoint=v[11],
            anchor=None if a is None else AnchorRef(*a),
            views=v[14] if isinstance(v[14], Mapping) else {}, version=2,
            device_chain=_bytes_list(v[6], "device chain"),
            rule_chain=_bytes_list(v[7], "rule chain"), index=_index(v[9]),
            timestamps=_bytes_list(v[13], "timestamps"),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadData(Reason.MALFORMED, f"evidence bundle field: {exc!r}") from None
    _check_types(bundle)
    return bundle


@dataclass(frozen=True)
class SignedBundle:
    """A parsed bundle with its COSE envelope; the signature is checked by `evidence`."""

    raw: bytes
    bundle: EvidenceBundle
    message: cose.Sign1

    @property
    def version(self) -> int:
        return self.bundle.version


def _envelope(data: bytes) -> tuple[int, bytes]:
    """(file version, COSE_Sign1 bytes) of a bundle file; UNREADABLE if it is none (§12.2)."""
    if len(data) > MAX_BUNDLE_SIZE:  # the file, magic and version included (§8)
        raise too_large("evidence bundle", len(data), MAX_BUNDLE_SIZE)
    if data.startswith(MAGIC):
        if len(data) <= len(MAGIC):
            raise BadData(Reason.UNREADABLE, "the bundle file ends after its magic")
        version = data[len(MAGIC)]
        if version != BUNDLE_VERSION:
            raise BadData(Reason.UNSUPPORTED_VERSION, f"bundle file version {version}")
        return version, data[len(MAGIC) + 1 :]
    if data[:1] == b"\xd2":  # tag 18: a version-1 file is the bare COSE_Sign1
        return 1, data
    raise BadData(Reason.UNREADABLE, "not an evidence bundle (no vnotary bundle magic)")


def parse_bundle(data: bytes) -> SignedBundle:
    """Parse (not verify) a bundle file of either version. UNREADABLE when it is not a
    bundle at all (no magic, truncated, not CBOR); other BadData when it is a bad one."""
    version, body = _envelope(data)
    try:
        message = cose.parse_sign1(body, MAX_BUNDLE_SIZE)
    except cbor.NotCbor as exc:
        raise BadData(Reason.UNREADABLE, f"not a readable bundle: {exc.message}") from None
    if message.content_type != BUNDLE_CONTENT_TYPE:
        raise BadData(Reason.MALFORMED, f"not an evidence bundle: {message.content_type!r}")
    # One rule for every CBOR item (§1): the payload is re-encoded and compared, so a
    # duplicate map key or any other second encoding is NON_CANONICAL.
    value = cbor.loads(message.payload, MAX_BUNDLE_SIZE, "evidence bundle")
    if not isinstance(value, Mapping) or type(value.get(1)) is not int or value[1] != version:
        raise BadData(Reason.UNSUPPORTED_VERSION, "evidence bundle version")
    bundle = _parse(value) if version == 1 else _parse_v2(value)
    return SignedBundle(data, bundle, message)


def disclose(
    records: Sequence[bytes],
    salt_key: bytes,
    window: tuple[int, int],
    scope: Sequence[str],
) -> tuple[tuple[Disclosed, ...], tuple[bytes, ...]]:
    """Pick a batch's records inside `window` (UTC ns, inclusive) and `scope`, with their
    salts and one multiproof. Undisclosed records stay behind their salted leaves."""
    start, end = window
    chosen: list[Disclosed] = []
    for i, raw in enumerate(records):
        r = rec.decode(raw)
        if not start <= r.utc_ns <= end:
            continue
        body = r.body
        item = r.stream
        if isinstance(body, rec.CanFrame):
            item = grant.record_scope_item(
                r.stream, body.can_id, bool(body.flags & rec.CanFlags.EXT)
            )
        if grant.in_scope(scope, item):
            chosen.append(Disclosed(i, raw, batch.salt(salt_key, i)))
    if not chosen:
        return (), ()
    tree = merkle.MerkleTree(batch.leaf_hashes(salt_key, records))
    return tuple(chosen), tuple(tree.multiproof(d.leaf_index for d in chosen))


def disclose_batch(
    records: Sequence[bytes], salt_key: bytes, scope: Sequence[str]
) -> tuple[tuple[Disclosed, ...], tuple[bytes, ...]]:
    """(v2) Every record of a batch that the scope covers (§12.3: a batch meeting the window
    discloses all its in-scope records, boundary records included), with one multiproof."""
    chosen: list[Disclosed] = []
    for i, raw in enumerate(records):
        stream, _seq, can_id, flags = rec.scan(raw)
        if grant.covers_item(scope, stream, item_key(can_id, flags)):
            chosen.append(Disclosed(i, raw, batch.salt(salt_key, i)))
    if not chosen:
        return (), ()
    tree = merkle.MerkleTree(batch.leaf_hashes(salt_key, records))
    return tuple(chosen), tuple(tree.multiproof(d.leaf_index for d in chosen))
