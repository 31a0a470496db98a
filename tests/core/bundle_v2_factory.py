"""A complete, valid version-2 evidence bundle built with the core alone.

`Log` is a stand-in collector log: it links each event into its chains (heads.Index.linked),
applies every leaf to the index of heads, and appends the index leaf before it signs a
checkpoint, exactly as docs/protocol.md §7.3 says a collector must. `build` discloses a
window as an honest collector would; the tamper tests edit its parts and re-sign them with
the collector key (a dishonest collector), so the inner checks are what must catch them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from notary_core import (
    batch,
    bundle,
    checkpoint,
    cose,
    grant,
    header,
    heads,
    logleaf,
    merkle,
    witness,
)
from notary_core import records as r
from notary_core.evidence import Trust
from tests.core.bundle_factory import DEVICE, ORIGIN, SEC, T0, VEHICLE, _key, batch_records

OPEN = 2**63 - 1


@dataclass
class Log:
    leaves: list[bytes] = field(default_factory=list)
    index: heads.Index = field(default_factory=heads.Index)

    def append(self, leaf: bytes) -> int:
        i = len(self.leaves)
        self.index.apply(i, leaf)
        self.leaves.append(leaf)
        return i

    def event(self, e: logleaf.RegistryEvent | logleaf.AccessEvent) -> int:
        return self.append(self.index.linked(e).to_leaf())

    def checkpoint(self, signer: checkpoint.NoteSigner) -> tuple[bytes, merkle.MerkleTree]:
        self.append(self.index.index_leaf())
        tree = merkle.MerkleTree([merkle.hash_leaf(x) for x in self.leaves])
        note = checkpoint.sign_checkpoint(checkpoint.Checkpoint(ORIGIN, tree.size, tree.root),
                                          [signer])  # fmt: skip
        return note, tree


@dataclass
class World2:
    device: cose.Signer = field(default_factory=lambda: cose.Signer.from_key(_key(1)))
    collector: cose.Signer = field(default_factory=lambda: cose.Signer.from_key(_key(2)))
    log_key: checkpoint.NoteSigner = field(
        default_factory=lambda: checkpoint.NoteSigner(ORIGIN.split("/")[0], _key(3))
    )
    owner: Any = field(default_factory=lambda: _key(4))
    insurer: Any = field(default_factory=lambda: _key(5))
    adjuster: Any = field(default_factory=lambda: _key(6))
    log: Log = field(default_factory=Log)
    batches: list[tuple[batch.SealedBatch, list[bytes], int]] = field(default_factory=list)
    witnesses: tuple[witness.WitnessSigner, ...] = field(
        default_factory=lambda: tuple(
            witness.WitnessSigner(f"witness.example/w{i}", _key(20 + i)) for i in (1, 2, 3)
        )
    )

    def trust(self, quorum: int = 2, witnesses: bool = True) -> Trust:
        """Pinned: the log and collector keys and (by default) the three witnesses with a
        quorum of two; `parts` has the first two cosign (§7.2, §12.3 trust.root)."""
        return Trust(
            log_vkeys=frozenset({self.log_key.verifier.vkey}),
            collector_keys=frozenset({self.collector.public.spki()}),
            witnesses=frozenset(w.verifier.vkey for w in self.witnesses) if witnesses
            else frozenset(),
            witness_quorum=quorum if witnesses else None,
        )  # fmt: skip

    def cosign(self, note: bytes, cosigners: tuple[int, ...] = (0, 1)) -> bytes:
        body = note[: note.index(b"\n\n") + 1]
        return witness.add_signatures(
            note, [self.witnesses[i].cosign(body, T0 // SEC + 3 * 86400) for i in cosigners]
        )

    def thumb(self, key: Any) -> str:
        return grant.thumbprint(key.public_key())


def enrol(w: World2, at: int = T0 - 86400 * SEC) -> int:
    return w.log.event(
        logleaf.RegistryEvent(
            logleaf.RegistryAction.ENROL, DEVICE, w.device.public.spki(), w.device.kid, at, None, at
        )
    )


def install(w: World2, vehicle: str = VEHICLE, start: int = T0 - 86400 * SEC,
            end: int = OPEN) -> int:  # fmt: skip
    return w.log.event(
        logleaf.AccessEvent(
            logleaf.AccessAction.DEVICE_INSTALLED, vehicle, "operator", DEVICE, start, end, start
        )
    )


def bind_owner(w: World2, owner: Any = None, start: int = T0 - 30 * 86400 * SEC,
               end: int = OPEN) -> int:  # fmt: skip
    who = w.thumb(owner or w.owner)
    return w.log.event(
        logleaf.AccessEvent(
            logleaf.AccessAction.OWNER_BOUND, VEHICLE, "operator", who, start, end, start
        )
    )


def salt_key(seq: int, seed: bytes = b"vnotary-test") -> bytes:
    """A batch's salt key derived from a seed: the factory's bundles are byte-identical on
    every run (the vectors depend on it). A real agent draws 32 random bytes (§3)."""
    return hashlib.sha256(seed + b"/salt-key/" + seq.to_bytes(8, "big")).digest()


Records = Callable[[int], list[bytes]]
"""The records of batch `seq` (the synthetic `batch_records`, or real CAN frames)."""


def seal_batches(
    w: World2, n: int, per_batch: int = 50, first: int = 0, records: Records | None = None,
    beacon: header.Beacon | None = None, uncertainty_ns: int = 1_000_000,
) -> None:  # fmt: skip
    prev = w.batches[-1][0].signed.header_hash if w.batches else header.GENESIS_PREV_HASH
    for seq in range(first, first + n):
        recs = records(seq) if records is not None else batch_records(seq, per_batch)
        times = [r.decode(x).utc_ns for x in recs]
        monos = [r.decode(x).mono_ns for x in recs]
        tmpl = header.BatchHeader(
            device_id=DEVICE, boot_id=bytes(16), batch_seq=seq, prev_header_hash=prev,
            record_count=0, merkle_root=bytes(32), first_mono_ns=min(monos),
            last_mono_ns=max(monos), first_utc_ns=min(times), last_utc_ns=max(times),
            clock_source=r.ClockSource.GNSS, clock_uncertainty_ns=uncertainty_ns,
            streams={"can0": header.StreamCounters(30, 30)}, agent_version="vnotary-edge/0.2.0",
            config_hash=bytes(32), key_id=b"", counts={}, beacon=beacon,
        )  # fmt: skip
        sb = batch.seal(tmpl, recs, salt_key(seq), w.device)
        prev = sb.signed.header_hash
        h = sb.signed.header
        index = w.log.append(logleaf.BatchLeaf(sb.signed.header_hash, h.batch_seq,
                                               h.device_id).to_leaf())  # fmt: skip
        w.batches.append((sb, recs, index))


def make_world2(n_batches: int = 6, per_batch: int = 50, records: Records | None = None,
                beacon: header.Beacon | None = None) -> World2:  # fmt: skip
    w = World2()
    enrol(w)
    install(w)
    bind_owner(w)
    seal_batches(w, n_batches, per_batch, records=records, beacon=beacon)
    return w


def owner_grant(w: World2, **changes: Any) -> grant.Grant:
    g = grant.Grant(
        jti="g-1", iss=w.thumb(w.owner), sub=w.thumb(w.insurer), vehicle=VEHICLE,
        window_start_ns=T0, window_end_ns=T0 + 10 * SEC, scope=("can0#0aa", "can0#224", "gnss"),
        signals=("SPEED", "BRAKE_PRESSED"), actions=("read", "export"), purpose="claim 42",
        nbf=T0 // SEC - 3600, exp=T0 // SEC + 86400 * 30, iat=T0 // SEC - 3600, depth=1,
    )  # fmt: skip
    return replace(g, **changes)


def log_grant(w: World2, token: str) -> int:
    g, _ = grant.open_grant(token)
    return w.log.event(logleaf.AccessEvent(logleaf.AccessAction.GRANT, g.vehicle, g.iss, g.jti,
                                           g.window_start_ns, g.window_end_ns, T0))  # fmt: skip


@dataclass
class Parts:
    """Everything `assemble` signs, open to edits by a tamper test."""

    bundle: bundle.EvidenceBundle
    tree: merkle.MerkleTree


def parts(
    w: World2,
    window: tuple[int, int] = (T0 + 1 * SEC, T0 + 3 * SEC),
    scope: tuple[str, ...] = ("can0#0aa", "gnss"),
    grants: list[str] | None = None,
    issued: int = T0 + 2 * 86400 * SEC,
    anchored: bool = True,
    event: tuple[int, str] | None = (T0 + 2 * SEC, "hard braking"),
    cosigners: tuple[int, ...] = (0, 1),
) -> Parts:
    """Log the grant(s) (unless given as already logged), checkpoint, disclose: the parts of
    a bundle as an honest collector builds them."""
    if grants is None:
        grants = [grant.issue(owner_grant(w), w.owner)]
        for token in grants:
            log_grant(w, token)
    note, tree = w.log.checkpoint(w.log_key)
    note = w.cosign(note, cosigners)
    size = tree.size
    idx = w.log.index
    dev_value, dev_sib = idx.prove(heads.device_key(DEVICE))
    veh_value, veh_sib = idx.prove(heads.vehicle_key(VEHICLE))
    d, v = idx.device(DEVICE), idx.vehicle(VEHICLE)
    dev_chain = _chain_leaves(w.log, d.chain, "device")
    rule_chain = _chain_leaves(w.log, v.rules, "rule")
    start, end = window
    chosen = [x for x in w.batches if x[2] < size - 1]
    first = max((i for i, x in enumerate(chosen) if x[0].signed.header.first_utc_ns <= start),
                default=0)  # fmt: skip
    last = next((i for i, x in enumerate(chosen) if x[0].signed.header.last_utc_ns >= end),
                len(chosen) - 1)  # fmt: skip
    evidence = []
    for sb, recs, index in chosen[first : last + 1]:
        h = sb.signed.header
        if h.first_utc_ns <= end and h.last_utc_ns >= start:
            disclosed, multi = bundle.disclose_batch(recs, sb.salt_key, scope)
        else:
            disclosed, multi = (), ()
        proof = tuple(tree.inclusion_proof(index))
        evidence.append(bundle.BatchEvidence(sb.signed.raw, index, proof, disclosed, multi))
    b = bundle.EvidenceBundle(
        bundle_id="b-2", issued_utc_ns=issued, log_origin=ORIGIN, log_vkey=w.log_key.verifier.vkey,
        collector_key=w.collector.public.spki(),
        request=bundle.Request(VEHICLE, DEVICE, start, end, scope, "claim 42",
                               grant.open_grant(grants[-1])[0].sub, event),
        device_key=b"", device_events=(), vehicle_events=(), grants=tuple(grants),
        grant_events=(), batches=tuple(evidence), checkpoint=note,
        anchor=bundle.AnchorRef(31337, bytes([0xAA]) * 20, bytes([0xBB]) * 32, 7,
                                bytes([0xCC]) * 32, size, tree.root, T0 // SEC + 3 * 86400)
        if anchored else None,
        views={"note": "decoded views are not evidence"}, version=2,
        device_chain=dev_chain, rule_chain=rule_chain,
        index=bundle.IndexProof(w.log.leaves[size - 1], tuple(tree.inclusion_proof(size - 1)),
                                dev_value, dev_sib, veh_value, veh_sib),
    )  # fmt: skip
    return Parts(b, tree)


def _chain_leaves(log: Log, head: heads.ChainHead, kind: str) -> tuple[bytes, ...]:
    """Walk a chain back from its head (kind: "device" or "rule")."""
    out: list[bytes] = []
    index = head.last_index
    while index is not None:
        leaf = log.leaves[index]
        out.append(leaf)
        e = logleaf.parse_leaf(leaf)
        if isinstance(e, logleaf.RegistryEvent):
            link = e.link
        else:
            assert isinstance(e, logleaf.AccessEvent)
            link = e.device_link if kind == "device" else e.rule_link
        assert link is not None
        index = link.prev_index
    return tuple(reversed(out))


def build2(w: World2, **kwargs: Any) -> bytes:
    p = parts(w, **kwargs)
    return p.bundle.sign(w.collector)


# ---- edits a dishonest collector makes (re-signed with its key; device and owner signatures
# untouched) ---------------------------------------------------------------------------------


def resign_payload(w: World2, payload: bytes, version: int = 2) -> bytes:
    """A bundle file around any payload bytes, signed by the collector key."""
    message = cose.sign1(w.collector, payload, bundle.BUNDLE_CONTENT_TYPE)
    return bundle.MAGIC + bytes([version]) + message


def batch_of(w: World2, x: bundle.BatchEvidence) -> tuple[batch.SealedBatch, list[bytes]]:
    """The sealed batch (and its records) that a bundle's batch evidence discloses from."""
    for sb, recs, index in w.batches:
        if index == x.log_index:
            return sb, recs
    raise KeyError(x.log_index)


def redisclose(w: World2, x: bundle.BatchEvidence, keep: list[int]) -> bundle.BatchEvidence:
    """`x` disclosing only the records at `keep` (leaf indices), every other leaf hash moved
    into the multiproof: the proof still leads to the signed root."""
    sb, recs = batch_of(w, x)
    if not keep:
        return replace(x, disclosed=(), multiproof=())
    chosen = tuple(bundle.Disclosed(i, recs[i], batch.salt(sb.salt_key, i)) for i in keep)
    tree = merkle.MerkleTree(batch.leaf_hashes(sb.salt_key, recs))
    return replace(x, disclosed=chosen, multiproof=tuple(tree.multiproof(keep)))


def with_batch(
    b: bundle.EvidenceBundle, pos: int, x: bundle.BatchEvidence
) -> bundle.EvidenceBundle:
    batches = list(b.batches)
    batches[pos] = x
    return replace(b, batches=tuple(batches))
