"""The tamper suite (issue 13 §5, issue 12 §4): named corruptions of real version-2 bundles,
each with the verdict and the reason codes the verifier must answer.

Two kinds of corruption. Raw byte edits of the file (anyone on the way can make them). And
edits a dishonest collector makes and signs again with its own key, the device's headers
and the owner's grants keeping their signatures; for those that need another history (a
revocation, a new owner, a second installation), the collector's log is built that way and
the collector then leaves out what would hurt it. The RAV4 bundle holds real CAN frames of
the comma2k19 drive and real u-blox NMEA sentences.

Every reason code of docs/protocol.md §9 that a bundle verifier can produce is reached
(`test_every_reachable_reason_is_reached`). These cannot come out of `verify_bundle`, and why:

- REPLAY, FORK, GAP, UNKNOWN_DEVICE, TOPIC_MISMATCH, TIME_REGRESSION, FUTURE_TIME: ingest
  decisions of the collector about arriving batches (§5, §6.2); a bundle holds no arrival.
  (TIME_REGRESSION also comes from time.beacon with a chain node, tests/verifier/test_beacon.py,
  and FUTURE_TIME from time.tsa with a pinned TSA, tests/core/test_tsa.py.)
- UNKNOWN_KEY, ORIGIN_MISMATCH: the checkpoint check reports every fault of the signed note
  as BAD_CHECKPOINT (§12.1 table), naming the inner code in its detail.
- STALE_SIZE, REWRITE: a witness's and a monitor's answers about the log (§7.2), not about
  a bundle.
- INTERNAL_ERROR: the verifier's own failure, never a verdict on a bundle; the CLI answers
  it with exit 70 (tests/verifier/test_verify_cli.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cbor2
import pytest

from notary_core import anchoring, bundle, cbor, checkpoint, cose, grant, logleaf
from notary_core import records as r
from notary_core.errors import Reason, Unreachable
from notary_core.evidence import (
    AnchorLookup,
    AnchorStatus,
    Status,
    Transcript,
    Trust,
    verify_bundle,
)
from tests import golden
from tests.core import bundle_v2_factory as f
from tests.core.bundle_factory import DEVICE, SEC, T0, VEHICLE, _key, batch_records
from tests.core.c_loop import c_loop
from tests.verifier import tamper_worlds as tw

Built = tw.Built


@dataclass
class Attempt:
    data: bytes
    lookup: AnchorLookup | None = None
    trust: Trust | None = None  # None: the world's (log and collector keys, witnesses, quorum 2)


Make = Callable[[Built], Attempt | bytes]


@dataclass(frozen=True)
class Case:
    make: Make
    verdict: str
    reasons: frozenset[str]
    real: bool = True  # an edit of the RAV4 bundle; False: a synthetic world it builds


CASES: dict[str, Case] = {}


def case(verdict: str, *reasons: str, real: bool = True) -> Callable[[Make], Make]:
    def register(fn: Make) -> Make:
        CASES[fn.__name__.removeprefix("c_").replace("_", "-")] = Case(
            fn, verdict, frozenset(reasons), real
        )
        return fn

    return register


@pytest.fixture(scope="module")
def rav4(shared_data: Path) -> Built:
    return tw.rav4_world(shared_data)


def outcome(t: Transcript) -> tuple[str, frozenset[str]]:
    """The verdict, and the reasons of the failing checks (of the undecided ones when
    nothing failed): what a court reads first."""
    failed = {c.reason for c in t.checks if c.status is Status.FAIL}
    undecided = {c.reason for c in t.checks if c.status is Status.UNDECIDED}
    return str(t.verdict), frozenset(failed or undecided)


# ---- helpers for edits ---------------------------------------------------------------------


def cose_of(data: bytes) -> Any:
    return cbor2.loads(data[len(bundle.MAGIC) + 1 :])


def in_file(message: bytes) -> bytes:
    return bundle.MAGIC + b"\x02" + message


def items(x: bundle.BatchEvidence) -> list[tuple[int, str, int]]:
    """(leaf index, stream, CAN id or -1) of each disclosed record."""
    return [(d.leaf_index, *r.scan(d.record)[::2]) for d in x.disclosed]


def without(built: Built, pos: int, drop: Callable[[str, int], bool], count: int = 1) -> bytes:
    """Batch `pos` with the first `count` disclosed records matching `drop` withheld, their
    leaf hashes moved into the multiproof (which still leads to the signed root)."""
    x = built.b.batches[pos]
    keep, dropped = [], 0
    for i, stream, can_id in items(x):
        if dropped < count and drop(stream, can_id):
            dropped += 1
        else:
            keep.append(i)
    assert dropped == count
    return built.sign(f.with_batch(built.b, pos, f.redisclose(built.w, x, keep)))


def edit_record(built: Built, pos: int, j: int, record: bytes | None = None,
                salt: bytes | None = None) -> bytes:  # fmt: skip
    x = built.b.batches[pos]
    d = list(x.disclosed)
    d[j] = bundle.Disclosed(d[j].leaf_index, record or d[j].record, salt or d[j].salt)
    return built.sign(f.with_batch(built.b, pos, replace(x, disclosed=tuple(d))))


def edit_batch(built: Built, pos: int, **changes: Any) -> bytes:
    return built.sign(f.with_batch(built.b, pos, replace(built.b.batches[pos], **changes)))


def edit_index(built: Built, **changes: Any) -> bytes:
    assert built.b.index is not None
    return built.sign(replace(built.b, index=replace(built.b.index, **changes)))


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


# ---- raw byte edits of the file ------------------------------------------------------------


@case("UNREADABLE", "UNREADABLE")
def c_magic_first_byte_changed(b: Built) -> bytes:
    return b"\x88" + b.good[1:]


@case("UNREADABLE", "UNREADABLE")
def c_magic_mangled_by_text_mode(b: Built) -> bytes:
    return b.good.replace(b"\r\n", b"\n", 1)


@case("UNREADABLE", "UNREADABLE")
def c_empty_file(b: Built) -> bytes:
    return b""


@case("UNREADABLE", "UNREADABLE")
def c_random_bytes(b: Built) -> bytes:
    return b"\x00" + random.Random(13).randbytes(4096)


@case("UNREADABLE", "UNREADABLE")
def c_truncated_after_the_version_byte(b: Built) -> bytes:
    return b.good[: len(bundle.MAGIC) + 1]


@case("UNREADABLE", "UNREADABLE")
def c_truncated_at_90_percent(b: Built) -> bytes:
    return b.good[: len(b.good) * 9 // 10]


@case("FAIL", "UNSUPPORTED_VERSION")
def c_file_version_byte_1(b: Built) -> bytes:
    return bundle.MAGIC + b"\x01" + b.good[len(bundle.MAGIC) + 1 :]


@case("FAIL", "BAD_SIGNATURE", "ROOT_MISMATCH")  # the collector's signature, and the record's root
def c_flipped_byte_in_a_disclosed_record(b: Built) -> bytes:
    return flip(b.good, b.good.index(b.b.batches[2].disclosed[3].record) + 40)


@case("FAIL", "TOO_LARGE")
def c_file_over_256_mib(b: Built) -> bytes:
    return b.good + bytes(bundle.MAX_BUNDLE_SIZE)


@case("FAIL", "MALFORMED")
def c_cose_untagged(b: Built) -> bytes:
    return in_file(cbor.dumps(cose_of(b.good).value))


@case("FAIL", "MALFORMED")
def c_kid_in_the_unprotected_header(b: Built) -> bytes:
    prot, _, payload, sig = cose_of(b.good).value
    return in_file(cbor.dumps(cbor2.CBORTag(18, [prot, {4: b.w.collector.kid}, payload, sig])))


# ---- the payload, re-signed by the collector -----------------------------------------------


def _payload(b: Built) -> bytes:
    return bytes(cose_of(b.good).value[2])


@case("FAIL", "NON_CANONICAL")
def c_duplicate_map_key_in_the_payload(b: Built) -> bytes:
    p = _payload(b)
    return f.resign_payload(b.w, bytes([p[0] + 1]) + b"\x01\x02" + p[1:])


@case("FAIL", "NON_CANONICAL")
def c_payload_not_in_deterministic_form(b: Built) -> bytes:
    p = _payload(b)  # key 1's value 2 written as a two-byte integer
    assert p[1:3] == b"\x01\x02"
    return f.resign_payload(b.w, p[:2] + b"\x18\x02" + p[3:])


@case("FAIL", "MALFORMED")
def c_payload_key_15(b: Built) -> bytes:
    return f.resign_payload(b.w, cbor.dumps(cbor2.loads(_payload(b)) | {15: None}))


@case("FAIL", "UNSUPPORTED_VERSION")
def c_payload_version_1_after_the_magic(b: Built) -> bytes:
    return f.resign_payload(b.w, cbor.dumps(cbor2.loads(_payload(b)) | {1: 1}))


@case("FAIL", "TOO_LARGE")
def c_over_100000_batches(b: Built) -> bytes:
    fields = cbor2.loads(_payload(b))
    fields[10] = [[b"", 0, [], [], []]] * (bundle.MAX_BATCHES + 1)
    return f.resign_payload(b.w, cbor.dumps(fields))


@case("FAIL", "UNSUPPORTED_ALGORITHM")
def c_bundle_alg_unknown(b: Built) -> bytes:
    _, _, payload, sig = cose_of(b.good).value
    prot = cbor.dumps({1: -35, 3: bundle.BUNDLE_CONTENT_TYPE, 4: b.w.collector.kid})
    return in_file(cbor.dumps(cbor2.CBORTag(18, [prot, {}, payload, sig])))


@case("FAIL", "KEY_MISMATCH")
def c_signed_by_another_key_than_it_names(b: Built) -> bytes:
    return in_file(cose.sign1(tw.other_collector(), _payload(b), bundle.BUNDLE_CONTENT_TYPE))


@case("FAIL", "BAD_KEY", "UNTRUSTED")
def c_collector_key_not_a_key(b: Built) -> bytes:
    fields = cbor2.loads(_payload(b))
    fields[4] = [fields[4][0], fields[4][1], b"\x30\x03garbage"]
    return f.resign_payload(b.w, cbor.dumps(fields))


@case("FAIL", "UNTRUSTED")
def c_another_collector_not_pinned(b: Built) -> bytes:
    other = tw.other_collector()
    return replace(b.b, collector_key=other.public.spki()).sign(other)


@case("FAIL", "BAD_CHECKPOINT", "BAD_SIGNATURE", "ANCHOR_MISMATCH")  # cosigned: the true size
def c_checkpoint_size_altered(b: Built) -> bytes:
    note = b.b.checkpoint
    size = note.split(b"\n")[1]
    bigger = b"\n%d\n" % (int(size) + 1)
    return b.sign(replace(b.b, checkpoint=note.replace(b"\n" + size + b"\n", bigger, 1)))


@case("FAIL", "ANCHOR_MISMATCH")
def c_anchor_of_another_root(b: Built) -> bytes:
    assert b.b.anchor is not None
    return b.sign(replace(b.b, anchor=replace(b.b.anchor, root=bytes(32))))


# ---- the window and the segment ------------------------------------------------------------


@case("FAIL", "WINDOW_NOT_COVERED")
def c_last_batches_of_the_window_dropped(b: Built) -> bytes:
    return b.sign(replace(b.b, batches=b.b.batches[:-2]))


@case("FAIL", "WINDOW_NOT_COVERED")
def c_first_batches_of_the_window_dropped(b: Built) -> bytes:
    return b.sign(replace(b.b, batches=b.b.batches[2:]))


@case("FAIL", "CHAIN_BROKEN")
def c_middle_batch_dropped(b: Built) -> bytes:
    bs = b.b.batches
    return b.sign(replace(b.b, batches=(*bs[:1], *bs[2:])))


@case("INCONCLUSIVE", "WINDOW_OPEN", real=False)
def c_window_past_the_device_head(b: Built) -> bytes:
    w = tw.synthetic(4)
    built = tw.finish(w, window=(T0 + 2 * SEC, T0 + 9 * SEC))
    return built.good


@case("FAIL", "BAD_PROOF", real=False)
def c_window_past_the_last_batch_and_no_head_proven(b: Built) -> bytes:
    """No device head is proven, so nothing says whether later batches exist: the window's
    end is undecided (beside the failed proof), not merely open."""
    built = tw.finish(tw.synthetic(4), window=(T0 + 2 * SEC, T0 + 9 * SEC))
    x = built.b.index
    assert x is not None
    return edit_index(built, device_value=x.vehicle_value, device_siblings=x.vehicle_siblings)


@case("FAIL", "WINDOW_NOT_COVERED", real=False)
def c_segment_stops_before_the_device_head(b: Built) -> bytes:
    w = tw.synthetic(4)
    built = tw.finish(w, window=(T0 + 2 * SEC, T0 + 9 * SEC))
    return built.sign(replace(built.b, batches=built.b.batches[:-1]))


# ---- records: complete, in the window, proven ----------------------------------------------


@case("FAIL", "RECORD_WITHHELD")
def c_record_of_a_granted_can_id_withheld(b: Built) -> bytes:
    return without(b, 2, lambda s, cid: cid == 0x0AA)


@case("FAIL", "RECORD_WITHHELD")
def c_brake_frames_withheld_in_the_event_batch(b: Built) -> bytes:
    return without(b, 2, lambda s, cid: cid == 0x224, count=10)


@case("FAIL", "RECORD_WITHHELD")
def c_gnss_record_withheld(b: Built) -> bytes:
    return without(b, 3, lambda s, cid: s == "gnss")


@case("FAIL", "RECORD_WITHHELD")
def c_every_record_of_a_batch_in_the_window_withheld(b: Built) -> bytes:
    return edit_batch(b, 2, disclosed=(), multiproof=())


@case("FAIL", "OUTSIDE_WINDOW")
def c_record_in_a_batch_that_does_not_meet_the_window(b: Built) -> bytes:
    x0 = b.b.batches[0]
    first = next(i for i, s, cid in items(f.redisclose(b.w, x0, list(range(300)))) if cid == 0x0AA)
    return b.sign(f.with_batch(b.b, 0, f.redisclose(b.w, x0, [first])))


@case("FAIL", "OUTSIDE_GRANT")
def c_record_outside_the_scope_disclosed(b: Built) -> bytes:
    x = b.b.batches[2]
    _sb, recs = f.batch_of(b.w, x)
    extra = next(i for i, raw in enumerate(recs) if r.scan(raw)[2] == 0x260)
    keep = sorted({i for i, _s, _c in items(x)} | {extra})
    return b.sign(f.with_batch(b.b, 2, f.redisclose(b.w, x, keep)))


@case("FAIL", "RECORD_ORDER")
def c_two_disclosed_records_swapped(b: Built) -> bytes:
    x = b.b.batches[2]
    d = list(x.disclosed)
    d[3], d[4] = d[4], d[3]
    return edit_batch(b, 2, disclosed=tuple(d))


@case("FAIL", "ROOT_MISMATCH")
def c_speed_frame_data_altered(b: Built) -> bytes:
    x = b.b.batches[2]
    j = next(j for j, (_i, _s, cid) in enumerate(items(x)) if cid == 0x0B4)
    rec = x.disclosed[j].record
    return edit_record(b, 2, j, record=rec[:-1] + bytes([rec[-1] ^ 0x01]))


@case("FAIL", "ROOT_MISMATCH")
def c_salt_altered(b: Built) -> bytes:
    return edit_record(b, 2, 0, salt=bytes(16))


@case("FAIL", "NON_CANONICAL")
def c_record_with_a_reserved_can_flag(b: Built) -> bytes:
    rec = b.b.batches[2].disclosed[0].record
    at = 28 + 4 + 4  # prefix, "can0", identifier: the flags byte (§2.2)
    return edit_record(b, 2, 0, record=rec[:at] + b"\x80" + rec[at + 1 :])


@case("FAIL", "UNKNOWN_KIND")
def c_record_of_an_unknown_kind(b: Built) -> bytes:
    rec = b.b.batches[2].disclosed[0].record
    return edit_record(b, 2, 0, record=rec[:1] + b"\x09" + rec[2:])


@case("FAIL", "BAD_PROOF")
def c_multiproof_with_a_node_left_over(b: Built) -> bytes:
    return edit_batch(b, 2, multiproof=(*b.b.batches[2].multiproof, bytes(32)))


@case("FAIL", "BAD_HASH_LENGTH")
def c_multiproof_node_of_31_bytes(b: Built) -> bytes:
    mp = b.b.batches[2].multiproof
    return edit_batch(b, 2, multiproof=(mp[0][:31], *mp[1:]))


@case("FAIL", "BAD_INDEX")
def c_disclosed_leaf_index_past_the_tree(b: Built) -> bytes:
    x = b.b.batches[2]
    d = list(x.disclosed)
    n = f.batch_of(b.w, x)[0].signed.header.record_count
    d[-1] = bundle.Disclosed(n + 5, d[-1].record, d[-1].salt)
    return edit_batch(b, 2, disclosed=tuple(d))


@case("FAIL", "BAD_SIGNATURE")
def c_batch_header_signature_altered(b: Built) -> bytes:
    raw = b.b.batches[1].signed_header
    return edit_batch(b, 1, signed_header=flip(raw, len(raw) - 1))


@case("FAIL", "NOT_IN_LOG")
def c_batch_log_proof_altered(b: Built) -> bytes:
    x = b.b.batches[1]
    return edit_batch(b, 1, log_proof=(bytes(32), *x.log_proof[1:]))


# ---- the index of heads --------------------------------------------------------------------


@case("FAIL", "INDEX_MISMATCH")
def c_index_leaf_of_another_size(b: Built) -> bytes:
    assert b.b.index is not None
    leaf = logleaf.IndexLeaf.from_leaf(b.b.index.leaf)
    return edit_index(b, leaf=logleaf.IndexLeaf(leaf.covered - 1, leaf.root).to_leaf())


@case("FAIL", "BAD_PROOF")
def c_forged_device_head_an_older_batch(b: Built) -> bytes:
    assert b.b.index is not None
    from notary_core import heads

    d = heads.DeviceHead.parse(b.b.index.device_value)
    older = replace(
        d, batch_seq=3, header_hash=f.batch_of(b.w, b.b.batches[-1])[0].signed.header_hash
    )
    return edit_index(b, device_value=older.value())


@case("FAIL", "BAD_PROOF")
def c_device_proof_swapped_for_the_vehicle_proof(b: Built) -> bytes:
    x = b.b.index
    assert x is not None
    return edit_index(b, device_value=x.vehicle_value, device_siblings=x.vehicle_siblings)


@case("FAIL", "BAD_HASH_LENGTH")
def c_index_sibling_of_31_bytes(b: Built) -> bytes:
    x = b.b.index
    assert x is not None
    return edit_index(b, vehicle_siblings=(x.vehicle_siblings[0][:31], *x.vehicle_siblings[1:]))


@case("FAIL", "NOT_IN_LOG")
def c_index_leaf_proof_altered(b: Built) -> bytes:
    x = b.b.index
    assert x is not None
    return edit_index(b, leaf_proof=(bytes(32), *x.leaf_proof[1:]))


# ---- chains of entries ---------------------------------------------------------------------


@case("FAIL", "ENTRY_OMITTED")
def c_installation_left_out_of_the_rule_chain(b: Built) -> bytes:
    return b.sign(replace(b.b, rule_chain=b.b.rule_chain[1:]))


@case("FAIL", "ENTRY_OMITTED")
def c_installation_left_out_of_the_device_chain(b: Built) -> bytes:
    return b.sign(replace(b.b, device_chain=b.b.device_chain[:1]))


@case("FAIL", "ENTRY_OMITTED")
def c_rule_entries_swapped(b: Built) -> bytes:
    rc = b.b.rule_chain
    return b.sign(replace(b.b, rule_chain=(rc[1], rc[0], *rc[2:])))


@case("FAIL", "ENTRY_OMITTED")
def c_rule_entry_replaced_by_another_vehicles(b: Built) -> bytes:
    rc = list(b.b.rule_chain)
    e = logleaf.AccessEvent.from_leaf(rc[-1])
    rc[-1] = replace(e, vehicle_id="vin-OTHER").to_leaf()
    return b.sign(replace(b.b, rule_chain=tuple(rc)))


def _revoked_world() -> tuple[f.World2, str]:
    w = tw.synthetic()
    token = grant.issue(f.owner_grant(w), w.owner)
    f.log_grant(w, token)
    w.log.event(logleaf.AccessEvent(logleaf.AccessAction.REVOKE, VEHICLE, w.thumb(w.owner),
                                    "g-1", T0, T0 + 10 * SEC, T0 + 86400 * SEC))  # fmt: skip
    return w, token


@case("FAIL", "ENTRY_OMITTED", real=False)
def c_revocation_left_out(b: Built) -> bytes:
    w, token = _revoked_world()
    built = tw.finish(w, grants=[token])
    return built.sign(replace(built.b, rule_chain=built.b.rule_chain[:-1]))


@case("FAIL", "GRANT_REVOKED", real=False)
def c_revocation_shown(b: Built) -> bytes:
    w, token = _revoked_world()
    return tw.finish(w, grants=[token]).good


@case("FAIL", "GRANT_REVOKED", real=False)
def c_revocation_at_the_instant_of_issue(b: Built) -> bytes:
    """§12.3: revoked at or before the bundle's issue; at the same nanosecond counts."""
    w = tw.synthetic()
    token = grant.issue(f.owner_grant(w), w.owner)
    f.log_grant(w, token)
    issued = T0 + 2 * 86400 * SEC  # the bundle's issued_utc_ns (bundle_v2_factory.parts)
    w.log.event(logleaf.AccessEvent(logleaf.AccessAction.REVOKE, VEHICLE, w.thumb(w.owner),
                                    "g-1", T0, T0 + 10 * SEC, issued))  # fmt: skip
    return tw.finish(w, grants=[token], issued=issued).good


