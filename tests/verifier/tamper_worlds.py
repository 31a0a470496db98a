"""Worlds for the version-2 tamper suite: a bundle of real RAV4 CAN frames and real NMEA
sentences, and small synthetic worlds whose logs a test shapes (a revocation, a new owner,
a second installation) before the bundle is issued.

Every world is built by the core alone through tests/core/bundle_v2_factory.py, with keys
and salt keys from fixed seeds, so a failing case is reproducible byte for byte.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import cbor2

from notary_core import batch, bundle, cbor, cose, grant, header, logleaf
from notary_core import records as r
from tests.core import bundle_v2_factory as f
from tests.core.bundle_factory import SEC, T0
from tests.datasets import RAV4_CAN

RAV4_LOG = RAV4_CAN  # gzipped in data/ (tests/datasets.py)
NMEA_LOG = "nmea/gpsd-ublox-neo-m9n-nmea.log"
RAV4_SCOPE = ("can0#0aa", "can0#0b4", "can0#224", "gnss")
"""Wheel speeds, vehicle speed, brake (Toyota ids), and the position: a typical claim."""
RAV4_BATCHES = 6


def _nmea_status(sentence: bytes) -> r.NmeaStatus:
    body, star, tail = sentence[1:].partition(b"*")
    if not star:
        return r.NmeaStatus.NO_CHECKSUM
    x = 0
    for c in body:
        x ^= c
    return r.NmeaStatus.CHECKSUM_OK if tail.upper() == b"%02X" % x else r.NmeaStatus.CHECKSUM_BAD


@cache
def rav4_records(data: Path, seconds: int = RAV4_BATCHES) -> tuple[tuple[bytes, ...], ...]:
    """`seconds` one-second batches of the real drive: every CAN frame of the trace as
    captured (candump log), and 10 Hz GNSS with real u-blox NEO-M9N sentences."""
    can = r.CanEncoder("can0", r.ClockSource.GNSS)
    per: list[list[tuple[int, bytes]]] = [[] for _ in range(seconds)]
    t0: int | None = None
    with gzip.open(data / RAV4_LOG, "rt", encoding="ascii") as fh:
        for seq, line in enumerate(fh):
            ts, _bus, frame = line.split()
            t = round(float(ts.strip("()")) * 1e9)
            t0 = t if t0 is None else t0
            s = (t - t0) // SEC
            if s >= seconds:
                break
            cid, payload = frame.split("#")
            raw = bytes.fromhex(payload)
            flags = r.CanFlags.EXT if len(cid) > 3 else 0
            per[s].append((t - t0, can.encode(seq, t, T0 + t - t0, int(cid, 16), flags,
                                              len(raw), raw)))  # fmt: skip
    assert t0 is not None
    lines = (data / NMEA_LOG).read_bytes().splitlines()
    sentences = [x.rstrip(b"\r") for x in lines if x.startswith(b"$G")]
    for i in range(seconds * 10):
        dt = i * SEC // 10 + 5_000_000
        text = sentences[i % len(sentences)]
        rec = r.Record("gnss", i, t0 + dt, T0 + dt, r.ClockSource.GNSS,
                       r.NmeaSentence(_nmea_status(text), text))  # fmt: skip
        per[dt // SEC].append((dt, r.encode(rec)))
    return tuple(tuple(x for _, x in sorted(batch, key=lambda p: p[0])) for batch in per)


@dataclass
class Built:
    """A world, the parts of the bundle an honest collector issued in it, and the file."""

    w: f.World2
    parts: f.Parts
    good: bytes

    @property
    def b(self) -> bundle.EvidenceBundle:
        return self.parts.bundle

    def sign(self, b: bundle.EvidenceBundle) -> bytes:
        return b.sign(self.w.collector)


def issue(w: f.World2, scope: tuple[str, ...], window: tuple[int, int], **grant_changes: Any
          ) -> f.Parts:  # fmt: skip
    """Log the owner's grant of `scope`, then the parts of a bundle for `window`."""
    token = grant.issue(f.owner_grant(w, scope=scope, **grant_changes), w.owner)
    f.log_grant(w, token)
    return f.parts(w, window=window, scope=scope, grants=[token])


