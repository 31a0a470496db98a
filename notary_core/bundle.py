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
from notary_core.errors import BadData, Reason
from notary_core.native import accel as _accel

BUNDLE_VERSION = 1
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


@dataclass(frozen=True)
class EvidenceBundle:
    bundle_id: str
    issued_utc_ns: int
    log_origin: str
    log_vkey: str  # signed-note verifier key of the log
    collector_key: bytes  # SPKI of the key that signs bundles and receipts
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

    def to_cbor(self) -> bytes:
        return cbor.dumps(_encode(self))

    def sign(self, signer: cose.Signer) -> bytes:
        if signer.public.spki() != self.collector_key:
            raise BadData(Reason.KEY_MISMATCH, "bundle must be signed by its collector key")
        return cose.sign1(signer, self.to_cbor(), BUNDLE_CONTENT_TYPE)


def _entry(e: LoggedEntry) -> list[Any]:
    return [e.leaf, e.log_index, list(e.proof)]


def _encode(b: EvidenceBundle) -> dict[int, Any]:
    r = b.request
    a = b.anchor
    return {
        1: BUNDLE_VERSION,
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


def _bytes_list(v: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(v, list | tuple) or not all(isinstance(x, bytes) for x in v):
        raise BadData(Reason.MALFORMED, f"{what} must be a list of byte strings")
    return tuple(v)


def _logged(v: Any) -> LoggedEntry:
    if not (isinstance(v, list | tuple) and len(v) == 3):
        raise BadData(Reason.MALFORMED, "a logged entry is [leaf, index, proof]")
    leaf, index, proof = v
    if not isinstance(leaf, bytes) or not isinstance(index, int):
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
    if not (isinstance(signed, bytes) and isinstance(index, int)):
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
    if not isinstance(v, Mapping) or v.get(1) != BUNDLE_VERSION:
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
    if not all(isinstance(t, str) for t in texts) or not all(isinstance(i, int) for i in ints):
        raise BadData(Reason.MALFORMED, "bundle text or time fields have the wrong types")
    if not all(isinstance(x, bytes) for x in (b.collector_key, b.device_key, b.checkpoint)):
        raise BadData(Reason.MALFORMED, "bundle key or checkpoint fields must be bytes")
    a = b.anchor
    if a is not None and not (
        isinstance(a.contract, bytes) and len(a.contract) == 20
        and isinstance(a.tx_hash, bytes) and len(a.tx_hash) == 32
        and isinstance(a.block_hash, bytes) and len(a.block_hash) == 32
        and isinstance(a.root, bytes) and len(a.root) == 32
        and all(isinstance(x, int) for x in (a.chain_id, a.block_number, a.tree_size, a.block_time))
    ):  # fmt: skip
        raise BadData(Reason.MALFORMED, "anchor reference fields have the wrong types")


@dataclass(frozen=True)
class SignedBundle:
    """A parsed bundle with its COSE envelope; the signature is checked by `evidence`."""

    raw: bytes
    bundle: EvidenceBundle
    message: cose.Sign1


def parse_bundle(data: bytes) -> SignedBundle:
    """Parse (not verify) a bundle file. Raises BadData for anything malformed or too large."""
    message = cose.parse_sign1(data, MAX_BUNDLE_SIZE)
    if message.content_type != BUNDLE_CONTENT_TYPE:
        raise BadData(Reason.MALFORMED, f"not an evidence bundle: {message.content_type!r}")
    # Not re-encoded to check its form: a bundle's bytes are pinned by the collector's
    # signature, and everything inside that matters is checked on its own (a 10 MB bundle
    # would otherwise cost a second full encoding).
    value = cbor.loads(message.payload, MAX_BUNDLE_SIZE, "evidence bundle", canonical=False)
    return SignedBundle(data, _parse(value), message)


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