# ---- periods ended early (§7.1.1): a removal, an ownership's end (mutation run) -----------

_INSTALLED_AT = T0 - 86400 * SEC  # bundle_v2_factory.install's default start
_BOUND_AT = T0 - 30 * 86400 * SEC  # bundle_v2_factory.bind_owner's default start


def _removed(vehicle: str, start: int, end: int) -> logleaf.AccessEvent:
    return logleaf.AccessEvent(logleaf.AccessAction.DEVICE_REMOVED, vehicle, "operator",
                               DEVICE, start, end, end)  # fmt: skip


@case("FAIL", "WRONG_VEHICLE", real=False)
def c_device_removed_during_the_window(b: Built) -> bytes:
    w = tw.synthetic()
    w.log.event(_removed(VEHICLE, _INSTALLED_AT, tw.SYN_WINDOW[0] + SEC))
    return tw.finish(w).good


@case("OK", real=False)
def c_device_removed_from_another_vehicle_before_the_window(b: Built) -> bytes:
    w = tw.synthetic()
    other = "vin-JTMRFREV0JD000002"
    f.install(w, vehicle=other, start=T0 - 3600 * SEC)
    w.log.event(_removed(other, T0 - 3600 * SEC, T0 - 60 * SEC))
    return tw.finish(w).good


