"""The version-1 verifier (notary_core.evidence) check by check: each check's words on a valid
bundle, each refusal by its reason and message, and the edges of each comparison (issue 19).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from notary_core import bundle, checkpoint, grant, limits, logleaf
from notary_core.errors import Reason
from notary_core.evidence import (
    AnchorStatus,
    Check,
    Status,
    Transcript,
    Trust,
    Verdict,
    verify_bundle,
)
from tests.core.bundle_factory import (
    DEVICE,
    ORIGIN,
    SEC,
    T0,
    VEHICLE,
    World,
    _key,
    build,
    make_world,
    owner_grant,
)
from tests.core.c_loop import c_loop

Edit = Callable[[bundle.EvidenceBundle], bundle.EvidenceBundle]


@pytest.fixture(autouse=True, params=["python", "c"])
def verifier_path(request: pytest.FixtureRequest) -> Iterator[None]:
    with c_loop(request.param == "c"):
        yield


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def valid(world: World) -> bytes:
    return build(world)


def _edit(data: bytes, world: World, fn: Edit) -> bytes:
    return fn(bundle.parse_bundle(data).bundle).sign(world.collector)


def _check(t: Transcript, name: str) -> Check:
    (c,) = [c for c in t.checks if c.name == name]
    return c


def _refused(t: Transcript, name: str) -> tuple[str, str, str]:
    c = _check(t, name)
    return str(c.status), c.reason, c.detail


def _final(a: bundle.AnchorRef, **changes: object) -> AnchorStatus:
    from notary_core import anchoring

    view = anchoring.ChainView(anchoring.V2, anchoring.Head(a.tree_size, a.root))
    s = AnchorStatus(True, True, 12, True, "seen", a.block_time, view)
    return replace(s, **changes)  # type: ignore[arg-type]


def test_a_valid_bundle_reads_check_by_check(world: World, valid: bytes) -> None:
    b = bundle.parse_bundle(valid).bundle
    assert b.anchor is not None
    t = verify_bundle(valid, world.trust())
    owner = grant.thumbprint(world.owner.public_key())
    insurer = grant.thumbprint(world.insurer.public_key())
    ts = T0 // SEC + 3 * 86400
    disclosed = sum(len(x.disclosed) for x in b.batches)
    assert disclosed > 0 and len(b.batches) == 5
    assert [(c.name, c.status, c.reason, c.detail) for c in t.checks] == [
        ("bundle.signature", Status.PASS, "", "signed by the collector key it names"),
        ("checkpoint.signature", Status.PASS, "", f"{ORIGIN} at size 10"),
        ("witnesses.quorum", Status.PASS, "", "2 pinned witnesses cosigned (quorum 2): "
         f"witness.example/w1 at {ts}, witness.example/w2 at {ts}"),
        ("trust.collector", Status.PASS, "", "the log and collector keys are the ones you pinned"),
        ("anchor.matches_checkpoint", Status.PASS, "", f"chain 31337, block 7, tx 0x{'bb' * 32}"),
        ("device.enrolment", Status.PASS, "",
         f"{DEVICE}: key {world.device.kid.hex()} enrolled at log index 0"),
        ("batches.parse", Status.PASS, "", "5 batch headers"),
        ("batches.signatures", Status.PASS, "", "5 signed headers by the enrolled device key"),
        ("batches.in_log", Status.PASS, "", "5 headers included at the checkpoint"),
        ("batches.hash_chain", Status.PASS, "", "batches 0..4, unbroken"),
        ("batches.cover_window", Status.PASS, "", "the segment covers the window"),
        ("records.merkle", Status.PASS, "",
         f"{disclosed} disclosed records proven against their signed roots"),
        ("vehicle.binding", Status.PASS, "",
         f"device {DEVICE} in vehicle {VEHICLE}, owner {owner}"),
        ("grant.chain", Status.PASS, "", f"1 grant(s), grantee {insurer}, purpose 'claim 42'"),
    ]  # fmt: skip
    assert t.verdict is Verdict.OK and t.reasons == []
    assert t.summary == {
        "bundle_id": "b-1", "vehicle": VEHICLE, "device": DEVICE,
        "window_utc_ns": [T0 + SEC, T0 + 3 * SEC], "scope": ["can0#0aa", "gnss"],
        "purpose": "claim 42", "batches": [0, 4], "disclosed_records": disclosed,
        "checkpoint_size": 10,
        "anchor": {"chain_id": 31337, "tx": "0x" + "bb" * 32, "block": 7,
                   "contract": "0x" + "aa" * 20},
        "witnesses": ["witness.example/w1", "witness.example/w2"],
    }  # fmt: skip


def test_the_transcript_as_a_dict(world: World) -> None:
    t = verify_bundle(build(world, anchored=False), Trust())
    d = t.to_dict()
    assert d["verdict"] == "INCONCLUSIVE" and type(d["verdict"]) is str
    assert d["reasons"] == [] and d["summary"] is t.summary and d["summary"]["anchor"] is None
    assert d["checks"][2] == {"name": "anchor.present", "status": "undecided",
                              "reason": "ANCHOR_MISMATCH",
                              "detail": "the checkpoint is not anchored"}  # fmt: skip
    assert all(type(c["status"]) is str for c in d["checks"])
    assert _refused(t, "trust.root") == (
        "undecided", "UNTRUSTED",
        "consistent, but its checkpoint has no quorum of witnesses you pinned (--trust) "
        "and was not checked on chain (--rpc): it could be one of two histories",
    )  # fmt: skip
    assert [c.name for c in t.checks][:4] == [
        "bundle.signature", "checkpoint.signature", "anchor.present", "trust.root"]  # fmt: skip
    assert t.summary["witnesses"] == []
    failed = Transcript(Verdict.FAIL, [Check("a", Status.FAIL, "X"), Check("b", Status.PASS),
                                       Check("c", Status.UNDECIDED, "Y"),
                                       Check("d", Status.FAIL, "Z")])  # fmt: skip
    assert failed.reasons == ["X", "Z"]


def test_an_unanchored_checkpoint_with_a_quorum_is_ok(world: World) -> None:
    t = verify_bundle(build(world, anchored=False), world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    assert _refused(t, "anchor.present") == (
        "pass",
        "",
        "not anchored on chain; the witness quorum vouches for it",
    )
    assert "trust.root" not in {c.name for c in t.checks}


def test_a_quorum_of_zero_still_needs_one_cosignature(world: World) -> None:
    pinned = replace(world.trust(), witness_quorum=0)
    t = verify_bundle(build(world, cosigners=()), pinned)
    assert _refused(t, "witnesses.quorum")[:2] == ("undecided", "QUORUM_NOT_MET")
    ok = verify_bundle(build(world, cosigners=(2,)), pinned)
    assert _check(ok, "witnesses.quorum").detail.startswith(
        "1 pinned witnesses cosigned (quorum 0): witness.example/w3 at "
    )
    every = replace(world.trust(), witness_quorum=None)  # None: all three pinned
    t = verify_bundle(build(world), every)
    assert _refused(t, "witnesses.quorum")[:2] == ("undecided", "QUORUM_NOT_MET")
    three = verify_bundle(build(world, cosigners=(0, 1, 2)), every)
    assert _check(three, "witnesses.quorum").detail.startswith(
        "3 pinned witnesses cosigned (quorum 3)"
    )


def test_without_pins_there_is_no_trust_collector_check(world: World, valid: bytes) -> None:
    only_witnesses = replace(world.trust(), log_vkeys=frozenset(), collector_keys=frozenset())
    t = verify_bundle(valid, only_witnesses)
    assert t.verdict is Verdict.OK and "trust.collector" not in {c.name for c in t.checks}
    only_collector = replace(world.trust(), log_vkeys=frozenset())
    c = _check(verify_bundle(valid, only_collector), "trust.collector")
    assert (c.status, c.detail) == (
        Status.PASS,
        "the log and collector keys are the ones you pinned",
    )
    only_log = replace(world.trust(), collector_keys=frozenset())
    c = _check(verify_bundle(valid, only_log), "trust.collector")
    assert (c.status, c.detail) == (
        Status.PASS,
        "the log and collector keys are the ones you pinned",
    )


def test_pinned_keys_refuse_another_collector_or_log(world: World, valid: bytes) -> None:
    from notary_core import cose

    other = cose.Signer.from_key(_key(70)).public.spki()
    t = verify_bundle(valid, replace(world.trust(), collector_keys=frozenset({other})))
    assert t.verdict is Verdict.FAIL and t.reasons == ["UNTRUSTED"]
    assert _refused(t, "trust.collector") == (
        "fail",
        "UNTRUSTED",
        "the bundle key is not one you pinned (collector_keys)",
    )
    stranger = checkpoint.NoteSigner(ORIGIN, _key(71)).verifier.vkey
    t = verify_bundle(valid, replace(world.trust(), log_vkeys=frozenset({stranger})))
    assert t.reasons == ["UNTRUSTED"]
    assert _refused(t, "trust.collector") == (
        "fail",
        "UNTRUSTED",
        "the checkpoint is signed by no log key you pinned (log_vkeys)",
    )


def test_a_log_key_rotation_is_named(world: World, valid: bytes) -> None:
    """§6.3: the checkpoint signed by the old and the new key; the bundle names the new one,
    the verifier pinned the old one (beside a stranger sorted first)."""
    new = checkpoint.NoteSigner(ORIGIN, _key(72))

    def rotate(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        cp = checkpoint.Checkpoint.parse_body(b.checkpoint[: b.checkpoint.rfind(b"\n\n") + 1])
        return replace(b, checkpoint=checkpoint.sign_checkpoint(cp, [new, world.log_key]),
                       log_vkey=new.verifier.vkey)  # fmt: skip

    data = _edit(valid, world, rotate)
    old = world.log_key.verifier.vkey
    keys = [checkpoint.NoteSigner(ORIGIN, _key(s)).verifier.vkey for s in range(73, 250)]
    strangers = [min(keys), max(keys)]
    pins = frozenset({old, *strangers})
    assert strangers[0] < old < strangers[1]
    t = verify_bundle(data, replace(world.trust(witnesses=False), log_vkeys=pins))
    assert _refused(t, "trust.collector") == (
        "pass", "",
        f"the checkpoint is signed by the pinned log key {old} (the bundle names "
        f"{new.verifier.vkey}: a log key rotation, §6.3); the bundle key is pinned",
    )  # fmt: skip
    both = verify_bundle(data, replace(world.trust(witnesses=False),
                                       log_vkeys=frozenset({old, new.verifier.vkey})))  # fmt: skip
    assert _check(both, "trust.collector").detail == (
        "the log and collector keys are the ones you pinned"
    )


def test_an_anchor_of_another_checkpoint(world: World, valid: bytes) -> None:
    def root(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        assert b.anchor is not None
        return replace(b, anchor=replace(b.anchor, root=bytes(32)))

    def size(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        assert b.anchor is not None
        return replace(b, anchor=replace(b.anchor, tree_size=b.anchor.tree_size + 1))

    for fn in (root, size):
        t = verify_bundle(_edit(valid, world, fn), world.trust())
        assert t.reasons == ["ANCHOR_MISMATCH"]
        assert _refused(t, "anchor.matches_checkpoint") == (
            "fail",
            "ANCHOR_MISMATCH",
            "the anchor carries another checkpoint",
        )


def test_the_anchor_is_matched_against_the_text_up_to_the_last_blank_line(
    world: World, valid: bytes
) -> None:
    """A note splits at its last blank line (signed-note §Format), for the anchor check as for
    the signatures: a checkpoint padded with a second signature block is not read as the
    valid text before its first blank line."""

    def padded(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        sigs = b.checkpoint[b.checkpoint.index(b"\n\n") + 2 :]
        return replace(b, checkpoint=b.checkpoint + b"\n" + sigs)

    t = verify_bundle(_edit(valid, world, padded), world.trust())
    assert _refused(t, "anchor.matches_checkpoint") == (
        "fail",
        "BAD_CHECKPOINT",
        "extension lines must be non-empty single lines",
    )


def test_pinned_anchor_contracts(world: World, valid: bytes) -> None:
    pinned = replace(world.trust(), anchor_contracts=frozenset({(31337, bytes([0xAA]) * 20)}))
    t = verify_bundle(valid, pinned)
    assert t.verdict is Verdict.OK
    assert _refused(t, "trust.anchor_contract") == (
        "pass",
        "",
        f"contract 0x{'aa' * 20} on chain 31337 is pinned",
    )
    for other in ((1, bytes([0xAA]) * 20), (31337, bytes([0xAB]) * 20)):
        t = verify_bundle(valid, replace(world.trust(), anchor_contracts=frozenset({other})))
        assert t.reasons == ["UNTRUSTED"]
        assert _refused(t, "trust.anchor_contract") == (
            "fail",
            "UNTRUSTED",
            "anchored by a contract you do not trust",
        )
    assert "trust.anchor_contract" not in {
        c.name for c in verify_bundle(valid, world.trust()).checks
    }


def test_the_chain_lookup_check_by_check(world: World, valid: bytes) -> None:
    a = bundle.parse_bundle(valid).bundle.anchor
    assert a is not None

    def run(**changes: object) -> Transcript:
        return verify_bundle(valid, None, lambda got: _final(got, **changes))

    ok = run()
    assert ok.verdict is Verdict.OK and "trust.root" not in {c.name for c in ok.checks}
    assert _refused(ok, "anchor.on_chain") == ("pass", "", "12 confirmations, final; seen")
    assert _check(ok, "anchor.append_only").status is Status.PASS
    assert _refused(run(found=False, detail="no such tx"), "anchor.on_chain") == (
        "fail",
        "ANCHOR_MISMATCH",
        "not on chain: no such tx",
    )
    assert _refused(run(block_hash_matches=False), "anchor.on_chain") == (
        "fail",
        "ANCHOR_MISMATCH",
        "the block hash differs (reorg?)",
    )
    assert _refused(run(block_time=a.block_time - 1), "anchor.on_chain") == (
        "fail",
        "ANCHOR_MISMATCH",
        "the bundle states another block time",
    )
    assert _check(run(block_time=None), "anchor.on_chain").status is Status.PASS
    pending = run(final=False, confirmations=3)
    assert pending.verdict is Verdict.INCONCLUSIVE
    assert _refused(pending, "anchor.on_chain") == (
        "undecided",
        "UNREACHABLE",
        "only 3 confirmations, not final",
    )
    # A failed on-chain check still reads the heads (the append-only check runs).
    assert _check(run(block_hash_matches=False), "anchor.append_only").status is Status.PASS


def test_a_bundle_without_a_block_time_is_not_compared(world: World, valid: bytes) -> None:
    def no_time(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        assert b.anchor is not None
        return replace(b, anchor=replace(b.anchor, block_time=0))

    data = _edit(valid, world, no_time)
    t = verify_bundle(data, None, lambda a: _final(a, block_time=T0 // SEC))
    assert _check(t, "anchor.on_chain").status is Status.PASS, t.to_dict()


def test_heads_not_read_are_undecided(world: World, valid: bytes) -> None:
    t = verify_bundle(valid, None, lambda a: _final(a, chain=None))
    assert t.verdict is Verdict.INCONCLUSIVE
    assert _refused(t, "anchor.append_only") == (
        "undecided",
        "UNREACHABLE",
        "the contract's anchored heads were not read: the lookup does not read them",
    )
    t = verify_bundle(valid, None, lambda a: _final(a, chain=None, chain_detail="no --collector"))
    assert _refused(t, "anchor.append_only")[2] == (
        "the contract's anchored heads were not read: no --collector"
    )
    ok = verify_bundle(valid, None, _final)
    assert _check(ok, "anchor.append_only").detail != ""


def test_a_verifier_fault_is_an_error_and_restores_the_collector(valid: bytes) -> None:
    def broken(a: bundle.AnchorRef) -> AnchorStatus:
        raise RuntimeError("boom")

    assert gc.isenabled()
    t = verify_bundle(valid, None, broken)
    assert gc.isenabled()
    assert t.verdict is Verdict.ERROR and t.summary == {}
    assert [(c.name, c.status, c.reason, c.detail) for c in t.checks] == [
        ("verifier.internal", Status.FAIL, "INTERNAL_ERROR",
         "internal error in the verifier: RuntimeError: boom")]  # fmt: skip
    gc.disable()
    try:
        assert verify_bundle(valid).verdict is Verdict.INCONCLUSIVE
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_is_paused_while_verifying(valid: bytes) -> None:
    seen: list[bool] = []

    def lookup(a: bundle.AnchorRef) -> AnchorStatus:
        seen.append(gc.isenabled())
        return _final(a)

    verify_bundle(valid, None, lookup)
    assert seen == [False] and gc.isenabled()


def test_unreadable_and_failed_parses() -> None:
    t = verify_bundle(b"not a bundle")
    assert t.verdict is Verdict.UNREADABLE
    assert [(c.name, c.status) for c in t.checks] == [("bundle.parse", Status.FAIL)]
    assert t.checks[0].reason == "UNREADABLE" and t.checks[0].detail != ""


def test_another_signer_is_refused_with_its_words(world: World, valid: bytes) -> None:
    from notary_core import cose

    signed = bundle.parse_bundle(valid)
    forged = cose.sign1(cose.Signer.from_key(_key(55)), signed.message.payload,
                        bundle.BUNDLE_CONTENT_TYPE)  # fmt: skip
    t = verify_bundle(forged, world.trust())
    c = _check(t, "bundle.signature")
    assert (c.status, c.reason) == (Status.FAIL, "KEY_MISMATCH") and c.detail != (
        "signed by the collector key it names"
    )


def test_a_forged_checkpoint_leaves_nothing_to_prove_against(world: World, valid: bytes) -> None:
    def forge(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        cp = checkpoint.Checkpoint.parse_body(b.checkpoint[: b.checkpoint.rfind(b"\n\n") + 1])
        return replace(b, checkpoint=checkpoint.sign_checkpoint(
            cp, [checkpoint.NoteSigner(ORIGIN, _key(99))]))  # fmt: skip

    t = verify_bundle(_edit(valid, world, forge), Trust())
    status, reason, detail = _refused(t, "checkpoint.signature")
    assert (status, reason) == ("fail", "BAD_CHECKPOINT")
    assert detail.startswith("BAD_SIGNATURE: ") or detail.split(": ")[0].isupper()
    assert t.summary["checkpoint_size"] is None
    assert _refused(t, "device.enrolment") == (
        "undecided",
        "UNREACHABLE",
        "a device registry event: no valid checkpoint to prove it against",
    )
    assert _refused(t, "batches.in_log") == (
        "undecided",
        "UNREACHABLE",
        "a batch header: no valid checkpoint to prove it against",
    )
    assert _refused(t, "vehicle.binding") == (
        "undecided",
        "UNREACHABLE",
        "a vehicle event: no valid checkpoint to prove it against",
    )
    # No registry event proven: the key is valid for no batch.
    assert _refused(t, "batches.signatures") == (
        "fail",
        "KEY_NOT_VALID",
        "batch 0 outside the key's validity",
    )
    assert _check(t, "records.merkle").status is Status.PASS
    assert _refused(t, "grant.chain") == (
        "undecided",
        "UNREACHABLE",
        "no owner to check the grants against",
    )
    assert t.verdict is Verdict.FAIL


def test_an_entry_not_in_the_log(world: World, valid: bytes) -> None:
    def move(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        e = b.device_events[0]
        return replace(b, device_events=(replace(e, log_index=e.log_index + 1),))

    t = verify_bundle(_edit(valid, world, move), world.trust())
    status, reason, detail = _refused(t, "device.enrolment")
    assert (status, reason) == ("fail", "NOT_IN_LOG")
    assert detail.startswith("a device registry event is not in the log: ")
    assert len(detail) > len("a device registry event is not in the log: ")

    def grant_moved(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        e = b.grant_events[0]
        return replace(b, grant_events=(replace(e, log_index=e.log_index - 1),))

    t = verify_bundle(_edit(valid, world, grant_moved), world.trust())
    assert _refused(t, "grant.chain")[:2] == ("fail", "NOT_IN_LOG")
    assert _refused(t, "grant.chain")[2].startswith("a grant event is not in the log: ")

    def vehicle_moved(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        e = b.vehicle_events[0]
        return replace(b, vehicle_events=(replace(e, log_index=e.log_index + 1),
                                          b.vehicle_events[1]))  # fmt: skip

    t = verify_bundle(_edit(valid, world, vehicle_moved), world.trust())
    assert _refused(t, "vehicle.binding")[2].startswith("a vehicle event is not in the log: ")

    def batch_moved(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        x = b.batches[0]
        return replace(b, batches=(replace(x, log_index=x.log_index + 1), *b.batches[1:]))

    t = verify_bundle(_edit(valid, world, batch_moved), world.trust())
    assert _refused(t, "batches.in_log")[2].startswith("a batch header is not in the log: ")


def test_an_inclusion_proof_over_its_bound_is_too_large(world: World, valid: bytes) -> None:
    from notary_core import limits

    def long_proof(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        e = b.device_events[0]
        proof = tuple(bytes(32) for _ in range(limits.MAX_PROOF_NODES + 1))
        return replace(b, device_events=(replace(e, proof=proof),))

    t = verify_bundle(_edit(valid, world, long_proof), world.trust())
    assert _refused(t, "device.enrolment")[:2] == ("fail", "TOO_LARGE")


def _registry(action: logleaf.RegistryAction, world: World, nb: int, na: int | None,
              at: int, device: str = DEVICE) -> bytes:  # fmt: skip
    return logleaf.RegistryEvent(action, device, world.device.public.spki(), world.device.kid,
                                 nb, na, at).to_leaf()  # fmt: skip


def _only_device_events(world: World, *leaves: bytes) -> bytes:
    """A bundle whose device events are exactly `leaves` (the factory's enrolment left out)."""
    data = build(world, device_leaves=leaves)

    def drop(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, device_events=b.device_events[1:])

    return _edit(data, world, drop)


def test_the_enrolment_must_name_this_device_and_key(world: World) -> None:
    E = logleaf.RegistryAction
    before = T0 - 86400 * SEC
    other = _only_device_events(world, _registry(E.ENROL, world, before, None, before, "veh-9"))
    t = verify_bundle(other, world.trust())
    assert _refused(t, "device.enrolment") == (
        "fail",
        "KEY_MISMATCH",
        "the device key has no enrolment in the log",
    )
    revoked = _only_device_events(world, _registry(E.REVOKE, world, before, None, before))
    assert _refused(verify_bundle(revoked, world.trust()), "device.enrolment")[1] == "KEY_MISMATCH"
    rotated = _only_device_events(world, _registry(E.ROTATE, world, before, None, before))
    t = verify_bundle(rotated, world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    c = _check(t, "device.enrolment")
    assert c.detail.endswith(
        f"enrolled at log index {bundle.parse_bundle(rotated).bundle.device_events[0].log_index}"
    )
    assert bundle.parse_bundle(rotated).bundle.device_events[0].log_index != 0


def test_the_key_validity_edges(world: World) -> None:
    E = logleaf.RegistryAction
    b = bundle.parse_bundle(build(world)).bundle
    from notary_core.header import SignedHeader

    hs = [SignedHeader.parse(x.signed_header).header for x in b.batches]
    first = min(h.first_utc_ns for h in hs)
    last = max(h.last_utc_ns for h in hs)
    first_batch = hs[0]

    def verdict(*leaves: bytes) -> Transcript:
        return verify_bundle(_only_device_events(world, *leaves), world.trust())

    enrol = _registry(E.ENROL, world, first, last, first)
    assert verdict(enrol).verdict is Verdict.OK  # validity exactly the segment
    late = verdict(_registry(E.ENROL, world, first + 1, None, first))
    assert _refused(late, "batches.signatures") == (
        "fail",
        "KEY_NOT_VALID",
        f"batch {first_batch.batch_seq} outside the key's validity",
    )
    early_end = verdict(_registry(E.ENROL, world, first, last - 1, first))
    assert _refused(early_end, "batches.signatures")[1] == "KEY_NOT_VALID"
    at_last = verdict(enrol, _registry(E.REVOKE, world, first, None, first_batch.last_utc_ns))
    assert _refused(at_last, "batches.signatures") == (
        "fail",
        "REVOKED_KEY",
        f"key revoked before batch {first_batch.batch_seq} was signed",
    )
    after = verdict(enrol, _registry(E.REVOKE, world, first, None, last + 1))
    assert after.verdict is Verdict.OK, after.to_dict()
    # A revocation of another key, matching neither kid nor SPKI, does not touch this one.
    other = logleaf.RegistryEvent(E.REVOKE, DEVICE, b"\x01" * 44, b"\x02" * 16, first, None,
                                  first).to_leaf()  # fmt: skip
    assert verdict(enrol, other).verdict is Verdict.OK


def test_headers_of_another_device_or_a_broken_chain(world: World) -> None:
    w = make_world(n_batches=3, per_batch=10)
    # the third batch of another world: same device key, its own chain
    t = verify_bundle(build(w, window=(T0, T0 + 2 * SEC)), w.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    assert _check(t, "batches.hash_chain").detail == "batches 0..2, unbroken"

    def swap(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, batches=(b.batches[1], b.batches[0], *b.batches[2:]))

    t = verify_bundle(_edit(build(w, window=(T0, T0 + 2 * SEC)), w, swap), w.trust())
    assert _refused(t, "batches.hash_chain") == (
        "fail",
        "CHAIN_BROKEN",
        "chain broken between 1 and 0",
    )

    def drop_middle(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, batches=(b.batches[0], b.batches[2]))

    t = verify_bundle(_edit(build(w, window=(T0, T0 + 2 * SEC)), w, drop_middle), w.trust())
    assert _refused(t, "batches.hash_chain") == (
        "fail",
        "CHAIN_BROKEN",
        "chain broken between 0 and 2",
    )


def test_a_header_of_the_same_seq_but_another_prev_hash_breaks_the_chain() -> None:
    a, b = make_world(n_batches=2, per_batch=10), make_world(n_batches=2, per_batch=10)
    b.device, b.collector, b.log_key = a.device, a.collector, a.log_key
    # World b's batch 1 follows b's batch 0, whose salt differs: another header hash.
    data = build(a, window=(T0, T0 + SEC))
    other = bundle.parse_bundle(build(b, window=(T0, T0 + SEC))).bundle

    def splice(x: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        y = x.batches[1]
        spliced = replace(other.batches[1], log_index=y.log_index, log_proof=y.log_proof)
        return replace(x, batches=(x.batches[0], spliced))

    t = verify_bundle(_edit(data, a, splice), a.trust())
    assert _refused(t, "batches.hash_chain") == (
        "fail",
        "CHAIN_BROKEN",
        "chain broken between 0 and 1",
    )


def test_a_bundle_without_batches_fails_and_is_no_verifier_error(world: World) -> None:
    t = verify_bundle(build(world, select=slice(0, 0)), world.trust())
    assert t.verdict is Verdict.FAIL and t.reasons == ["WINDOW_NOT_COVERED"]
    assert _refused(t, "batches.hash_chain") == (
        "fail",
        "WINDOW_NOT_COVERED",
        "the bundle holds no batch",
    )
    assert _refused(t, "batches.cover_window") == (
        "undecided",
        "UNREACHABLE",
        "no batch header to check the window with",
    )
    assert t.summary["batches"] == [] and t.summary["disclosed_records"] == 0
    assert _check(t, "batches.parse").detail == "0 batch headers"
    assert _check(t, "records.merkle").detail == (
        "0 disclosed records proven against their signed roots"
    )


def test_an_unparsable_header_leaves_the_batch_checks_undecided(world: World, valid: bytes) -> None:
    def junk(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        x = b.batches[1]
        return replace(b, batches=(b.batches[0], replace(x, signed_header=b"junk"), *b.batches[2:]))

    t = verify_bundle(_edit(valid, world, junk), world.trust())
    assert t.verdict is Verdict.FAIL
    assert _refused(t, "batches.parse")[:2] == ("fail", "MALFORMED")
    assert _refused(t, "batches.signatures") == (
        "undecided",
        "UNREACHABLE",
        "no device key or no parsed headers to check signatures with",
    )
    assert _refused(t, "batches.in_log") == (
        "undecided",
        "UNREACHABLE",
        "the headers could not be parsed",
    )
    assert _refused(t, "batches.cover_window")[:2] == ("undecided", "UNREACHABLE")


def test_an_unreadable_device_key(world: World, valid: bytes) -> None:
    def garbage(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, device_key=b"garbage")

    t = verify_bundle(_edit(valid, world, garbage), world.trust())
    assert _refused(t, "device.enrolment")[:2] == ("fail", "BAD_KEY")
    assert _refused(t, "batches.signatures") == (
        "undecided",
        "UNREACHABLE",
        "no device key or no parsed headers to check signatures with",
    )
    assert _check(t, "batches.in_log").status is Status.PASS


def test_the_window_edges(world: World) -> None:
    # Batch 0 starts at T0: a window from T0 needs nothing before; batches 1.. must show
    # what came before a window that starts before them.
    skip_first = build(world, window=(T0 + SEC, T0 + 3 * SEC), select=slice(1, None))
    t = verify_bundle(skip_first, world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()  # batch 1 starts at the window start
    early = build(world, window=(T0 + SEC - 1, T0 + 3 * SEC), select=slice(1, None))
    t = verify_bundle(early, world.trust())
    assert _refused(t, "batches.cover_window") == (
        "fail",
        "WINDOW_NOT_COVERED",
        "no batch shows what came before the window",
    )
    from_zero = build(world, window=(T0 - SEC, T0 + 3 * SEC))
    assert _check(verify_bundle(from_zero, world.trust()), "batches.cover_window").status is (
        Status.PASS
    )  # batch 0: nothing came before it


def test_a_window_past_the_newest_batch_is_noted(world: World) -> None:
    b = bundle.parse_bundle(build(world)).bundle
    from notary_core.header import SignedHeader

    last = SignedHeader.parse(b.batches[-1].signed_header).header.last_utc_ns
    at = build(world, window=(T0 + SEC, last), select=slice(0, 5))
    c = _check(verify_bundle(at, world.trust()), "batches.cover_window")
    assert c.detail == "the segment covers the window"
    past = build(world, window=(T0 + SEC, last + 1), select=slice(0, 5))
    c = _check(verify_bundle(past, world.trust()), "batches.cover_window")
    assert c.detail == ("the segment covers the window; the window runs past the newest batch "
                        "the log held at the checkpoint")  # fmt: skip


def _batch_items(b: bundle.EvidenceBundle, i: int, items: tuple[bundle.Disclosed, ...]) -> (
        bundle.EvidenceBundle):  # fmt: skip
    x = b.batches[i]
    return replace(b, batches=(*b.batches[:i], replace(x, disclosed=items), *b.batches[i + 1 :]))


def test_records_out_of_order_or_outside_the_scope(world: World, valid: bytes) -> None:
    from notary_core import records as r

    b = bundle.parse_bundle(valid).bundle
    x = b.batches[1]
    seq = x.disclosed
    twice = _batch_items(b, 1, (seq[0], seq[0], *seq[1:]))
    t = verify_bundle(twice.sign(world.collector), world.trust())
    assert _refused(t, "records.merkle") == (
        "fail",
        "RECORD_ORDER",
        f"batch {1}: disclosed indices out of order",
    )
    backwards = _batch_items(b, 1, (seq[1], seq[0], *seq[2:]))
    t = verify_bundle(backwards.sign(world.collector), world.trust())
    assert _refused(t, "records.merkle")[2] == "batch 1: disclosed indices out of order"
    # same stream, a sequence number that does not rise
    streams = [r.decode(d.record).stream for d in seq]
    i = streams.index("gnss")
    j = streams.index("gnss", i + 1)
    a_rec = seq[i]
    same_seq = seq[j]._replace(record=a_rec.record, salt=a_rec.salt)
    items = tuple(same_seq if k == j else d for k, d in enumerate(seq))
    t = verify_bundle(_batch_items(b, 1, items).sign(world.collector), world.trust())
    assert _refused(t, "records.merkle") == ("fail", "RECORD_ORDER", "batch 1: gnss out of order")
    narrow = replace(b, request=replace(b.request, scope=("gnss",)))
    t = verify_bundle(narrow.sign(world.collector), world.trust())
    assert _refused(t, "records.merkle") == (
        "fail",
        "OUTSIDE_GRANT",
        "a record of can0 is outside the scope",
    )


def test_a_stream_that_starts_at_seq_zero(world: World) -> None:
    """The first record of a stream may have sequence number 0 (last_seq starts below 0)."""
    t = verify_bundle(build(world, window=(T0, T0 + SEC)), world.trust())
    b = bundle.parse_bundle(build(world, window=(T0, T0 + SEC))).bundle
    from notary_core import records as r

    assert r.decode(b.batches[0].disclosed[0].record).seq == 0
    assert t.verdict is Verdict.OK, t.to_dict()


def test_a_batch_with_nothing_disclosed_counts_zero(world: World) -> None:
    data = build(world, scope=("can0#7ff",))
    b = bundle.parse_bundle(data).bundle
    assert all(not x.disclosed for x in b.batches)
    grants = [grant.issue(owner_grant(world, scope=("can0#7ff",)), world.owner)]
    t = verify_bundle(build(world, scope=("can0#7ff",), grants=grants), world.trust())
    assert (
        _check(t, "records.merkle").detail
        == "0 disclosed records proven against their signed roots"
    )
    assert t.verdict is Verdict.OK, t.to_dict()


def _access(action: logleaf.AccessAction, vehicle: str, subject: str, start: int, end: int,
            at: int = T0) -> bytes:  # fmt: skip
    return logleaf.AccessEvent(action, vehicle, "operator", subject, start, end, at).to_leaf()


def _vehicle_events(world: World, *leaves: bytes) -> bytes:
    """A bundle whose vehicle events are exactly `leaves`, logged after the grant."""
    data = build(world, extra_leaves=leaves)

    def move(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        n = len(leaves)
        return replace(b, vehicle_events=b.grant_events[-n:], grant_events=b.grant_events[:-n])

    return _edit(data, world, move)


def test_the_vehicle_binding_edges(world: World) -> None:
    A = logleaf.AccessAction
    owner = grant.thumbprint(world.owner.public_key())
    s, e = T0 + SEC, T0 + 3 * SEC  # the factory's window

    def run(*leaves: bytes) -> Transcript:
        return verify_bundle(_vehicle_events(world, *leaves), world.trust())

    installed = _access(A.DEVICE_INSTALLED, VEHICLE, DEVICE, s, e)
    bound = _access(A.OWNER_BOUND, VEHICLE, owner, s, e)
    t = run(installed, bound)
    assert t.verdict is Verdict.OK, t.to_dict()  # exactly the window
    late = run(_access(A.DEVICE_INSTALLED, VEHICLE, DEVICE, s + 1, e), bound)
    assert _refused(late, "vehicle.binding") == (
        "fail",
        "WRONG_VEHICLE",
        f"device {DEVICE} not in {VEHICLE} then",
    )
    early = run(_access(A.DEVICE_INSTALLED, VEHICLE, DEVICE, s, e - 1), bound)
    assert _refused(early, "vehicle.binding")[1] == "WRONG_VEHICLE"
    assert _refused(run(_access(A.DEVICE_INSTALLED, "vin-X", DEVICE, s, e), bound),
                    "vehicle.binding")[1] == "WRONG_VEHICLE"  # fmt: skip
    assert _refused(run(_access(A.DEVICE_INSTALLED, VEHICLE, "veh-9", s, e), bound),
                    "vehicle.binding")[1] == "WRONG_VEHICLE"  # fmt: skip
    assert _refused(run(_access(A.OWNER_BOUND, VEHICLE, DEVICE, s, e), bound),
                    "vehicle.binding")[1] == "WRONG_VEHICLE"  # fmt: skip
    for leaves in ((installed,), (installed, _access(A.OWNER_BOUND, "vin-X", owner, s, e)),
                   (installed, _access(A.OWNER_BOUND, VEHICLE, owner, s + 1, e)),
                   (installed, _access(A.DEVICE_INSTALLED, VEHICLE, owner, s, e))):  # fmt: skip
        t = run(*leaves)
        assert _refused(t, "vehicle.binding") == (
            "fail",
            "NOT_OWNER",
            "no owner bound to the vehicle for the whole window",
        )
        assert _refused(t, "grant.chain") == (
            "undecided",
            "UNREACHABLE",
            "no owner to check the grants against",
        )
    # The first owner bound is the one the grants are checked against.
    stranger = grant.thumbprint(world.adjuster.public_key())
    t = run(installed, _access(A.OWNER_BOUND, VEHICLE, stranger, s, e), bound)
    assert _check(t, "vehicle.binding").detail.endswith(f"owner {stranger}")
    assert _refused(t, "grant.chain")[1] == "NOT_OWNER"


def test_the_use_of_the_grant(world: World) -> None:
    def run(**changes: object) -> Transcript:
        token = grant.issue(owner_grant(world, **changes), world.owner)
        return verify_bundle(build(world, grants=[token]), world.trust())

    def refusal(**changes: object) -> tuple[str, str, str]:
        return _refused(run(**changes), "grant.chain")

    assert refusal(vehicle="vin-OTHER") == (
        "fail",
        "WRONG_VEHICLE",
        "the grant is for another vehicle",
    )
    assert refusal(actions=("read",)) == (
        "fail",
        "OUTSIDE_GRANT",
        "the grant does not allow export",
    )
    issued = (T0 + 2 * 86400 * SEC) // SEC  # the factory's issue time, in seconds
    expired = ("fail", "GRANT_EXPIRED", "the grant was not valid when the bundle was issued")
    assert refusal(exp=issued) == expired
    assert refusal(exp=issued + 1)[0] == "pass"
    assert refusal(nbf=issued, iat=issued)[0] == "pass"
    assert refusal(nbf=issued + 1, iat=issued + 1) == expired
    window = ("fail", "OUTSIDE_GRANT", "the window is outside the granted window")
    assert refusal(window_start_ns=T0 + SEC + 1) == window
    assert refusal(window_start_ns=T0 + SEC)[0] == "pass"
    assert refusal(window_end_ns=T0 + 3 * SEC - 1) == window
    assert refusal(window_end_ns=T0 + 3 * SEC)[0] == "pass"
    assert refusal(scope=("can0#0aa",)) == (
        "fail",
        "OUTSIDE_GRANT",
        "a requested stream is not granted",
    )


def test_a_bundle_issued_to_someone_not_granted(world: World, valid: bytes) -> None:
    def other(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, request=replace(b.request, grantee="somebody-else"))

    t = verify_bundle(_edit(valid, world, other), world.trust())
    assert _refused(t, "grant.chain") == (
        "fail",
        "OUTSIDE_GRANT",
        "the bundle was issued to someone not granted",
    )


def test_a_revocation_before_issue(world: World) -> None:
    A = logleaf.AccessAction
    issued = T0 + 2 * 86400 * SEC

    def run(*leaves: bytes) -> Transcript:
        return verify_bundle(build(world, extra_leaves=leaves), world.trust())

    revoked = ("fail", "GRANT_REVOKED", "grant g-1 was revoked before issue")
    assert _refused(run(_access(A.REVOKE, VEHICLE, "g-1", T0, T0 + SEC, issued)),
                    "grant.chain") == revoked  # fmt: skip
    later = run(_access(A.REVOKE, VEHICLE, "g-1", T0, T0 + SEC, issued + 1))
    assert later.verdict is Verdict.OK, later.to_dict()
    assert run(_access(A.REVOKE, VEHICLE, "g-9", T0, T0 + SEC, T0)).verdict is Verdict.OK
    assert run(_access(A.GRANT, VEHICLE, "g-1", T0, T0 + SEC, T0)).verdict is Verdict.OK


def test_a_grant_not_logged(world: World, valid: bytes) -> None:
    def unlogged(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, grant_events=())

    t = verify_bundle(_edit(valid, world, unlogged), world.trust())
    assert _refused(t, "grant.chain") == (
        "fail",
        "NOT_IN_LOG",
        "a grant of the chain is not in the log",
    )
    other = _access(logleaf.AccessAction.GRANT, VEHICLE, "g-7", T0, T0 + SEC)

    def swapped(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, grant_events=b.grant_events[1:])

    t = verify_bundle(_edit(build(world, extra_leaves=(other,)), world, swapped), world.trust())
    assert _refused(t, "grant.chain")[2] == "a grant of the chain is not in the log"


def test_the_reason_enum_is_what_the_transcript_names() -> None:
    assert str(Reason.UNTRUSTED) == "UNTRUSTED"


def test_the_checkpoint_refusal_names_the_inner_reason(world: World, valid: bytes) -> None:
    b = bundle.parse_bundle(valid).bundle
    forged = checkpoint.sign_checkpoint(
        checkpoint.Checkpoint.parse_body(b.checkpoint[: b.checkpoint.rfind(b"\n\n") + 1]),
        [checkpoint.NoteSigner(ORIGIN, _key(99))],
    )
    from notary_core.errors import BadData

    with pytest.raises(BadData) as inner:
        checkpoint.open_checkpoint(
            forged, [checkpoint.NoteVerifier.from_vkey(b.log_vkey)], origin=b.log_origin
        )
    t = verify_bundle(replace(b, checkpoint=forged).sign(world.collector), Trust())
    assert _refused(t, "checkpoint.signature") == (
        "fail", "BAD_CHECKPOINT", f"{inner.value.reason}: {inner.value.message}")  # fmt: skip
    assert inner.value.message != ""


def test_an_unreachable_node_reads_no_heads(world: World, valid: bytes) -> None:
    from notary_core.errors import Unreachable

    def down(a: bundle.AnchorRef) -> AnchorStatus:
        raise Unreachable("node down")

    t = verify_bundle(valid, None, down)
    assert _refused(t, "anchor.on_chain") == ("undecided", "UNREACHABLE", "node down")
    assert "anchor.append_only" not in {c.name for c in t.checks}
    assert "trust.root" not in {c.name for c in t.checks}
    assert t.verdict is Verdict.INCONCLUSIVE


def test_the_append_only_words_are_the_contracts(world: World, valid: bytes) -> None:
    from notary_core import anchoring

    a = bundle.parse_bundle(valid).bundle.anchor
    assert a is not None
    at_head = anchoring.ChainView(anchoring.V2, anchoring.Head(a.tree_size, a.root))
    t = verify_bundle(valid, None, _final)
    assert _check(t, "anchor.append_only").detail == anchoring.append_only(
        a.tree_size, a.root, at_head, None
    )
    newer = anchoring.ChainView(anchoring.V2, anchoring.Head(a.tree_size + 3, bytes(32)))
    t = verify_bundle(valid, None, lambda got: _final(got, chain=newer, chain_detail="offline"))
    assert _refused(t, "anchor.append_only") == (
        "undecided", "CONSISTENCY_UNPROVEN",
        f"a newer head is anchored (size {a.tree_size + 3}): offline",
    )  # fmt: skip
    below = anchoring.ChainView(anchoring.V2, anchoring.Head(a.tree_size - 1, bytes(32)))
    t = verify_bundle(valid, None, lambda got: _final(got, chain=below))
    assert _refused(t, "anchor.append_only")[:2] == ("undecided", "ANCHOR_MISMATCH")
    from notary_core import merkle

    log = [world.leaves[0]] * (a.tree_size + 2)
    tree = merkle.MerkleTree([merkle.hash_leaf(x) for x in log])
    wrong = tuple(tree.consistency_proof(a.tree_size))
    ahead = anchoring.ChainView(anchoring.V2, anchoring.Head(tree.size, tree.root))
    t = verify_bundle(valid, None, lambda got: _final(got, chain=ahead, consistency=wrong))
    assert _refused(t, "anchor.append_only")[:2] == ("fail", "NOT_APPEND_ONLY")


def test_the_quorum_refusal_is_the_witness_modules(world: World) -> None:
    from notary_core import witness
    from notary_core.errors import BadData

    data = build(world, cosigners=(0,))
    b = bundle.parse_bundle(data).bundle
    pinned = [witness.WitnessVerifier.from_vkey(w.verifier.vkey) for w in world.witnesses]
    with pytest.raises(BadData) as inner:
        witness.require_quorum(b.checkpoint, sorted(pinned, key=lambda v: v.vkey), 2)
    t = verify_bundle(data, world.trust())
    assert _refused(t, "witnesses.quorum") == ("undecided", "QUORUM_NOT_MET", inner.value.message)
    assert t.summary["witnesses"] == []


def test_the_enrolment_must_carry_the_bundles_key(world: World) -> None:
    from notary_core import cose

    other = cose.Signer.from_key(_key(80)).public
    before = T0 - 86400 * SEC
    leaf = logleaf.RegistryEvent(logleaf.RegistryAction.ENROL, DEVICE, other.spki(), other.kid,
                                 before, None, before).to_leaf()  # fmt: skip
    t = verify_bundle(_only_device_events(world, leaf), world.trust())
    assert _refused(t, "device.enrolment") == (
        "fail",
        "KEY_MISMATCH",
        "the device key has no enrolment in the log",
    )


def test_the_key_is_known_by_its_id_or_its_spki(world: World) -> None:
    E = logleaf.RegistryAction
    before = T0 - 86400 * SEC
    spki = world.device.public.spki()
    by_spki = logleaf.RegistryEvent(E.ENROL, DEVICE, spki, b"\x00" * 16, before, None, before)
    t = verify_bundle(_only_device_events(world, by_spki.to_leaf()), world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    enrol = _registry(E.ENROL, world, before, None, before)
    # A revocation naming the key by its id alone (another SPKI) still revokes it.
    by_kid = logleaf.RegistryEvent(E.REVOKE, DEVICE, b"\x01" * 44, world.device.kid, before,
                                   None, T0).to_leaf()  # fmt: skip
    t = verify_bundle(_only_device_events(world, enrol, by_kid), world.trust())
    assert _refused(t, "batches.signatures") == (
        "fail",
        "REVOKED_KEY",
        "key revoked before batch 0 was signed",
    )


def test_a_header_of_another_device(world: World, valid: bytes) -> None:
    def other(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        return replace(b, request=replace(b.request, device_id="veh-9"))

    t = verify_bundle(_edit(valid, world, other), world.trust())
    assert _refused(t, "batches.signatures") == (
        "fail",
        "KEY_MISMATCH",
        "batch 0 is of another device",
    )


def test_the_issue_time_is_read_in_whole_seconds(world: World) -> None:
    """An issue time one nanosecond before nbf is before nbf (floor division, no rounding)."""
    nbf = T0 // SEC - 3600
    early = build(world, issued=nbf * SEC - 1)
    assert _refused(verify_bundle(early, world.trust()), "grant.chain") == (
        "fail",
        "GRANT_EXPIRED",
        "the grant was not valid when the bundle was issued",
    )
    last = T0 // SEC + 86400 * 30
    t = verify_bundle(build(world, issued=last * SEC - 1), world.trust())
    assert _check(t, "grant.chain").status is Status.PASS, t.to_dict()
    t = verify_bundle(build(world, issued=last * SEC), world.trust())
    assert _refused(t, "grant.chain")[1] == "GRANT_EXPIRED"


def _odd_ids_world() -> World:
    """A world whose CAN ids 0x3b7 are id 0 and whose ids 0x224 are extended (29-bit)."""
    from notary_core import records as r
    from tests.core import bundle_factory

    plain = bundle_factory.batch_records

    def records(seq: int, per_batch: int) -> list[bytes]:
        out = []
        for raw in plain(seq, per_batch):
            x = r.decode(raw)
            if isinstance(x.body, r.CanFrame) and x.body.can_id in (0x3B7, 0x224):
                body = (replace(x.body, can_id=0) if x.body.can_id == 0x3B7
                        else replace(x.body, flags=r.CanFlags.EXT))  # fmt: skip
                out.append(r.encode(replace(x, body=body)))
            else:
                out.append(raw)
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bundle_factory, "batch_records", records)
        return make_world(n_batches=3, per_batch=10)


def test_can_id_zero_and_extended_ids_fall_under_their_own_items() -> None:
    w = _odd_ids_world()
    window = (T0, T0 + 2 * SEC)
    for item in ("can0#000", "can0#00000224"):
        scope = ("can0#0aa", item)
        grants = [grant.issue(owner_grant(w, scope=scope), w.owner)]
        data = build(w, window=window, scope=scope, grants=grants)
        b = bundle.parse_bundle(data).bundle
        assert sum(len(x.disclosed) for x in b.batches) > 6  # more than the 0x0aa frames
        t = verify_bundle(data, w.trust())
        assert t.verdict is Verdict.OK, (item, t.to_dict())
    # An extended id is not the standard id of the same number.
    scope = ("can0#0aa", "can0#00000224")
    grants = [grant.issue(owner_grant(w, scope=scope), w.owner)]
    b = bundle.parse_bundle(build(w, window=window, scope=scope, grants=grants)).bundle
    narrow = replace(b, request=replace(b.request, scope=("can0#0aa", "can0#224")))
    t = verify_bundle(narrow.sign(w.collector), w.trust())
    assert _refused(t, "records.merkle") == (
        "fail",
        "OUTSIDE_GRANT",
        "a record of can0 is outside the scope",
    )


def test_a_batch_the_c_loop_confirms_is_not_checked_again(
    world: World, valid: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the C loop on, every batch of a valid bundle is confirmed there: the Python
    path, which would end in its multiproof check, never runs (the C loop is the speed)."""
    from notary_core import merkle
    from tests.core.c_loop import ACCEL

    assert ACCEL is not None, "the C accelerator is not built (make setup builds it)"
    with c_loop(True):  # whichever path the fixture chose: this is about the C loop

        def not_here(*args: object) -> None:
            raise AssertionError("the Python path ran")

        monkeypatch.setattr(merkle, "verify_multiproof", not_here)
        t = verify_bundle(valid, world.trust())
        assert t.verdict is Verdict.OK, t.to_dict()
        w = _odd_ids_world()
        scope = ("can0#0aa", "can0#00000224", "can0#000", "gnss", "imu")
        grants = [grant.issue(owner_grant(w, scope=scope), w.owner)]
        t = verify_bundle(
            build(w, window=(T0, T0 + 2 * SEC), scope=scope, grants=grants), w.trust()
        )
        assert t.verdict is Verdict.OK, t.to_dict()


def test_each_scope_item_is_decided_once_per_bundle(
    world: World, valid: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """records.merkle asks the grant rules once per (stream, CAN id, extended) of the whole
    bundle, not once per record: the answers are shared by the batches."""
    asked: list[str] = []
    plain = grant.in_scope
    requested = bundle.parse_bundle(valid).bundle.request.scope

    def counting(scope: tuple[str, ...], item: str) -> bool:
        if tuple(scope) == tuple(requested):
            asked.append(item)
        return plain(scope, item)

    monkeypatch.setattr(grant, "in_scope", counting)
    t = verify_bundle(valid, world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    assert sorted(asked) == ["can0#0aa", "gnss"]


def test_a_malformed_record_under_a_valid_root_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A device that sealed a GNSS record with no valid NMEA status: its leaf is in the
    signed root, so only the record's own check refuses it (the C loop confirms prefixes,
    leaves and roots, and leaves the rest of such a record to records.scan)."""
    from notary_core import merkle
    from notary_core import records as r
    from notary_core.errors import BadData
    from tests.core import bundle_factory

    plain = bundle_factory.batch_records
    originals: dict[bytes, bytes] = {}

    def records(seq: int, per_batch: int) -> list[bytes]:
        out = plain(seq, per_batch)
        i = next(k for k, raw in enumerate(out) if r.decode(raw).stream == "gnss")
        at = 28 + len("gnss")  # the prefix, the stream name, then the NMEA status byte
        bad = out[i][:at] + b"\xee" + out[i][at + 1 :]
        originals[bad] = out[i]
        out[i] = bad
        return out

    def everything(recs: list[bytes], salt_key: bytes, window: object, scope: object) -> tuple[
            tuple[bundle.Disclosed, ...], tuple[bytes, ...]]:  # fmt: skip
        chosen = tuple(
            bundle.Disclosed(i, raw, batch.salt(salt_key, i)) for i, raw in enumerate(recs)
        )
        tree = merkle.MerkleTree(batch.leaf_hashes(salt_key, recs))
        return chosen, tuple(tree.multiproof(range(len(recs))))

    from notary_core import batch

    monkeypatch.setattr(bundle_factory, "batch_records", records)
    with monkeypatch.context() as mp:  # the per-item counts (unread by version 1) would scan it
        counts = batch.item_counts
        mp.setattr(batch, "item_counts", lambda recs: counts([originals.get(x, x) for x in recs]))
        w = make_world(n_batches=1, per_batch=10)
    monkeypatch.setattr(bundle, "disclose", everything)
    scope = ("can0", "gnss", "imu")
    grants = [grant.issue(owner_grant(w, scope=scope), w.owner)]
    data = build(w, window=(T0, T0 + SEC), scope=scope, grants=grants)
    (x,) = bundle.parse_bundle(data).bundle.batches
    bad = [d.record for d in x.disclosed if d.record[28:32] == b"gnss" and d.record[32] == 0xEE]
    assert len(bad) == 1
    with pytest.raises(BadData) as inner:
        r.scan(bad[0])
    t = verify_bundle(data, w.trust())
    assert _refused(t, "records.merkle") == (
        "fail", str(inner.value.reason), inner.value.message)  # fmt: skip
    assert t.verdict is Verdict.FAIL


def test_the_c_loop_is_asked_only_what_it_can_check(world: World, valid: bytes) -> None:
    """`_confirmed_in_c` confirms a batch only after the C loop checked it: with no C loop,
    disclosed items or a multiproof that are not tuples, or a header whose record count or
    root the C loop does not take, the answer is False (the Python path then decides)."""
    from notary_core import evidence
    from notary_core.header import SignedHeader

    b = bundle.parse_bundle(valid).bundle
    x = next(x for x in b.batches if x.disclosed)
    h = SignedHeader.parse(x.signed_header).header
    scope = b.request.scope
    with c_loop(True):
        assert evidence._confirmed_in_c(x.disclosed, x.multiproof, h, scope, {}) is True
        assert evidence._confirmed_in_c(list(x.disclosed), x.multiproof, h, scope, {}) is False
        assert evidence._confirmed_in_c(x.disclosed, list(x.multiproof), h, scope, {}) is False
        for count in (0, limits.MAX_TREE_SIZE + 1):
            odd = replace(h, record_count=count)
            assert evidence._confirmed_in_c(x.disclosed, x.multiproof, odd, scope, {}) is False
        short = replace(h, merkle_root=h.merkle_root[:31])
        assert evidence._confirmed_in_c(x.disclosed, x.multiproof, short, scope, {}) is False
    with c_loop(False):
        assert evidence._confirmed_in_c(x.disclosed, x.multiproof, h, scope, {}) is False