def rav4_world(data: Path, window: tuple[int, int] | None = None, early: bool = True) -> Built:
    """The RAV4 bundle: window 1.5 s .. 3.5 s of the drive, over CAN ids and GNSS; with
    `early`, the segment starts one batch before the window (a batch that does not meet it)."""
    batches = rav4_records(data)
    w = f.make_world2(n_batches=len(batches), records=lambda seq: list(batches[seq]))
    win = window or (T0 + 3 * SEC // 2, T0 + 7 * SEC // 2)
    p = issue(w, RAV4_SCOPE, win)
    seq0 = header.SignedHeader.parse(p.bundle.batches[0].signed_header).header.batch_seq
    if early and seq0 > 0:
        sb, _recs, index = w.batches[seq0 - 1]
        before = bundle.BatchEvidence(sb.signed.raw, index, tuple(p.tree.inclusion_proof(index)))
        p = f.Parts(replace(p.bundle, batches=(before, *p.bundle.batches)), p.tree)
    return Built(w, p, p.bundle.sign(w.collector))


def synthetic(n_batches: int = 6) -> f.World2:
    return f.make_world2(n_batches=n_batches, per_batch=50)


SYN_SCOPE = ("can0#0aa", "gnss")
SYN_WINDOW = (T0 + 1 * SEC, T0 + 3 * SEC)


def finish(w: f.World2, **kwargs: Any) -> Built:
    """The default synthetic bundle of `w` (grant logged by `parts`)."""
    p = f.parts(w, **kwargs)
    return Built(w, p, p.bundle.sign(w.collector))


def other_collector() -> cose.Signer:
    from tests.core.bundle_factory import _key

    return cose.Signer.from_key(_key(9))


def seal_one(
    w: f.World2, recs: list[bytes], *, version: int = 2, times: tuple[int, int] | None = None,
    payload_edit: Callable[[dict[int, Any]], dict[int, Any]] | None = None,
) -> None:  # fmt: skip
    """Seal the next batch of `w` (and log it) as the device would, but of any header
    version, with explicit times (an empty batch), or with its header map edited before the
    device signs it (a device that lies about its counts)."""
    prev = w.batches[-1][0].signed.header_hash if w.batches else header.GENESIS_PREV_HASH
    seq = len(w.batches)
    utcs = [r.decode(x).utc_ns for x in recs]
    first, last = times or (min(utcs), max(utcs))
    tmpl = header.BatchHeader(
        device_id=f.DEVICE, boot_id=bytes(16), batch_seq=seq, prev_header_hash=prev,
        record_count=0, merkle_root=bytes(32), first_mono_ns=first - T0, last_mono_ns=last - T0,
        first_utc_ns=first, last_utc_ns=last, clock_source=r.ClockSource.GNSS,
        clock_uncertainty_ns=1_000_000, streams={}, agent_version="vnotary-edge/0.2.0",
        config_hash=bytes(32), key_id=b"", version=version, counts={} if version >= 2 else None,
    )  # fmt: skip
    key = f.salt_key(seq, b"tamper")
    sb = batch.seal(tmpl, recs, key, w.device)
    if payload_edit is not None:
        fields = payload_edit(dict(cbor2.loads(sb.signed.payload)))
        raw = cose.sign1(w.device, cbor.dumps(fields), header.HEADER_CONTENT_TYPE)
        sb = batch.SealedBatch(header.SignedHeader.parse(raw), key, sb.records_block)
    h = sb.signed.header
    index = w.log.append(logleaf.BatchLeaf(sb.signed.header_hash, h.batch_seq,
                                           h.device_id).to_leaf())  # fmt: skip
    w.batches.append((sb, recs, index))


def world_of(batches: list[list[bytes]], **seal: Any) -> f.World2:
    """A world with the usual enrolment, installation and owner, and these batches."""
    w = f.World2()
    f.enrol(w)
    f.install(w)
    f.bind_owner(w)
    for recs in batches:
        seal_one(w, recs, **seal)
    return w
