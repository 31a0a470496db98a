"""Evidence bundles: a valid bundle verifies, and each named corruption fails with its reason."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from notary_core import anchoring, bundle, cbor, checkpoint, evidence, grant, logleaf, merkle
from notary_core.evidence import AnchorStatus, Status, Trust, Verdict, verify_bundle
from tests import golden
from tests.core.bundle_factory import SEC, T0, VEHICLE, World, build, make_world, owner_grant
from tests.core.c_loop import c_loop


@pytest.fixture(autouse=True, params=["c", "python"])
def verifier_path(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test on both record loops: the C one (notary_core/_accel.c, even under
    VNOTARY_PURE_PYTHON=1) and pure Python."""
    with c_loop(request.param == "c"):
        yield


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


def test_valid_bundle_is_ok_with_pinned_trust(world: World) -> None:
    data = build(world)
    t = verify_bundle(data, world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    assert t.summary["disclosed_records"] > 0
    assert t.summary["witnesses"] == ["witness.example/w1", "witness.example/w2"]
    assert {c.name for c in t.checks} >= {
        "bundle.signature",
        "checkpoint.signature",
        "witnesses.quorum",
        "anchor.matches_checkpoint",
        "device.enrolment",
        "batches.signatures",
        "batches.in_log",
        "batches.hash_chain",
        "batches.cover_window",
        "records.merkle",
        "vehicle.binding",
        "grant.chain",
    }


def test_only_granted_streams_are_disclosed(world: World) -> None:
    sb = bundle.parse_bundle(build(world, scope=("gnss",))).bundle
    from notary_core import records as r

    streams = {r.decode(d.record).stream for x in sb.batches for d in x.disclosed}
    assert streams == {"gnss"}


def test_without_trust_root_the_verdict_is_inconclusive(world: World) -> None:
    t = verify_bundle(build(world), None)
    assert t.verdict is Verdict.INCONCLUSIVE
    assert "UNTRUSTED" not in t.reasons  # undecided, not failed
    assert any(c.status is Status.UNDECIDED for c in t.checks)


def _at_head(a: bundle.AnchorRef) -> anchoring.ChainView:
    return anchoring.ChainView(anchoring.V2, anchoring.Head(a.tree_size, a.root))


def test_pinned_keys_without_a_witness_quorum_or_a_chain_are_inconclusive(world: World) -> None:
    """§12.1: the log and collector keys alone do not rule out a second history."""
    t = verify_bundle(build(world), world.trust(witnesses=False))
    assert t.verdict is Verdict.INCONCLUSIVE and t.reasons == []
    (root,) = [c for c in t.checks if c.name == "trust.root"]
    assert root.status is Status.UNDECIDED and root.reason == "UNTRUSTED"


def test_the_witness_quorum_is_counted_over_distinct_pinned_witnesses(world: World) -> None:
    def quorum(t: evidence.Transcript) -> evidence.Check:
        return next(c for c in t.checks if c.name == "witnesses.quorum")

    one = verify_bundle(build(world, cosigners=(0,)), world.trust())
    assert one.verdict is Verdict.INCONCLUSIVE and quorum(one).reason == "QUORUM_NOT_MET"
    assert "1 of the 2" in quorum(one).detail
    three = verify_bundle(build(world, cosigners=(0, 1, 2)), world.trust(quorum=3))
    assert three.verdict is Verdict.OK and len(three.summary["witnesses"]) == 3
    twice = verify_bundle(build(world, cosigners=(0, 0)), world.trust())
    assert quorum(twice).reason == "QUORUM_NOT_MET"  # one witness twice is one witness
    unpinned = replace(world.trust(), witnesses=frozenset({world.witnesses[2].verifier.vkey}),
                       witness_quorum=1)  # fmt: skip
    assert verify_bundle(build(world), unpinned).verdict is Verdict.INCONCLUSIVE


def test_a_forged_cosignature_fails(world: World) -> None:
    data = build(world)

    def forge(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        note = b.checkpoint.decode()
        w2 = world.witnesses[1].name
        line = next(x for x in note.splitlines() if x.startswith(f"\u2014 {w2} "))
        blob = bytearray(base64.b64decode(line.split(" ")[2]))
        blob[-1] ^= 1
        forged = f"\u2014 {w2} {base64.b64encode(bytes(blob)).decode()}"
        return replace(b, checkpoint=note.replace(line, forged).encode())

    t = verify_bundle(_edit(data, world, forge), world.trust())
    assert t.verdict is Verdict.FAIL and t.reasons == ["BAD_SIGNATURE"]
    assert "witness.example/w2" in next(c for c in t.checks if c.name == "witnesses.quorum").detail


def test_chain_lookup_confirms_or_refutes(world: World) -> None:
    data = build(world)
    ok = verify_bundle(
        data, None, lambda a: AnchorStatus(True, True, 12, True, "seen", a.block_time, _at_head(a))
    )
    assert ok.verdict is Verdict.OK
    pending = verify_bundle(
        data, world.trust(), lambda a: AnchorStatus(True, True, 1, False, chain=_at_head(a))
    )
    assert pending.verdict is Verdict.INCONCLUSIVE
    other_time = verify_bundle(
        data,
        None,
        lambda a: AnchorStatus(True, True, 12, True, "seen", a.block_time + 60, _at_head(a)),
    )
    assert other_time.verdict is Verdict.FAIL and other_time.reasons == ["ANCHOR_MISMATCH"]
    gone = verify_bundle(
        data, world.trust(), lambda a: AnchorStatus(False, False, 0, False, chain=_at_head(a))
    )
    assert gone.verdict is Verdict.FAIL and gone.reasons == ["ANCHOR_MISMATCH"]
    # A lookup that does not read the contract's heads cannot make a bundle OK.
    blind = verify_bundle(
        data, None, lambda a: AnchorStatus(True, True, 12, True, "seen", a.block_time)
    )
    assert blind.verdict is Verdict.INCONCLUSIVE
    assert {c.name: c.status for c in blind.checks}["anchor.append_only"] is Status.UNDECIDED


def test_chain_of_heads_split_view_and_consistency(world: World) -> None:
    """anchor.append_only (§12.1) with a lookup that read the chain: a newer head needs a
    proof, a wrong proof or a second root for the size fails."""
    data = build(world)
    a = bundle.parse_bundle(data).bundle.anchor
    assert a is not None
    log = [world.leaves[0]] * (a.tree_size + 5)  # stand-in leaves past the checkpoint

    def status(view: anchoring.ChainView, proof: tuple[bytes, ...] | None) -> AnchorStatus:
        return AnchorStatus(True, True, 12, True, "seen", a.block_time, view, proof, "offline")

    def run(view: anchoring.ChainView, proof: tuple[bytes, ...] | None = None) -> list[str]:
        t = verify_bundle(data, world.trust(), lambda _: status(view, proof))
        c = {c.name: c for c in t.checks}["anchor.append_only"]
        return [str(t.verdict), str(c.status), c.reason]

    # The bundle's own leaves are not known here: a newer head over a different tree
    # cannot be consistent, whatever proof a collector shows.
    newer = merkle.MerkleTree([merkle.hash_leaf(x) for x in log])
    head = anchoring.ChainView(anchoring.V2, anchoring.Head(newer.size, newer.root))
    assert run(head) == ["INCONCLUSIVE", "undecided", "CONSISTENCY_UNPROVEN"]
    wrong = tuple(newer.consistency_proof(a.tree_size))
    assert run(head, wrong) == ["FAIL", "fail", "NOT_APPEND_ONLY"]
    split = anchoring.ChainView(
        anchoring.V1, anchoring.Head(a.tree_size, a.root), ((a.tree_size, a.root, bytes(32)),)
    )
    assert run(split) == ["FAIL", "fail", "SPLIT_VIEW"]
    other = anchoring.ChainView(anchoring.V2, anchoring.Head(a.tree_size, bytes(32)))
    assert run(other) == ["FAIL", "fail", "SPLIT_VIEW"]
    assert run(anchoring.ChainView(0, anchoring.GENESIS)) == ["FAIL", "fail", "UNKNOWN_CONTRACT"]


def _edit(
    data: bytes, world: World, fn: Callable[[bundle.EvidenceBundle], bundle.EvidenceBundle]
) -> bytes:
    return fn(bundle.parse_bundle(data).bundle).sign(world.collector)


def _flip_record(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    x = b.batches[1]
    d = x.disclosed[0]
    raw = bytearray(d.record)
    raw[-1] ^= 0x01
    new = replace(x, disclosed=(d._replace(record=bytes(raw)), *x.disclosed[1:]))
    return replace(b, batches=(b.batches[0], new, *b.batches[2:]))


def _swap_records(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    """Two disclosed records of the same stream trade places (with their salts)."""
    from notary_core import records as r

    x = b.batches[1]
    first: dict[str, int] = {}
    for i, d in enumerate(x.disclosed):
        stream = r.decode(d.record).stream
        if stream in first:
            j = first[stream]
            break
        first[stream] = i
    items = list(x.disclosed)
    a, c = items[j], items[i]
    items[j] = a._replace(record=c.record, salt=c.salt)
    items[i] = c._replace(record=a.record, salt=a.salt)
    return replace(b, batches=(b.batches[0], replace(x, disclosed=tuple(items)), *b.batches[2:]))


def _wrong_salt(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    x = b.batches[1]
    d = x.disclosed[0]
    new = replace(x, disclosed=(d._replace(salt=bytes(16)), *x.disclosed[1:]))
    return replace(b, batches=(b.batches[0], new, *b.batches[2:]))


def _alter_proof(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    x = b.batches[1]
    node = bytearray(x.multiproof[0])
    node[0] ^= 0x80
    return replace(
        b,
        batches=(
            b.batches[0],
            replace(x, multiproof=(bytes(node), *x.multiproof[1:])),
            *b.batches[2:],
        ),
    )


def _alter_header(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    import cbor2

    x = b.batches[1]
    prot, unprot, payload, sig = cbor2.loads(x.signed_header).value
    value = cbor2.loads(payload)
    value[13] = value[13] + 1  # clock uncertainty: any signed field
    forged = cbor.dumps(cbor2.CBORTag(18, [prot, dict(unprot), cbor.dumps(value), sig]))
    return replace(b, batches=(b.batches[0], replace(x, signed_header=forged), *b.batches[2:]))


def _unparseable_header(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    x = replace(b.batches[1], signed_header=b"\xa0")  # a CBOR map, no COSE_Sign1
    return replace(b, batches=(b.batches[0], x, *b.batches[2:]))


def _remove_batch(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    return replace(b, batches=(b.batches[0], *b.batches[2:]))


def _wrong_device_key(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    from notary_core import cose
    from tests.core.bundle_factory import _key

    return replace(b, device_key=cose.Signer.from_key(_key(77)).public.spki())


def _forged_checkpoint(world: World) -> Callable[[bundle.EvidenceBundle], bundle.EvidenceBundle]:
    def fn(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
        from tests.core.bundle_factory import ORIGIN, _key

        cp = checkpoint.Checkpoint.parse_body(b.checkpoint[: b.checkpoint.rfind(b"\n\n") + 1])
        forged = checkpoint.sign_checkpoint(cp, [checkpoint.NoteSigner(ORIGIN, _key(99))])
        return replace(b, checkpoint=forged)

    return fn


def _other_tx(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    assert b.anchor is not None
    return replace(b, anchor=replace(b.anchor, tree_size=b.anchor.tree_size - 1))


def _outside_window(b: bundle.EvidenceBundle) -> bundle.EvidenceBundle:
    return replace(b, request=replace(b.request, window_end_ns=T0 + 20 * SEC))


CORRUPTIONS: dict[str, tuple[Callable[..., bundle.EvidenceBundle], str]] = {
    "flipped-record-byte": (_flip_record, "ROOT_MISMATCH"),
    "swapped-records": (_swap_records, "RECORD_ORDER"),
    "wrong-salt": (_wrong_salt, "ROOT_MISMATCH"),
    "altered-proof-node": (_alter_proof, "ROOT_MISMATCH"),
    "altered-header-field": (_alter_header, "BAD_SIGNATURE"),
    "batch-removed-from-window": (_remove_batch, "CHAIN_BROKEN"),
    "unparseable-header": (_unparseable_header, "MALFORMED"),
    "wrong-device-key": (_wrong_device_key, "KEY_MISMATCH"),
    "anchor-of-another-checkpoint": (_other_tx, "ANCHOR_MISMATCH"),
    "window-outside-grant": (_outside_window, "OUTSIDE_GRANT"),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_tamper_suite(world: World, name: str) -> None:
    fn, reason = CORRUPTIONS[name]
    t = verify_bundle(_edit(build(world), world, fn), world.trust())
    assert t.verdict is Verdict.FAIL, name
    assert reason in t.reasons, (name, t.reasons)


def test_forged_checkpoint(world: World) -> None:
    t = verify_bundle(_edit(build(world), world, _forged_checkpoint(world)), world.trust())
    assert t.verdict is Verdict.FAIL and "BAD_CHECKPOINT" in t.reasons


def test_bundle_signature_by_another_key(world: World) -> None:
    data = build(world)
    signed = bundle.parse_bundle(data)
    from notary_core import cose
    from tests.core.bundle_factory import _key

    other = cose.Signer.from_key(_key(55))
    forged = cose.sign1(other, signed.message.payload, bundle.BUNDLE_CONTENT_TYPE)
    t = verify_bundle(forged, world.trust())
    assert t.verdict is Verdict.FAIL and "KEY_MISMATCH" in t.reasons


def test_key_revoked_before_signing(world: World) -> None:
    revoke = logleaf.RegistryEvent(
        logleaf.RegistryAction.REVOKE, "veh-0001", world.device.public.spki(),
        world.device.kid, T0, None, T0 + 2 * SEC,
    ).to_leaf()  # fmt: skip
    t = verify_bundle(build(world, device_leaves=(revoke,)), world.trust())
    assert t.verdict is Verdict.FAIL and "REVOKED_KEY" in t.reasons
    later = logleaf.RegistryEvent(
        logleaf.RegistryAction.REVOKE, "veh-0001", world.device.public.spki(),
        world.device.kid, T0, None, T0 + 100 * SEC,
    ).to_leaf()  # fmt: skip
    assert verify_bundle(build(world, device_leaves=(later,)), world.trust()).verdict is Verdict.OK


def test_grant_failures(world: World) -> None:
    expired = grant.issue(owner_grant(world, exp=T0 // SEC + 86400), world.owner)
    t = verify_bundle(build(world, grants=[expired]), world.trust())
    assert "GRANT_EXPIRED" in t.reasons
    other_vehicle = grant.issue(owner_grant(world, vehicle="vin-OTHER"), world.owner)
    t = verify_bundle(build(world, grants=[other_vehicle]), world.trust())
    assert "WRONG_VEHICLE" in t.reasons
    token = grant.issue(owner_grant(world), world.owner)
    revoke = logleaf.AccessEvent(
        logleaf.AccessAction.REVOKE,
        VEHICLE,
        grant.thumbprint(world.owner.public_key()),
        "g-1",
        T0,
        T0 + 10 * SEC,
        T0 + 86400 * SEC,
    ).to_leaf()
    t = verify_bundle(build(world, grants=[token], extra_leaves=(revoke,)), world.trust())
    assert t.verdict is Verdict.FAIL and "GRANT_REVOKED" in t.reasons
    not_owner = grant.issue(
        owner_grant(world, iss=grant.thumbprint(world.insurer.public_key())), world.insurer
    )
    t = verify_bundle(build(world, grants=[not_owner]), world.trust())
    assert "NOT_OWNER" in t.reasons


def test_delegated_grant_chain(world: World) -> None:
    root = owner_grant(world)
    sub = replace(
        root,
        jti="g-2",
        iss=root.sub,
        sub=grant.thumbprint(world.adjuster.public_key()),
        scope=("can0#0aa",),
        window_start_ns=T0 + SEC,
        window_end_ns=T0 + 4 * SEC,
        depth=0,
        parent="g-1",
    )
    chain = [grant.issue(root, world.owner), grant.issue(sub, world.insurer)]
    t = verify_bundle(build(world, grants=chain, scope=("can0#0aa",)), world.trust())
    assert t.verdict is Verdict.OK, t.to_dict()
    wide = replace(sub, scope=("can0",))
    chain = [grant.issue(root, world.owner), grant.issue(wide, world.insurer)]
    t = verify_bundle(build(world, grants=chain, scope=("can0#0aa",)), world.trust())
    assert "DELEGATION_WIDENS" in t.reasons


def test_what_is_not_a_bundle_is_unreadable_never_fail(world: World) -> None:
    """§12.2: empty, random, truncated files are UNREADABLE (exit 4), never a FAIL verdict
    that would read as forged evidence."""
    v1 = build(world)
    for data in (b"", b"\x00", b"garbage" * 100, cbor.dumps([1, 2, 3]), v1[: len(v1) // 2],
                 bundle.MAGIC, bundle.MAGIC + b"\x02" + v1[: len(v1) // 3]):  # fmt: skip
        t = verify_bundle(data, Trust())
        assert t.verdict is Verdict.UNREADABLE and t.reasons == ["UNREADABLE"], data[:16]
    t = verify_bundle(bundle.MAGIC + b"\x03" + v1, Trust())
    assert t.verdict is Verdict.FAIL and t.reasons == ["UNSUPPORTED_VERSION"]


def test_a_second_history_gets_no_ok_offline(world: World) -> None:
    """The issue's rewrite, as a verifier meets it: the EXPORT leaf replaced, the tree
    recomputed and signed by the log key, at the same size. Without cosignatures it is
    INCONCLUSIVE; with the honest checkpoint's cosignatures copied onto it, it FAILs."""

    def export(detail: str) -> bytes:
        return logleaf.AccessEvent(logleaf.AccessAction.EXPORT, VEHICLE, "insurer", "g-1", T0,
                                   T0 + 10 * SEC, T0 + SEC, detail).to_leaf()  # fmt: skip

    honest = bundle.parse_bundle(build(world, extra_leaves=(export("b-0"),))).bundle
    forged = bundle.parse_bundle(build(world, extra_leaves=(export("gone"),), cosigners=()))
    forged_b = forged.bundle
    (a, b) = (checkpoint.Checkpoint.parse_body(x.checkpoint.split(b"\n\n")[0] + b"\n")
              for x in (honest, forged_b))  # fmt: skip
    assert a.size == b.size and a.root != b.root  # one size, two histories
    inconclusive = verify_bundle(forged_b.sign(world.collector), world.trust())
    assert inconclusive.verdict is Verdict.INCONCLUSIVE
    assert "QUORUM_NOT_MET" in {c.reason for c in inconclusive.checks}
    lines = honest.checkpoint.decode().split("\n\n", 1)[1].splitlines(keepends=True)[1:]
    moved = replace(forged_b, checkpoint=forged_b.checkpoint + "".join(lines).encode())
    t = verify_bundle(moved.sign(world.collector), world.trust())
    assert t.verdict is Verdict.FAIL and t.reasons == ["BAD_SIGNATURE"]


GOLDEN = ["(the valid bundle)", "forged-checkpoint", *sorted(CORRUPTIONS)]


@pytest.fixture(scope="module")
def recorded() -> Iterator[golden.Golden]:
    yield from golden.transcripts(Path(__file__).with_name("transcripts-v1.json"))


@pytest.mark.parametrize("name", GOLDEN)
def test_the_transcript_is_the_recorded_one(
    world: World, name: str, recorded: golden.Golden
) -> None:
    """Each case's transcript is the one in transcripts-v1.json (tests/golden.py)."""
    data = build(world)
    if name == "forged-checkpoint":
        data = _edit(data, world, _forged_checkpoint(world))
    elif name in CORRUPTIONS:
        data = _edit(data, world, CORRUPTIONS[name][0])
    recorded.check(name, verify_bundle(data, world.trust()))
