"""Verification of a version-2 evidence bundle (docs/protocol.md §12.3).

What version 2 adds to version 1 is proof of completeness: the index of heads (§7.3) at
the checkpoint proves the device's newest batch and the heads of the device and rule
chains; the chains, walked link by link from those heads, prove that the bundle holds every
installation, ownership, grant, revocation and key event that bears on it; the headers'
per-item counts (§4.3) prove that every record of every granted item in the window was
disclosed. Signatures, proofs and grants are checked as in version 1 (notary_core.evidence).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from notary_core import checkpoint, cose, heads, limits, merkle
from notary_core import evidence as v1
from notary_core import grant as grants_mod
from notary_core import records as rec
from notary_core.bundle import BatchEvidence, EvidenceBundle, LoggedEntry, SignedBundle
from notary_core.errors import BadData, NotaryError, Reason, Unreachable
from notary_core.header import NON_CAN_ITEM, BatchHeader, SignedHeader, item_key
from notary_core.logleaf import (
    DEVICE_ACTIONS,
    RULE_ACTIONS,
    AccessAction,
    AccessEvent,
    BatchLeaf,
    IndexLeaf,
    Link,
    RegistryAction,
    RegistryEvent,
)
from notary_core.native import accel as _accel

_UTC = struct.Struct(">q")
_UTC_OFFSET = 19  # §2: record version, kind, clock, u64 seq, u64 mono_ns, then i64 utc_ns
_EXT, _ERR = 0x8000_0000, 0x2000_0000


@dataclass(frozen=True)
class _Heads:
    device: heads.DeviceHead
    vehicle: heads.VehicleHead


def verify(
    run: v1._Run,
    signed: SignedBundle,
    trust: v1.Trust | None,
    lookup: v1.AnchorLookup | None,
    block_lookup: v1.BlockLookup | None = None,
) -> None:
    b = signed.bundle
    with run.check("bundle.signature") as c:
        signed.message.verify(cose.PublicKey.from_spki(b.collector_key))
        c.detail = "signed by the collector key it names (bundle version 2)"
    cp = v1._checkpoint(run, b)
    v1._trust(run, b, trust, lookup)
    hd = _index(run, b, cp)
    device_chain = _chain(run, "chains.device", b.device_chain,
                          None if hd is None else hd.device.chain,
                          _device_link(b.request.device_id), cp)  # fmt: skip
    rule_chain = _chain(run, "chains.rules", b.rule_chain, None if hd is None else hd.vehicle.rules,
                        _rule_link(b.request.vehicle_id), cp)  # fmt: skip
    keys = _device_keys(run, b, device_chain)
    headers = _batches(run, b, cp, keys, hd)
    if block_lookup is not None:
        from notary_core.evidence_time import check_beacons  # noqa: PLC0415 - builds on v1

        check_beacons(run, headers, block_lookup)
    if b.timestamps or (trust is not None and trust.tsa_certs):
        # asn1crypto and cryptography.x509 cost ~0.3 s to import: only for a bundle or a
        # trust file that has something to check (check_timestamps is a no-op otherwise)
        from notary_core.evidence_tsa import check_timestamps  # noqa: PLC0415 - builds on v1

        check_timestamps(run, b, trust, headers)
    _binding_and_grants(run, b, device_chain, rule_chain)
    found = dict(run.t.summary)  # completeness per item, boundary records: kept, not replaced
    v1._summarise(run.t, b, headers, cp)
    run.t.summary.update(found)
    run.t.summary["witnesses"] = run.witnesses
    if hd is not None:
        d = hd.device
        run.t.summary["device_head"] = {"batch_seq": d.batch_seq, "log_index": d.batch_index}


# ---- the index -----------------------------------------------------------------------------


def _index(run: v1._Run, b: EvidenceBundle, cp: checkpoint.Checkpoint | None) -> _Heads | None:
    x = b.index
    found: _Heads | None = None
    with run.check("index.leaf") as c:
        if cp is None or x is None:
            raise Unreachable("no valid checkpoint to prove the index against")
        leaf = IndexLeaf.from_leaf(x.leaf)
        if cp.size < 1 or leaf.covered != cp.size - 1:
            raise BadData(
                Reason.INDEX_MISMATCH,
                f"the index leaf covers {leaf.covered}, the checkpoint has {cp.size}",
            )
        v1._in_log(cp, LoggedEntry(x.leaf, cp.size - 1, x.leaf_proof), "the index leaf")
        c.detail = f"index of heads over the log's first {leaf.covered} leaves, at {cp.size - 1}"
    with run.check("index.heads") as c:
        if cp is None or x is None:
            raise Unreachable("no index leaf to prove the heads against")
        root = IndexLeaf.from_leaf(x.leaf).root
        r = b.request
        heads.verify_head(root, heads.device_key(r.device_id), x.device_value, x.device_siblings)
        heads.verify_head(root, heads.vehicle_key(r.vehicle_id), x.vehicle_value,
                          x.vehicle_siblings)  # fmt: skip
        found = _Heads(heads.DeviceHead.parse(x.device_value),
                       heads.VehicleHead.parse(x.vehicle_value))  # fmt: skip
        d = found.device
        c.detail = (
            f"device {r.device_id}: newest batch {d.batch_seq} (log index "
            f"{d.batch_index}), {d.chain.count} device entries; vehicle {r.vehicle_id}: "
            f"{found.vehicle.entries.count} entries, {found.vehicle.rules.count} rules"
        )
    return found


# ---- chains of entries ---------------------------------------------------------------------

Parsed = RegistryEvent | AccessEvent
LinkOf = Callable[[bytes], tuple[Parsed, Link | None]]


def _device_link(device_id: str) -> LinkOf:
    def link(leaf: bytes) -> tuple[Parsed, Link | None]:
        if leaf[:1] == b"\x02":
            e = RegistryEvent.from_leaf(leaf)
            return e, e.link if e.device_id == device_id else None
        a = AccessEvent.from_leaf(leaf)
        ok = a.action in DEVICE_ACTIONS and a.subject == device_id
        return a, a.device_link if ok else None

    return link


def _rule_link(vehicle_id: str) -> LinkOf:
    def link(leaf: bytes) -> tuple[Parsed, Link | None]:
        a = AccessEvent.from_leaf(leaf)
        ok = a.vehicle_id == vehicle_id and a.action in RULE_ACTIONS
        return a, a.rule_link if ok else None

    return link


def _chain(
    run: v1._Run, name: str, entries: Sequence[bytes], head: heads.ChainHead | None,
    link_of: LinkOf, cp: checkpoint.Checkpoint | None,
) -> list[tuple[int, Parsed]] | None:  # fmt: skip
    """Walk a chain back from its proven head: every entry, none left out (§12.3). None
    when the chain is not proven (no head, or a fault): later checks must not read a
    half-walked chain as the vehicle's or the device's history."""
    out: list[tuple[int, Parsed]] = []
    proven = False
    with run.check(name) as c:
        if head is None or cp is None:
            raise Unreachable("no proven head to walk the chain from")
        if len(entries) != head.count:
            raise BadData(
                Reason.ENTRY_OMITTED,
                f"the index proves {head.count} entries, the bundle holds {len(entries)}",
            )
        if head.count == 0:
            c.detail = "no entries"
            return out
        index, want = head.last_index, head.last_hash
        for n in range(len(entries) - 1, -1, -1):
            leaf = entries[n]
            parsed, link = link_of(leaf)
            if link is None or heads.leaf_hash(leaf) != want or index is None:
                raise BadData(Reason.ENTRY_OMITTED, f"entry {n} of the chain is not the one named")
            if link.n != n or index >= cp.size - 1:
                raise BadData(Reason.ENTRY_OMITTED, f"entry {n} of the chain is out of place")
            out.append((index, parsed))
            if link.prev_index is not None and link.prev_index >= index:
                raise BadData(Reason.ENTRY_OMITTED, f"entry {n} names a later entry before it")
            index, want = link.prev_index, link.prev_hash
        out.reverse()
        proven = True
        c.detail = f"{len(out)} entries, linked from the first to the proven head"
    return out if proven else None


# ---- device keys and batches ---------------------------------------------------------------


def _device_keys(
    run: v1._Run, b: EvidenceBundle, chain: list[tuple[int, Parsed]] | None
) -> dict[bytes, tuple[cose.PublicKey, list[RegistryEvent]]]:
    keys: dict[bytes, tuple[cose.PublicKey, list[RegistryEvent]]] = {}
    with run.check("device.keys") as c:
        if chain is None:
            raise Unreachable("the device chain is not proven: no key events to rely on")
        events = [e for _, e in chain if isinstance(e, RegistryEvent)]
        for e in events:
            if e.action in (RegistryAction.ENROL, RegistryAction.ROTATE) and e.key_id not in keys:
                key = cose.PublicKey.from_spki(e.key_spki)
                if key.kid != e.key_id:
                    raise BadData(Reason.KEY_MISMATCH, "an enrolment names another key id")
                keys[e.key_id] = (key, [x for x in events if x.key_id == e.key_id])
        if not keys:
            raise BadData(Reason.KEY_MISMATCH, "the device chain enrols no key")
        c.detail = f"{len(keys)} enrolled key(s) of {b.request.device_id}"
    return keys


def _batches(
    run: v1._Run, b: EvidenceBundle, cp: checkpoint.Checkpoint | None,
    keys: dict[bytes, tuple[cose.PublicKey, list[RegistryEvent]]], hd: _Heads | None,
) -> list[BatchHeader]:  # fmt: skip
    signed: list[SignedHeader] = []
    r = b.request
    with run.check("batches.parse") as c:
        signed = [SignedHeader.parse(x.signed_header) for x in b.batches]
        c.detail = f"{len(signed)} batch headers"
    headers = [s.header for s in signed]
    parsed = len(signed) == len(b.batches)
    with run.check("batches.signatures") as c:
        if not keys or not parsed:
            raise Unreachable("no enrolled key or no parsed headers to check signatures with")
        for sh in signed:
            h = sh.header
            if h.device_id != r.device_id:
                raise BadData(Reason.KEY_MISMATCH, f"batch {h.batch_seq} is of another device")
            if h.key_id not in keys:
                raise BadData(Reason.KEY_MISMATCH, f"batch {h.batch_seq}: its key is not enrolled")
            key, events = keys[h.key_id]
            sh.verify(key)
            v1._key_valid(h, key, events)
        c.detail = f"{len(signed)} headers signed by enrolled device keys"
    with run.check("batches.in_log") as c:
        if not parsed:
            raise Unreachable("the headers could not be parsed")
        for x, sh in zip(b.batches, signed, strict=True):
            h = sh.header
            leaf = BatchLeaf(sh.header_hash, h.batch_seq, h.device_id).to_leaf()
            v1._in_log(cp, LoggedEntry(leaf, x.log_index, x.log_proof), "a batch")
        c.detail = f"{len(signed)} batches included at the checkpoint"
    with run.check("batches.hash_chain") as c:
        if not parsed:
            raise Unreachable("the headers could not be parsed")
        if not headers:
            raise BadData(Reason.WINDOW_NOT_COVERED, "the bundle holds no batch")
        for prev, cur in pairwise(signed):
            p, h = prev.header, cur.header
            if h.batch_seq != p.batch_seq + 1 or h.prev_header_hash != prev.header_hash:
                raise BadData(Reason.CHAIN_BROKEN,
                              f"chain broken between {p.batch_seq} and {h.batch_seq}")  # fmt: skip
        c.detail = f"batches {headers[0].batch_seq}..{headers[-1].batch_seq}, unbroken"
    with run.check("batches.cover_window") as c:
        if not parsed:
            raise Unreachable("the headers could not be parsed")
        if not headers:
            raise BadData(Reason.WINDOW_NOT_COVERED, "the bundle holds no batch")
        first, last = headers[0], headers[-1]
        if first.first_utc_ns > r.window_start_ns and first.batch_seq != 0:
            raise BadData(Reason.WINDOW_NOT_COVERED, "no batch shows what came before the window")
        if last.last_utc_ns >= r.window_end_ns:
            c.detail = "the segment covers the window at both ends"
        elif hd is None:
            raise Unreachable("the window runs past the last batch and no head is proven")
        elif (hd.device.batch_seq, hd.device.header_hash) != (
            last.batch_seq,
            signed[-1].header_hash,
        ):
            raise BadData(
                Reason.WINDOW_NOT_COVERED,
                f"the segment stops at batch {last.batch_seq} before the window's end, "
                f"but the device's newest batch at the checkpoint is {hd.device.batch_seq}",
            )
        else:
            raise v1.Undecided(Reason.WINDOW_OPEN,
                               f"the window runs past batch {last.batch_seq}, the device's newest "
                               "at the checkpoint: later batches may still arrive")  # fmt: skip
    _records(run, b, headers if parsed else [])
    return headers


def _covers(scope: tuple[str, ...]) -> Callable[[str, int], bool]:
    """§12.3 scope items over (stream, item key), memoised (grant.covers_item)."""
    memo: dict[tuple[str, int], bool] = {}

    def covers(stream: str, key: int) -> bool:
        ok = memo.get((stream, key))
        if ok is None:
            ok = memo[(stream, key)] = grants_mod.covers_item(scope, stream, key)
        return ok

    return covers


def _records(run: v1._Run, b: EvidenceBundle, headers: list[BatchHeader]) -> None:
    r = b.request
    covers = _covers(r.scope)
    shown, boundary, counted = 0, 0, 0
    per_item: dict[str, list[int]] = {}
    with run.check("records.complete") as c:
        if not headers:
            raise Unreachable("no parsed headers to check the records against")
        unknown: list[int] = []
        for x, h in zip(b.batches, headers, strict=True):
            n, outside, items = _batch_records(x, h, r.window_start_ns, r.window_end_ns, covers)
            shown, boundary = shown + n, boundary + outside
            if items is None:
                unknown.append(h.batch_seq)
                continue
            for label, (got, want) in items.items():
                row = per_item.setdefault(label, [0, 0])
                row[0] += got
                row[1] += want
                counted += want
        run.t.summary["completeness"] = {k: {"disclosed": v[0], "counted": v[1]}
                                         for k, v in sorted(per_item.items())}  # fmt: skip
        run.t.summary["boundary_records"] = boundary
        if unknown:
            raise v1.Undecided(Reason.RECORD_WITHHELD,
                               f"batches {unknown[0]}..{unknown[-1]} have version-1 headers: no "
                               "per-item counts to prove the disclosure complete")  # fmt: skip
        c.detail = (
            f"{shown} records disclosed of {counted} counted in scope, every one of "
            f"the window's batches complete; {boundary} boundary record(s) outside the "
            "window"
        )


def _label(stream: str, key: int) -> str:
    if key == NON_CAN_ITEM:
        return stream
    if key & _ERR:
        return f"{stream} (error frames)"
    return f"{stream}#{key & 0x1FFF_FFFF:08x}" if key & _EXT else f"{stream}#{key:03x}"


def _batch_records(
    x: BatchEvidence, h: BatchHeader, start: int, end: int, covers: Callable[[str, int], bool]
) -> tuple[int, int, dict[str, tuple[int, int]] | None]:
    """(disclosed, outside the window, {item: (disclosed, counted)} or None for a v1 header)."""
    meets = h.first_utc_ns <= end and h.last_utc_ns >= start
    items = x.disclosed
    if not items:
        if x.multiproof:
            raise BadData(Reason.BAD_PROOF, f"batch {h.batch_seq}: a multiproof of no record")
        if h.counts is None:
            return 0, 0, None if meets else {}
        wanted = {_label(s, k): (0, n) for s, ks in h.counts.items() for k, n in ks.items()
                  if meets and covers(s, k)}  # fmt: skip
        if wanted:
            label, (_, n) = next(iter(wanted.items()))
            raise BadData(Reason.RECORD_WITHHELD,
                          f"batch {h.batch_seq}: {n} record(s) of {label} in the window, none "
                          "disclosed")  # fmt: skip
        return 0, 0, {}
    if not meets:
        raise BadData(
            Reason.OUTSIDE_WINDOW,
            f"batch {h.batch_seq} lies outside the window but discloses records",
        )
    confirmed = _confirmed_in_c(x, h, start, end, covers) if v1.ACCELERATED else None
    if confirmed is not None:
        got, outside = confirmed
    else:
        got, outside = _records_in_python(x, h, start, end, covers)
    if h.counts is None:
        return len(items), outside, None
    out: dict[str, tuple[int, int]] = {}
    for stream, ks in h.counts.items():
        for k, n in ks.items():
            if covers(stream, k):
                have = got.get((stream, k), 0)
                if have < n:
                    raise BadData(Reason.RECORD_WITHHELD,
                                  f"batch {h.batch_seq}: {n - have} of {n} record(s) of "
                                  f"{_label(stream, k)} withheld")  # fmt: skip
                if have > n:  # §12.3 "number exactly the header's count"
                    raise BadData(Reason.COUNT_MISMATCH,
                                  f"batch {h.batch_seq}: {have} record(s) of {_label(stream, k)}"
                                  f" disclosed, the device counted {n}")  # fmt: skip
                out[_label(stream, k)] = (have, n)
    if sum(got.values()) != sum(v[0] for v in out.values()):
        raise BadData(Reason.COUNT_MISMATCH, f"batch {h.batch_seq}: more records than counted")
    return len(items), outside, out


def _records_in_python(
    x: BatchEvidence, h: BatchHeader, start: int, end: int, covers: Callable[[str, int], bool]
) -> tuple[dict[tuple[str, int], int], int]:
    """The reference per-record loop, and the one that names every fault: order, scope,
    times, leaves and the multiproof. ({(stream, item key): records}, records outside)."""
    items = x.disclosed
    indices = [d.leaf_index for d in items]
    if indices != sorted(set(indices)):
        raise BadData(Reason.RECORD_ORDER, f"batch {h.batch_seq}: disclosed indices out of order")
    last_seq: dict[str, int] = {}
    leaves: dict[int, bytes] = {}
    got: dict[tuple[str, int], int] = {}
    outside = 0
    scan, sha, utc_of = rec.scan, hashlib.sha256, _UTC.unpack_from
    lo, hi = h.first_utc_ns, h.last_utc_ns
    for index, record, salt in items:
        stream, seq, can_id, flags = scan(record)
        if seq <= last_seq.get(stream, -1):
            raise BadData(Reason.RECORD_ORDER, f"batch {h.batch_seq}: {stream} out of order")
        last_seq[stream] = seq
        key = item_key(can_id, flags)
        if not covers(stream, key):
            raise BadData(Reason.OUTSIDE_GRANT, f"a record of {_label(stream, key)} is not granted")
        (utc,) = utc_of(record, _UTC_OFFSET)
        if not lo <= utc <= hi:
            raise BadData(
                Reason.OUTSIDE_WINDOW,
                f"batch {h.batch_seq}: a record outside the batch's signed time range",
            )
        outside += not start <= utc <= end
        got[(stream, key)] = got.get((stream, key), 0) + 1
        leaves[index] = sha(b"\x00" + salt + record).digest()
    merkle.verify_multiproof(h.record_count, leaves, x.multiproof, h.merkle_root)
    return got, outside


def _confirmed_in_c(
    x: BatchEvidence, h: BatchHeader, start: int, end: int, covers: Callable[[str, int], bool]
) -> tuple[dict[tuple[str, int], int], int] | None:
    """The C loop (notary_core/_accel.c) confirms order, times, leaves, multiproof and root
    and counts the common CAN frames; only the other records are scanned here. None decides
    nothing: the Python loop then runs and names the fault, so reasons never depend on C."""
    accel = _accel
    items, multiproof = x.disclosed, x.multiproof
    if accel is None or not isinstance(items, tuple) or not isinstance(multiproof, tuple):
        return None
    if not 0 < h.record_count <= limits.MAX_TREE_SIZE or len(h.merkle_root) != 32:
        return None
    times = (h.first_utc_ns, h.last_utc_ns, start, end)
    done = accel.check_batch(items, multiproof, h.record_count, h.merkle_root, v1._ACCEL_PARAMS,
                             times)  # fmt: skip
    if done is None:
        return None
    counts, others, outside = done
    got: dict[tuple[str, int], int] = {}
    try:
        for (raw_stream, can_id), n in counts.items():  # fast layout: flags 0, 11-bit id
            stream = rec.stream_name(raw_stream)
            if not covers(stream, can_id):
                return None
            got[(stream, can_id)] = got.get((stream, can_id), 0) + n
        for i in others:
            stream, _seq, can_id, flags = rec.scan(items[i][1])
            key = item_key(can_id, flags)
            if not covers(stream, key):
                return None
            got[(stream, key)] = got.get((stream, key), 0) + 1
    except NotaryError:
        return None
    return got, outside


# ---- the vehicle and the grants ------------------------------------------------------------


def _within(r: Any, e: AccessEvent) -> bool:
    return bool(e.window_start_ns <= r.window_start_ns and r.window_end_ns <= e.window_end_ns)


def _meets(r: Any, e: AccessEvent) -> bool:
    return bool(e.window_start_ns < r.window_end_ns and r.window_start_ns < e.window_end_ns)


def _periods(
    events: Sequence[AccessEvent], begin: AccessAction, end: AccessAction
) -> list[AccessEvent]:
    """Periods (installations or ownerships) as the chain leaves them: each `begin` entry,
    ended early by the `end` entries of the same vehicle, subject and start (§7.1.1)."""
    out = []
    for e in events:
        if e.action != begin:
            continue
        stop = e.window_end_ns
        for x in events:
            same = (x.vehicle_id, x.subject, x.window_start_ns) == (
                e.vehicle_id, e.subject, e.window_start_ns)  # fmt: skip
            if x.action == end and same:
                stop = min(stop, x.window_end_ns)
        out.append(replace(e, window_end_ns=stop))
    return out


def _binding_and_grants(
    run: v1._Run, b: EvidenceBundle, device_chain: list[tuple[int, Parsed]] | None,
    rule_chain: list[tuple[int, Parsed]] | None,
) -> None:  # fmt: skip
    r = b.request
    rules = [e for _, e in rule_chain or () if isinstance(e, AccessEvent)]
    owner: str | None = None
    with run.check("vehicle.binding") as c:
        if rule_chain is None or device_chain is None:
            raise Unreachable("the rule or device chain is not proven: no installation or "
                              "ownership to rely on")  # fmt: skip
        fitted, removed = AccessAction.DEVICE_INSTALLED, AccessAction.DEVICE_REMOVED
        installs = [e for e in _periods(rules, fitted, removed)
                    if e.subject == r.device_id and _within(r, e)]  # fmt: skip
        if not installs:
            raise BadData(Reason.WRONG_VEHICLE, f"device {r.device_id} not in {r.vehicle_id} then")
        device_events = [e for _, e in device_chain if isinstance(e, AccessEvent)]
        elsewhere = [e for e in _periods(device_events, fitted, removed)
                     if e.vehicle_id != r.vehicle_id and _meets(r, e)]  # fmt: skip
        if elsewhere:
            raise BadData(Reason.WRONG_VEHICLE,
                          f"device {r.device_id} was also installed in {elsewhere[0].vehicle_id} "
                          "during the window")  # fmt: skip
        bound = _periods(rules, AccessAction.OWNER_BOUND, AccessAction.OWNER_ENDED)
        owners = {e.subject for e in bound if _within(r, e)}
        if len(owners) != 1:
            raise BadData(
                Reason.NOT_OWNER, "no single owner bound to the vehicle for the whole window"
            )
        owner = owners.pop()
        c.detail = f"device {r.device_id} in vehicle {r.vehicle_id}, owner {owner}"
    with run.check("grant.chain") as c:
        if owner is None:
            raise Unreachable("no owner to check the grants against")
        chain = grants_mod.verify_chain(b.grants, owner)
        bad = [s for s in r.scope if not grants_mod.is_scope_item(s)]
        if bad:  # §12.3: upper-case hex, or anything else no grant could name
            raise BadData(Reason.GRANT_INVALID, f"the request's scope item {bad[0]!r} is malformed")
        v1._check_use(b, chain)
        logged = {(e.subject, e.actor, e.window_start_ns, e.window_end_ns)
                  for e in rules if e.action == AccessAction.GRANT}  # fmt: skip
        for g in chain:
            if (g.jti, g.iss, g.window_start_ns, g.window_end_ns) not in logged:
                raise BadData(Reason.NOT_IN_LOG, f"grant {g.jti} has no matching GRANT entry")
        jtis = {g.jti for g in chain}
        for e in rules:
            if (
                e.action == AccessAction.REVOKE
                and e.subject in jtis
                and e.at_utc_ns <= b.issued_utc_ns
            ):
                raise BadData(Reason.GRANT_REVOKED, f"grant {e.subject} was revoked before issue")
        last = chain[-1]
        c.detail = f"{len(chain)} grant(s), grantee {last.sub}, purpose {last.purpose!r}"
