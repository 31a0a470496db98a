"""Small survivors of the full mutation run of 2026-12-02, one test each (docs/testing.md):
bounds at their value, the words of refusals no other test read, and the period and window
rules of version-2 bindings."""

from __future__ import annotations

import pytest

from notary_core import batch, cose, evidence_v2, heads, limits, smt
from notary_core import records as r
from notary_core.errors import BadData, Reason
from notary_core.heads import Index
from notary_core.logleaf import AccessAction, AccessEvent, BatchLeaf
from tests.core.factories import sealed, signer

H = bytes(range(32))


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_a_block_of_exactly_the_batch_bound_is_encoded() -> None:
    n = limits.MAX_RECORDS_PER_BATCH
    assert len(batch.split_records_block(batch.encode_records_block([b"r"] * n))) == n


def test_the_can_hot_path_sends_dlc_9_to_the_full_check_even_with_9_bytes() -> None:
    enc = r.CanEncoder("can0", r.ClockSource.NTP)
    _refused(Reason.NON_CANONICAL, "DLC 9 invalid for this frame type", enc.encode, 0, 0, 0, 1,
             0, 9, bytes(9))  # fmt: skip
    assert enc.encode(0, 0, 0, 1, 0, 8, bytes(8))[-8:] == bytes(8)


def test_an_event_value_at_the_bottom_of_i64_in_either_field() -> None:
    low = -(1 << 63)
    for a, b in ((low, 0), (0, low)):
        raw = r.encode(r.Record("s", 0, 0, 0, r.ClockSource.RTC,
                                r.AgentEvent(r.EventType.SEQ_GAP, a, b)))  # fmt: skip
        body = r.decode(raw).body
        assert isinstance(body, r.AgentEvent) and (body.a, body.b) == (a, b)


def test_the_sparse_tree_takes_32_byte_hashes_only() -> None:
    t = smt.SparseTree()
    for k, v in ((H[:31], H), (H, H + b"x")):
        _refused(Reason.BAD_HASH_LENGTH, "index keys and values are 32-byte hashes", t.set, k, v)
    t.set(H, H)
    assert t.size == 1
    assert t.snapshot().prove(H).value_bytes == b""  # no bytes given: none kept


def test_the_index_keeps_as_many_snapshots_as_it_is_told() -> None:
    ix = Index(keep=2)
    for _ in range(4):
        ix.apply(ix.size, BatchLeaf(H, ix.size, "d").to_leaf())
        ix.apply(ix.size, ix.index_leaf())
    assert sorted(ix.snapshots) == [5, 7]


def test_an_index_leaf_stating_a_wrong_root_names_both() -> None:
    ix = Index()
    ix.apply(0, BatchLeaf(H, 0, "d").to_leaf())
    root = ix.root()
    wrong = heads.IndexLeaf(1, H).to_leaf()
    _refused(Reason.INDEX_MISMATCH,
             f"the index leaf at 1 states (1, {H.hex()}), the leaves give (1, {root.hex()})",
             ix.apply, 1, wrong)  # fmt: skip


def test_a_vehicle_head_that_is_not_cbor_is_named() -> None:
    with pytest.raises(BadData) as e:
        heads.VehicleHead.parse(b"\x82")  # an array of 2 with nothing in it
    assert e.value.message.startswith("vehicle head is not valid CBOR: ")


def test_a_header_signed_by_another_key_is_refused_by_name() -> None:
    h = sealed(1).signed.header
    _refused(Reason.KEY_MISMATCH, "header key_id is not the signer's key id",
             batch.SignedHeader.sign, h, signer(9))  # fmt: skip


def test_a_deterministic_signer_signs_the_same_bytes_twice() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(7, ec.SECP256R1())
    s = cose.Signer.from_key(key, deterministic=True)
    assert s.deterministic and s.sign_raw(b"m") == s.sign_raw(b"m")
    assert not cose.Signer.from_key(key).deterministic


def test_labels_of_item_keys() -> None:
    ext = 0x8000_0000
    assert evidence_v2._label("can0", 0x0AA) == "can0#0aa"
    assert evidence_v2._label("can0", ext | 0x18FEF100) == "can0#18fef100"
    assert evidence_v2._label("can0", ext | 0x1FFF_FFFF) == "can0#1fffffff"
    assert evidence_v2._label("gnss", -1) == "gnss"


def _event(action: AccessAction, start: int, end: int, subject: str = "dev") -> AccessEvent:
    return AccessEvent(action, "veh", "a", subject, start, end, 0)


def test_a_period_ends_at_its_earliest_end_entry_of_the_same_start() -> None:
    begin, end = AccessAction.DEVICE_INSTALLED, AccessAction.DEVICE_REMOVED
    events = [_event(begin, 10, 100), _event(end, 10, 60), _event(end, 10, 80),
              _event(end, 11, 20), _event(end, 10, 30, "other"),
              _event(begin, 200, 300)]  # fmt: skip
    got = evidence_v2._periods(events, begin, end)
    assert [(e.window_start_ns, e.window_end_ns) for e in got] == [(10, 60), (200, 300)]
    assert [e.action for e in got] == [begin, begin]


def test_within_includes_both_ends() -> None:
    period = _event(AccessAction.OWNER_BOUND, 10, 20)
    for start, end, inside in ((10, 20, True), (9, 20, False), (10, 21, False), (12, 15, True),
                               (5, 15, False), (15, 25, False)):  # fmt: skip
        req = _event(AccessAction.READ, start, end)
        assert evidence_v2._within(req, period) is inside, (start, end)
