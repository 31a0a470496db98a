"""A complete, valid evidence bundle built with the core alone: a stand-in collector log.

Used by the core and verifier tests (the tamper suite re-signs each corruption with the
collector key, as a dishonest collector would, so that the inner checks are what fail).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import batch, bundle, checkpoint, cose, grant, header, logleaf, merkle, witness
from notary_core import records as r
from notary_core.evidence import Trust

T0 = 1_533_226_488_000_000_000  # 2018-08-02T16:14:48Z, the RAV4 drive
SEC = 1_000_000_000
VEHICLE = "vin-2T3RFREV7HW000001"
DEVICE = "veh-0001"
ORIGIN = "collector.example/vnotary/log"


def _key(seed: int) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


@dataclass
class World:
    device: cose.Signer = field(default_factory=lambda: cose.Signer.from_key(_key(1)))
    collector: cose.Signer = field(default_factory=lambda: cose.Signer.from_key(_key(2)))
    log_key: checkpoint.NoteSigner = field(
        default_factory=lambda: checkpoint.NoteSigner(ORIGIN, _key(3))
    )
    owner: ed25519.Ed25519PrivateKey = field(default_factory=lambda: _key(4))
    insurer: ed25519.Ed25519PrivateKey = field(default_factory=lambda: _key(5))
    adjuster: ed25519.Ed25519PrivateKey = field(default_factory=lambda: _key(6))
    witnesses: tuple[witness.WitnessSigner, ...] = field(
        default_factory=lambda: tuple(
            witness.WitnessSigner(f"witness.example/w{i}", _key(20 + i)) for i in (1, 2, 3)
        )
    )
    leaves: list[bytes] = field(default_factory=list)
    batches: list[tuple[batch.SealedBatch, list[bytes], int]] = field(default_factory=list)

    def log(self, leaf: bytes) -> int:
        self.leaves.append(leaf)
        return len(self.leaves) - 1

    def trust(self, quorum: int = 2, witnesses: bool = True) -> Trust:
        """Pinned: the log and collector keys, and (by default) the three witnesses with a
        quorum of two; `build` has the first two cosign."""
        return Trust(
            log_vkeys=frozenset({self.log_key.verifier.vkey}),
            collector_keys=frozenset({self.collector.public.spki()}),
            witnesses=frozenset(w.verifier.vkey for w in self.witnesses) if witnesses
            else frozenset(),
            witness_quorum=quorum if witnesses else 0,
        )  # fmt: skip


def batch_records(seq: int, per_batch: int) -> list[bytes]:
    """One second of a small vehicle: CAN speed and brake, other ids, GNSS, IMU."""
    can = r.CanEncoder("can0", r.ClockSource.GNSS)
    out = []
    for i in range(per_batch):
        t = T0 + seq * SEC + i * SEC // per_batch
        mono = t - T0 + 10 * SEC
        kind = i % 5
        if kind == 0:
            out.append(
                can.encode(seq * per_batch + i, mono, t, 0x0AA, 0, 8, bytes([seq, i % 256]) * 4)
            )
        elif kind == 1:
            out.append(can.encode(seq * per_batch + i, mono, t, 0x224, 0, 8, bytes([i % 2]) * 8))
        elif kind == 2:
            out.append(can.encode(seq * per_batch + i, mono, t, 0x3B7, 0, 8, bytes(8)))
        elif kind == 3:
            nmea = r.NmeaSentence(
                r.NmeaStatus.CHECKSUM_OK,
                b"$GPGGA,161448.00,3743.2598,N,12228.3383,W,1,08,0.9,33.4,M,,M,,*4D",
            )
            out.append(
                r.encode(r.Record("gnss", seq * per_batch + i, mono, t, r.ClockSource.GNSS, nmea))
            )
        else:
            imu = r.ImuSample((1.0 + i / 100, -0.1, -9.8), (0.01, 0.0, 0.002))
            out.append(
                r.encode(r.Record("imu", seq * per_batch + i, mono, t, r.ClockSource.GNSS, imu))
            )
    return out  # fmt: skip


def make_world(n_batches: int = 6, per_batch: int = 50) -> World:
    w = World()
    w.log(
        logleaf.RegistryEvent(
            logleaf.RegistryAction.ENROL,
            DEVICE,
            w.device.public.spki(),
            w.device.kid,
            T0 - 86400 * SEC,
            None,
            T0 - 86400 * SEC,
        ).to_leaf()
    )
    w.log(
        logleaf.AccessEvent(
            logleaf.AccessAction.DEVICE_INSTALLED,
            VEHICLE,
            "operator",
            DEVICE,
            T0 - 86400 * SEC,
            T0 + 365 * 86400 * SEC,
            T0 - 86400 * SEC,
        ).to_leaf()
    )
    w.log(
        logleaf.AccessEvent(
            logleaf.AccessAction.OWNER_BOUND,
            VEHICLE,
            "operator",
            grant.thumbprint(w.owner.public_key()),
            T0 - 30 * 86400 * SEC,
            T0 + 365 * 86400 * SEC,
            T0 - 30 * 86400 * SEC,
        ).to_leaf()
    )
    prev = header.GENESIS_PREV_HASH
    for seq in range(n_batches):
        recs = batch_records(seq, per_batch)
        tmpl = header.BatchHeader(
            device_id=DEVICE,
            boot_id=bytes(16),
            batch_seq=seq,
            prev_header_hash=prev,
            record_count=0,
            merkle_root=bytes(32),
            first_mono_ns=r.decode(recs[0]).mono_ns,
            last_mono_ns=r.decode(recs[-1]).mono_ns,
            first_utc_ns=r.decode(recs[0]).utc_ns,
            last_utc_ns=r.decode(recs[-1]).utc_ns,
            clock_source=r.ClockSource.GNSS,
            clock_uncertainty_ns=1_000_000,
            streams={"can0": header.StreamCounters(30, 30)},
            agent_version="vnotary-edge/0.1.0",
            config_hash=bytes(32),
            key_id=b"",
            counts={},
        )
        sb = batch.seal(tmpl, recs, os.urandom(32), w.device)
        prev = sb.signed.header_hash
        w.batches.append((sb, recs, w.log(logleaf.batch_leaf(sb.signed.header_hash))))
    return w  # fmt: skip


def owner_grant(w: World, **changes: Any) -> grant.Grant:
    g = grant.Grant(
        jti="g-1", iss=grant.thumbprint(w.owner.public_key()),
        sub=grant.thumbprint(w.insurer.public_key()), vehicle=VEHICLE,
        window_start_ns=T0, window_end_ns=T0 + 10 * SEC, scope=("can0#0aa", "can0#224", "gnss"),
        signals=("SPEED", "BRAKE_PRESSED"), actions=("read", "export"), purpose="claim 42",
        nbf=T0 // SEC - 3600, exp=T0 // SEC + 86400 * 30, iat=T0 // SEC - 3600, depth=1,
    )  # fmt: skip
    return replace(g, **changes)


def build(
    w: World,
    window: tuple[int, int] = (T0 + 1 * SEC, T0 + 3 * SEC),
    scope: tuple[str, ...] = ("can0#0aa", "gnss"),
    grants: list[str] | None = None,
    extra_leaves: tuple[bytes, ...] = (),
    device_leaves: tuple[bytes, ...] = (),
    issued: int = T0 + 2 * 86400 * SEC,
    anchored: bool = True,
    select: slice = slice(None),
    cosigners: tuple[int, ...] = (0, 1),
) -> bytes:
    """Log the grant(s), checkpoint, disclose, sign: a bundle as the collector would issue."""
    if grants is None:
        grants = [grant.issue(owner_grant(w), w.owner)]
    leaves = list(w.leaves)
    grant_entries = []
    for token in grants:
        g, _ = grant.open_grant(token)
        leaf = logleaf.AccessEvent(
            logleaf.AccessAction.GRANT,
            g.vehicle,
            g.iss,
            g.jti,
            g.window_start_ns,
            g.window_end_ns,
            T0,
        ).to_leaf()
        leaves.append(leaf)
        grant_entries.append(len(leaves) - 1)
    for leaf in extra_leaves:
        leaves.append(leaf)
        grant_entries.append(len(leaves) - 1)
    device_entries = [0]
    for leaf in device_leaves:
        leaves.append(leaf)
        device_entries.append(len(leaves) - 1)
    tree = merkle.MerkleTree([merkle.hash_leaf(x) for x in leaves])
    cp = checkpoint.Checkpoint(ORIGIN, tree.size, tree.root)
    note = checkpoint.sign_checkpoint(cp, [w.log_key])
    note = witness.add_signatures(note, [w.witnesses[i].cosign(cp.body(), T0 // SEC + 3 * 86400)
                                         for i in cosigners])  # fmt: skip

    def entry(i: int) -> bundle.LoggedEntry:
        return bundle.LoggedEntry(leaves[i], i, tuple(tree.inclusion_proof(i)))

    evidence = []
    for sb, recs, index in w.batches[select]:
        h = sb.signed.header
        if h.last_utc_ns < window[0] - SEC or h.first_utc_ns > window[1] + SEC:
            continue
        disclosed, multi = bundle.disclose(recs, sb.salt_key, window, scope)
        evidence.append(
            bundle.BatchEvidence(
                sb.signed.raw, index, tuple(tree.inclusion_proof(index)), disclosed, multi
            )
        )
    b = bundle.EvidenceBundle(
        bundle_id="b-1", issued_utc_ns=issued, log_origin=ORIGIN, log_vkey=w.log_key.verifier.vkey,
        collector_key=w.collector.public.spki(),
        request=bundle.Request(VEHICLE, DEVICE, window[0], window[1], scope, "claim 42",
                               grant.open_grant(grants[-1])[0].sub),
        device_key=w.device.public.spki(), device_events=tuple(entry(i) for i in device_entries),
        vehicle_events=(entry(1), entry(2)), grants=tuple(grants),
        grant_events=tuple(entry(i) for i in grant_entries), batches=tuple(evidence),
        checkpoint=note,
        anchor=bundle.AnchorRef(31337, bytes([0xAA]) * 20, bytes([0xBB]) * 32, 7,
                                bytes([0xCC]) * 32, cp.size, cp.root, T0 // SEC + 3 * 86400)
        if anchored else None,
        views={"note": "decoded views are not evidence"},
    )  # fmt: skip
    return b.sign(w.collector)