@case("FAIL", "WRONG_VEHICLE", real=False)
def c_another_device_installed_in_the_vehicle(b: Built) -> bytes:
    """The vehicle's installations name veh-0009, not the bundle's device."""
    w = f.World2()
    f.enrol(w)
    w.log.event(logleaf.AccessEvent(logleaf.AccessAction.DEVICE_INSTALLED, VEHICLE, "operator",
                                    "veh-0009", _INSTALLED_AT, f.OPEN, _INSTALLED_AT))  # fmt: skip
    f.bind_owner(w)
    f.seal_batches(w, 6)
    return tw.finish(w).good


@case("FAIL", "NOT_OWNER", real=False)
def c_ownership_ended_during_the_window(b: Built) -> bytes:
    w = tw.synthetic()
    end = tw.SYN_WINDOW[0] + SEC
    w.log.event(logleaf.AccessEvent(logleaf.AccessAction.OWNER_ENDED, VEHICLE, "operator",
                                    w.thumb(w.owner), _BOUND_AT, end, end))  # fmt: skip
    return tw.finish(w).good


@case("FAIL", "ENTRY_OMITTED", real=False)
def c_change_of_owner_left_out(b: Built) -> bytes:
    w = tw.synthetic()
    new_owner = _key(7)
    f.bind_owner(w, owner=new_owner, start=T0 - 10 * 86400 * SEC)  # sold before the window
    built = tw.finish(w)
    rc = [x for x in built.b.rule_chain
          if logleaf.AccessEvent.from_leaf(x).subject != w.thumb(new_owner)]  # fmt: skip
    return built.sign(replace(built.b, rule_chain=tuple(rc)))


@case("FAIL", "NOT_OWNER", real=False)
def c_change_of_owner_shown(b: Built) -> bytes:
    w = tw.synthetic()
    f.bind_owner(w, owner=_key(7), start=T0 - 10 * 86400 * SEC)
    return tw.finish(w).good


@case("FAIL", "WRONG_VEHICLE", real=False)
def c_device_also_installed_in_another_vehicle(b: Built) -> bytes:
    w = tw.synthetic()
    f.install(w, vehicle="vin-JTMRFREV0JD000002", start=T0 - 3600 * SEC)
    return tw.finish(w).good


@case("FAIL", "ENTRY_OMITTED", real=False)
def c_second_installation_left_out_of_the_device_chain(b: Built) -> bytes:
    w = tw.synthetic()
    f.install(w, vehicle="vin-JTMRFREV0JD000002", start=T0 - 3600 * SEC)
    built = tw.finish(w)
    return built.sign(replace(built.b, device_chain=built.b.device_chain[:-1]))


@case("FAIL", "WRONG_VEHICLE", real=False)
def c_device_not_installed_in_the_vehicle(b: Built) -> bytes:
    w = f.World2()
    f.enrol(w)
    f.bind_owner(w)
    f.seal_batches(w, 6)
    return tw.finish(w).good


# ---- grants --------------------------------------------------------------------------------


@case("FAIL", "NOT_IN_LOG", real=False)
def c_grant_whose_grant_entry_is_missing(b: Built) -> bytes:
    w = tw.synthetic()
    return tw.finish(w, grants=[grant.issue(f.owner_grant(w), w.owner)]).good  # never logged


@case("FAIL", "NOT_IN_LOG", real=False)
def c_grant_entry_of_another_window(b: Built) -> bytes:
    w = tw.synthetic()
    token = grant.issue(f.owner_grant(w), w.owner)
    g, _ = grant.open_grant(token)
    w.log.event(logleaf.AccessEvent(logleaf.AccessAction.GRANT, VEHICLE, g.iss, g.jti, T0,
                                    T0 + SEC, T0))  # fmt: skip
    return tw.finish(w, grants=[token]).good


@case("FAIL", "GRANT_EXPIRED", real=False)
def c_issued_after_the_grant_expired(b: Built) -> bytes:
    w = tw.synthetic()
    token = grant.issue(f.owner_grant(w, exp=T0 // SEC + 86400), w.owner)
    f.log_grant(w, token)
    return tw.finish(w, grants=[token], issued=T0 + 2 * 86400 * SEC).good


@case("FAIL", "NOT_OWNER", real=False)
def c_grant_by_someone_not_the_owner(b: Built) -> bytes:
    w = tw.synthetic()
    token = grant.issue(f.owner_grant(w, iss=w.thumb(w.insurer)), w.insurer)
    f.log_grant(w, token)
    return tw.finish(w, grants=[token]).good


@case("FAIL", "DELEGATION_WIDENS", real=False)
def c_sub_grant_wider_than_its_parent(b: Built) -> bytes:
    w = tw.synthetic()
    parent = grant.issue(f.owner_grant(w), w.owner)
    child = grant.issue(replace(f.owner_grant(w), jti="g-2", iss=w.thumb(w.insurer),
                                sub=w.thumb(w.adjuster), parent="g-1", depth=0,
                                window_end_ns=T0 + 20 * SEC), w.insurer)  # fmt: skip
    for token in (parent, child):
        f.log_grant(w, token)
    return tw.finish(w, grants=[parent, child]).good


@case("FAIL", "GRANT_INVALID")
def c_grant_signature_altered(b: Built) -> bytes:
    token = b.b.grants[0]
    sig = token.rsplit(".", 1)[1]
    bad = token[: -len(sig)] + ("A" if sig[0] != "A" else "B") + sig[1:]
    return b.sign(replace(b.b, grants=(bad,)))


@case("FAIL", "GRANT_INVALID")
def c_request_scope_item_in_upper_case_hex(b: Built) -> bytes:
    scope = tuple(s.replace("#0aa", "#0AA") for s in b.b.request.scope)  # same id, upper case
    return b.sign(replace(b.b, request=replace(b.b.request, scope=scope)))


@case("FAIL", "OUTSIDE_GRANT")
def c_request_scope_widened_past_the_grant(b: Built) -> bytes:
    return b.sign(replace(b.b, request=replace(b.b.request, scope=(*b.b.request.scope, "imu"))))


@case("FAIL", "OUTSIDE_GRANT", "RECORD_WITHHELD")  # and batch 0 now meets the window
def c_request_window_widened_past_the_grant(b: Built) -> bytes:
    return b.sign(replace(b.b, request=replace(b.b.request, window_start_ns=T0 - SEC)))


@case("FAIL", "WRONG_VEHICLE", real=False)
def c_grant_for_another_vehicle(b: Built) -> bytes:
    w = tw.synthetic()
    token = grant.issue(f.owner_grant(w, vehicle="vin-JTMRFREV0JD000002"), w.owner)
    g, _ = grant.open_grant(token)
    w.log.event(logleaf.AccessEvent(logleaf.AccessAction.GRANT, VEHICLE, g.iss, g.jti,
                                    g.window_start_ns, g.window_end_ns, T0))  # fmt: skip
    return tw.finish(w, grants=[token]).good


# ---- device keys and headers ---------------------------------------------------------------


@case("FAIL", "REVOKED_KEY", real=False)
def c_device_key_revoked_before_a_batch(b: Built) -> bytes:
    w = f.World2()
    f.enrol(w)
    f.install(w)
    f.bind_owner(w)
    w.log.event(logleaf.RegistryEvent(logleaf.RegistryAction.REVOKE, f.DEVICE,
                                      w.device.public.spki(), w.device.kid, T0, None,
                                      T0 + 2 * SEC))  # fmt: skip
    f.seal_batches(w, 6)
    return tw.finish(w).good


@case("FAIL", "KEY_NOT_VALID", real=False)
def c_batches_before_the_key_was_valid(b: Built) -> bytes:
    w = f.World2()
    f.enrol(w, at=T0 + 5 * SEC)
    f.install(w)
    f.bind_owner(w)
    f.seal_batches(w, 6)
    return tw.finish(w).good


@case("FAIL", "KEY_MISMATCH", real=False)
def c_batches_signed_by_a_key_never_enrolled(b: Built) -> bytes:
    w = f.World2()
    f.enrol(w)
    f.install(w)
    f.bind_owner(w)
    w.device = cose.Signer.from_key(_key(8))
    f.seal_batches(w, 6)
    return tw.finish(w).good


def _lying_counts(fields: dict[int, Any]) -> dict[int, Any]:
    counts = {s: dict(v) for s, v in fields[18].items()}
    counts["can0"][0x0AA] -= 1  # one 0x0aa frame counted as 0x3b7: the sum still holds
    counts["can0"][0x3B7] += 1
    return fields | {18: counts}


@case("FAIL", "COUNT_MISMATCH", real=False)
def c_device_counted_fewer_frames_than_it_holds(b: Built) -> bytes:
    w = tw.world_of([batch_records(s, 50) for s in range(6)], payload_edit=_lying_counts)
    return tw.finish(w).good


@case("FAIL", "BAD_TREE_SIZE", real=False)
def c_record_disclosed_from_an_empty_batch(b: Built) -> bytes:
    w = tw.world_of([batch_records(0, 50)])
    tw.seal_one(w, [], times=(T0 + SEC, T0 + 2 * SEC - 1))
    for s in range(2, 5):
        tw.seal_one(w, batch_records(s, 50))
    built = tw.finish(w, window=(T0 + SEC + SEC // 2, T0 + 3 * SEC))
    fake = batch_records(1, 50)[0]
    pos = next(i for i, x in enumerate(built.b.batches) if f.batch_of(w, x)[1] == [])
    x = replace(built.b.batches[pos], disclosed=(bundle.Disclosed(0, fake, bytes(16)),),
                multiproof=())  # fmt: skip
    return built.sign(f.with_batch(built.b, pos, x))


@case("INCONCLUSIVE", "RECORD_WITHHELD", real=False)
def c_version_1_headers_in_the_window(b: Built) -> bytes:
    return tw.finish(tw.world_of([batch_records(s, 50) for s in range(6)], version=1)).good


# ---- anchor and chain lookup ---------------------------------------------------------------


def _lookup(status: AnchorStatus | None) -> AnchorLookup:
    def look(_ref: bundle.AnchorRef) -> AnchorStatus:
        if status is None:
            raise Unreachable("the chain node did not answer")
        return status

    return look


@case("INCONCLUSIVE", "UNREACHABLE")
def c_chain_node_unreachable(b: Built) -> Attempt:
    return Attempt(b.good, _lookup(None))


@case("FAIL", "ANCHOR_MISMATCH")
def c_anchor_not_on_chain(b: Built) -> Attempt:
    return Attempt(b.good, _lookup(AnchorStatus(False, False, 0, False, "no such event")))


def _on_chain(b: Built, view: anchoring.ChainView, proof: tuple[bytes, ...] | None) -> Attempt:
    a = b.b.anchor
    assert a is not None
    return Attempt(b.good, _lookup(AnchorStatus(True, True, 12, True, "seen", a.block_time,
                                                view, proof, "no --collector")))  # fmt: skip


def _head(b: Built) -> anchoring.Head:
    a = b.b.anchor
    assert a is not None
    return anchoring.Head(a.tree_size, a.root)


@case("INCONCLUSIVE", "CONSISTENCY_UNPROVEN")
def c_newer_head_without_a_consistency_proof(b: Built) -> Attempt:
    newer = anchoring.Head(_head(b).size + 5, bytes(32))
    return _on_chain(b, anchoring.ChainView(2, newer), None)


@case("FAIL", "NOT_APPEND_ONLY")
def c_newer_head_that_rewrote_the_log(b: Built) -> Attempt:
    """The issue's rewrite: a newer anchored head whose tree does not extend the bundle's."""
    newer = anchoring.Head(_head(b).size + 5, bytes([7]) * 32)
    return _on_chain(b, anchoring.ChainView(2, newer), (bytes([1]) * 32, bytes([2]) * 32))


@case("FAIL", "SPLIT_VIEW")
def c_two_roots_anchored_for_the_size_on_a_v1_contract(b: Built) -> Attempt:
    h = _head(b)
    view = anchoring.ChainView(1, h, ((h.size, h.root, bytes([9]) * 32),))
    return _on_chain(b, view, None)


@case("FAIL", "UNKNOWN_CONTRACT")
def c_anchored_by_no_vnotary_contract(b: Built) -> Attempt:
    return _on_chain(b, anchoring.ChainView(99, _head(b)), None)


@case("OK")
def c_no_anchor_but_a_witness_quorum(b: Built) -> bytes:
    """§12.3: offline, the quorum of pinned witnesses vouches for the checkpoint."""
    return b.sign(replace(b.b, anchor=None))


@case("INCONCLUSIVE", "ANCHOR_MISMATCH", "UNTRUSTED")
def c_no_anchor_and_no_witnesses_pinned(b: Built) -> Attempt:
    return Attempt(b.sign(replace(b.b, anchor=None)), trust=b.w.trust(witnesses=False))


@case("INCONCLUSIVE", "QUORUM_NOT_MET", "UNTRUSTED")
def c_one_witness_of_a_quorum_of_two(b: Built) -> bytes:
    """The collector shows a checkpoint only one pinned witness cosigned."""
    note = b.b.checkpoint
    body = note[: note.index(b"\n\n") + 1]
    signed = checkpoint.sign_checkpoint(checkpoint.Checkpoint.parse_body(body), [b.w.log_key])
    return b.sign(replace(b.b, checkpoint=b.w.cosign(signed, (0,))))


# ---- the batch segment's structure (mutation run of 2026-12-03) ---------------------------


@case("FAIL", "MALFORMED", real=False)
def c_a_batch_header_that_does_not_parse(b: Built) -> bytes:
    built = tw.finish(tw.synthetic())
    x = replace(built.b.batches[1], signed_header=b"\xa0")
    return built.sign(f.with_batch(built.b, 1, x))


@case("FAIL", "WINDOW_NOT_COVERED", real=False)
def c_no_batch_at_all(b: Built) -> bytes:
    built = tw.finish(tw.synthetic())
    return built.sign(replace(built.b, batches=()))


def _of_device(name: str) -> Callable[[dict[int, Any]], dict[int, Any]]:
    return lambda fields: {**fields, 2: name}


@case("FAIL", "KEY_MISMATCH", real=False)
def c_a_batch_signed_by_the_device_for_another_device(b: Built) -> bytes:
    w = tw.world_of([batch_records(s, 50) for s in range(2)])
    tw.seal_one(w, batch_records(2, 50), payload_edit=_of_device("veh-0002"))
    for s in range(3, 6):
        tw.seal_one(w, batch_records(s, 50))
    return tw.finish(w).good


@case("FAIL", "CHAIN_BROKEN", real=False)
def c_the_next_batch_number_over_another_previous_hash(b: Built) -> bytes:
    """The device numbers batch 2 as the next, but names another batch before it."""
    w = tw.world_of([batch_records(s, 50) for s in range(2)])
    tw.seal_one(w, batch_records(2, 50), payload_edit=lambda m: {**m, 5: bytes(32)})
    for s in range(3, 6):
        tw.seal_one(w, batch_records(s, 50))
    return tw.finish(w).good


@case("OK", real=False)
def c_a_window_that_ends_at_the_last_batchs_last_nanosecond(b: Built) -> bytes:
    w = tw.synthetic(4)
    last = w.batches[-1][0].signed.header.last_utc_ns
    return tw.finish(w, window=(T0 + SEC, last)).good


def _world_enrolled_as(action: logleaf.RegistryAction, kid: bytes | None = None) -> f.World2:
    w = f.World2()
    at = T0 - 86400 * SEC
    spki = w.device.public.spki()
    w.log.event(logleaf.RegistryEvent(action, f.DEVICE, spki, kid or w.device.kid, at, None, at))
    f.install(w)
    f.bind_owner(w)
    for s in range(6):
        tw.seal_one(w, batch_records(s, 50))
    return w


@case("FAIL", "KEY_MISMATCH", real=False)
def c_an_enrolment_that_names_another_key_id(b: Built) -> bytes:
    """The registry's enrolment gives the device's key under another key id."""
    return tw.finish(_world_enrolled_as(logleaf.RegistryAction.ENROL, b"\x01" * 8)).good


@case("FAIL", "KEY_MISMATCH", real=False)
def c_a_device_chain_that_enrols_no_key(b: Built) -> bytes:
    """The device's only registry entry revokes a key it never enrolled."""
    return tw.finish(_world_enrolled_as(logleaf.RegistryAction.REVOKE)).good


# ---- the suite -----------------------------------------------------------------------------


def test_the_real_bundle_verifies(rav4: Built) -> None:
    t = verify_bundle(rav4.good, rav4.w.trust())
    assert outcome(t) == ("OK", frozenset()), t.to_dict()
    s = t.summary
    assert s["completeness"]["can0#0aa"]["disclosed"] == s["completeness"]["can0#0aa"]["counted"]
    assert s["boundary_records"] > 0 and s["device_head"]["batch_seq"] == tw.RAV4_BATCHES - 1
    assert {"can0#0aa", "can0#0b4", "can0#224", "gnss"} <= set(s["completeness"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_corruption(name: str, rav4: Built) -> None:
    c = CASES[name]
    made = c.make(rav4)
    attempt = made if isinstance(made, Attempt) else Attempt(made)
    # Every world has the factory's fixed keys: the verifier pins the same log and collector.
    t = verify_bundle(attempt.data, attempt.trust or rav4.w.trust(), attempt.lookup)
    assert outcome(t) == (c.verdict, c.reasons), t.to_dict()


@pytest.mark.parametrize("name", sorted(CASES))
def test_corruption_gives_one_transcript_with_or_without_the_c_loop(name: str, rav4: Built) -> None:
    """The C loop only confirms: every check, reason and message is the same either way
    (and the Python code that reads the C loop's answer is reached under mutation testing,
    which turns the accelerator off for the core)."""
    made = CASES[name].make(rav4)
    attempt = made if isinstance(made, Attempt) else Attempt(made)
    got = []
    for on in (True, False):
        with c_loop(on):
            t = verify_bundle(attempt.data, attempt.trust or rav4.w.trust(), attempt.lookup)
        got.append(t.to_dict())
    assert got[0] == got[1]


@pytest.fixture(scope="module")
def recorded() -> Iterator[golden.Golden]:
    yield from golden.transcripts(Path(__file__).with_name("transcripts-v2.json"))


@pytest.mark.parametrize("name", ["(the real bundle)", *sorted(CASES)])
def test_the_transcript_is_the_recorded_one(
    name: str, rav4: Built, recorded: golden.Golden
) -> None:
    """Each case's transcript is the one in transcripts-v2.json (tests/golden.py; the
    mutation run of 2026-12-03 found 130 messages of evidence_v2 no test read)."""
    if name in CASES:
        made = CASES[name].make(rav4)
        attempt = made if isinstance(made, Attempt) else Attempt(made)
    else:
        attempt = Attempt(rav4.good)
    recorded.check(
        name, verify_bundle(attempt.data, attempt.trust or rav4.w.trust(), attempt.lookup)
    )


def test_there_are_at_least_40_named_corruptions() -> None:
    assert len(CASES) >= 40


REACHABLE = set(Reason) - {
    Reason.REPLAY, Reason.FORK, Reason.GAP, Reason.UNKNOWN_DEVICE, Reason.TOPIC_MISMATCH,
    Reason.TIME_REGRESSION, Reason.FUTURE_TIME, Reason.UNKNOWN_KEY, Reason.ORIGIN_MISMATCH,
    Reason.INTERNAL_ERROR, Reason.STALE_SIZE, Reason.REWRITE,
}  # fmt: skip


def test_every_reachable_reason_is_reached() -> None:
    reached = {reason for c in CASES.values() for reason in c.reasons}
    assert {str(x) for x in REACHABLE} - reached == set()
