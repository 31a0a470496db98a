"""The whole access story over the API: register, ask, grant, download, verify offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.settings import WitnessSettings
from notary_core import cose, merkle
from notary_core.bundle import BUNDLE_CONTENT_TYPE, parse_bundle
from notary_core.checkpoint import Checkpoint, NoteSigner
from notary_core.evidence import Trust, Verdict, verify_bundle
from notary_core.records import CanFrame, decode
from tests.access.world import ORIGIN, SEC, VEHICLE, World, log_key, tp, world
from tests.infra.witness import witness_process
from verifier.cli import load_trust
from verifier.cli import main as verify_main

pytestmark = pytest.mark.anyio


async def _granted(w: World) -> str:
    """The insurer asks; the owner approves with a grant they signed. Returns the jti."""
    g = w.grant("owner", "insurer")
    r = await w.ok("insurer", "POST", f"/v1/vehicles/{VEHICLE}/requests", {
        "window_start_ns": g.window_start_ns, "window_end_ns": g.window_end_ns,
        "scope": list(g.scope), "signals": list(g.signals), "actions": ["export"],
        "purpose": "claim 42"})  # fmt: skip
    assert r["status"] == "pending"
    pending = await w.ok("owner", "GET", f"/v1/vehicles/{VEHICLE}/requests")
    assert [p["id"] for p in pending] == [r["id"]]
    out = await w.ok("owner", "POST", f"/v1/requests/{r['id']}/grant",
                     {"token": w.token("owner", g)})  # fmt: skip
    assert out["jti"] == g.jti
    return g.jti


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[tuple[WitnessSettings, ...]]:
    """Two witness processes over HTTP, pinned to the log key of the world in tmp_path."""
    logs = {ORIGIN: [log_key(tmp_path)]}
    with (
        witness_process(tmp_path / "w1", "witness.test/w1", logs) as w1,
        witness_process(tmp_path / "w2", "witness.test/w2", logs) as w2,
    ):
        yield tuple(WitnessSettings(url=x.url, vkey=x.verifier.vkey) for x in (w1, w2))


@pytest.mark.integration
async def test_bundle_from_the_endpoint_verifies_ok(
    tmp_path: Path, shared_data: Path, store_url: str, witnesses: tuple[WitnessSettings, ...]
) -> None:
    async with world(tmp_path, shared_data, store=store_url, witnesses=witnesses) as w:
        await _granted(w)
        early = await w.call("insurer", "POST", "/v1/evidence", w.evidence_body())
        assert early.status_code == 503, early.text
        assert early.json()["reason"] == "NOT_ANCHORED" and early.headers["retry-after"] == "1"
        await w.anchor()
        r = await w.call("insurer", "POST", "/v1/evidence", w.evidence_body())
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == BUNDLE_CONTENT_TYPE
        trust_doc = await w.ok("insurer", "GET", "/v1/trust")
        (tmp_path / "trust.json").write_text(json.dumps(trust_doc))
        (tmp_path / "b.vnb").write_bytes(r.content)
        assert trust_doc["witness_quorum"] == 2  # the collector's word; pin your own
        t = verify_bundle(r.content, load_trust(tmp_path / "trust.json"))
        assert t.verdict is Verdict.OK, t.to_dict()
        assert t.summary["witnesses"] == ["witness.test/w1", "witness.test/w2"]
        assert verify_main([str(tmp_path / "b.vnb"), "--trust", str(tmp_path / "trust.json")]) == 0
        b = parse_bundle(r.content).bundle
        ids = {decode(d.record).body.can_id for x in b.batches for d in x.disclosed  # type: ignore[union-attr]
               if isinstance(decode(d.record).body, CanFrame)}  # fmt: skip
        assert ids == {0x0AA, 0x224}  # only the granted streams; the rest stay salted leaves
        assert b.batches[0].disclosed == ()  # the batch before the window, headers only
        assert set(b.views["signals"]) == {"WHEEL_SPEED_FL", "BRAKE_PRESSED"}
        assert b.views["event"]["label"] == "hard brake"
        # the EXPORT is in the owner's access log, with a proof at the latest checkpoint
        # (the witnessed one: with witnesses, the owner sees an entry once it is cosigned)
        await w.publish()
        log = await w.ok("owner", "GET", f"/v1/vehicles/{VEHICLE}/access-log")
        actions = [e["action"] for e in log["entries"]]
        assert actions[:3] == ["EXPORT", "GRANT", "REQUEST"]  # newest first
        cp = Checkpoint.parse_body(log["checkpoint"].encode()[: log["checkpoint"].find("\n\n") + 1])
        for e in log["entries"]:
            merkle.verify_inclusion(
                merkle.hash_leaf(bytes.fromhex(e["leaf"])),
                e["index"],
                cp.size,
                [bytes.fromhex(p) for p in e["proof"]],
                cp.root,
            )


async def test_outside_the_grant_is_refused(tmp_path: Path, shared_data: Path) -> None:
    async with world(tmp_path, shared_data) as w:
        await _granted(w)
        await w.anchor()
        wider = w.evidence_body(window_start_ns=w.batches[0][0])
        other = w.evidence_body(scope=["can0#260"])
        for body in (wider, other):
            r = await w.call("insurer", "POST", "/v1/evidence", body)
            assert (r.status_code, r.json()["reason"]) == (403, "OUTSIDE_GRANT")
        r = await w.call("court", "POST", "/v1/evidence", w.evidence_body())
        assert (r.status_code, r.json()["reason"]) == (403, "OUTSIDE_GRANT")


async def test_revocation_is_effective_next_request_and_cascades(
    tmp_path: Path, shared_data: Path, store_url: str
) -> None:
    async with world(tmp_path, shared_data, store=store_url) as w:
        jti = await _granted(w)
        parent = w.grant("owner", "insurer", jti=jti)
        sub = w.grant("insurer", "adjuster", jti="g-sub", parent=jti, depth=0,
                      scope=("can0#0aa",), actions=("export",), signals=("SPEED",),
                      nbf=parent.nbf, exp=parent.exp - 60)  # fmt: skip
        await w.ok("insurer", "POST", "/v1/grants", {"token": w.token("insurer", sub)})
        await w.anchor()
        body = w.evidence_body(scope=["can0#0aa"])
        assert (await w.call("adjuster", "POST", "/v1/evidence", body)).status_code == 200
        assert (await w.call("insurer", "POST", "/v1/evidence", body)).status_code == 200
        out = await w.ok("owner", "POST", f"/v1/grants/{jti}/revoke")
        assert out["revoked"] == 2
        for who in ("insurer", "adjuster"):
            r = await w.call(who, "POST", "/v1/evidence", body)
            assert (r.status_code, r.json()["reason"]) == (403, "GRANT_REVOKED"), who
        again = await w.call("owner", "POST", f"/v1/grants/{jti}/revoke")
        assert again.status_code == 409


async def test_owner_grants_only_their_ownership(tmp_path: Path, shared_data: Path) -> None:
    async with world(tmp_path, shared_data) as w:
        g = w.grant("other_owner", "insurer")
        r = await w.call("other_owner", "POST", "/v1/grants", {"token": w.token("other_owner", g)})
        assert (r.status_code, r.json()["reason"]) == (403, "NOT_OWNER")
        # someone else's grant posted by the owner: the signer must be the grant's issuer
        r = await w.call("owner", "POST", "/v1/grants", {"token": w.token("other_owner", g)})
        assert (r.status_code, r.json()["reason"]) == (403, "KEY_MISMATCH")
        assert tp(w.keys["owner"]) != tp(w.keys["other_owner"])


async def test_a_sale_ends_one_ownership_and_the_new_owner_grants_only_after_it(
    tmp_path: Path, shared_data: Path, witnesses: tuple[WitnessSettings, ...]
) -> None:
    """A change of owner (OWNER_ENDED, protocol §7.1.1): each owner grants their own period,
    each bundle verifies with its owner proven from the rule chain, and neither can grant
    the other's data. The witnesses' quorum is what makes the verdict OK offline."""
    async with world(tmp_path, shared_data, witnesses=witnesses) as w:
        sale = w.batches[2][0]
        old, new = tp(w.keys["owner"]), tp(w.keys["other_owner"])
        await w.ok("operator", "POST", f"/v1/vehicles/{VEHICLE}/owners/{old}/end", {"end_ns": sale})
        await w.ok("operator", "POST", f"/v1/vehicles/{VEHICLE}/owners",
                   {"owner": new, "start_ns": sale})  # fmt: skip
        before = w.grant("owner", "insurer", window_end_ns=sale)
        after = w.grant("other_owner", "insurer", window_start_ns=sale)
        wrong = w.grant("other_owner", "court", window_end_ns=sale)
        r = await w.call(
            "other_owner", "POST", "/v1/grants", {"token": w.token("other_owner", wrong)}
        )
        assert (r.status_code, r.json()["reason"]) == (403, "NOT_OWNER")
        await w.ok("owner", "POST", "/v1/grants", {"token": w.token("owner", before)})
        await w.ok("other_owner", "POST", "/v1/grants", {"token": w.token("other_owner", after)})
        await w.anchor()
        trust = load_trust_doc(await w.ok("insurer", "GET", "/v1/trust"), tmp_path)
        for g, owner in ((before, old), (after, new)):
            body = w.evidence_body(window_start_ns=g.window_start_ns + SEC // 4,
                                   window_end_ns=min(g.window_end_ns, w.batches[-1][1]) - SEC // 4,
                                   grant=g.jti)  # fmt: skip
            r = await w.call("insurer", "POST", "/v1/evidence", body)
            assert r.status_code == 200, r.text
            t = verify_bundle(r.content, trust)
            assert t.verdict is Verdict.OK, [c for c in t.checks if c.status.name != "PASS"]
            binding = next(c for c in t.checks if c.name == "vehicle.binding")
            assert binding.detail.endswith(f"owner {owner}")
        r = await w.call("owner", "POST", f"/v1/vehicles/{VEHICLE}/owners/{old}/end",
                         {"end_ns": sale + SEC})  # fmt: skip
        assert r.status_code in (401, 403)  # only the operator ends an ownership


def load_trust_doc(doc: dict[str, object], tmp: Path) -> Trust:
    (tmp / "trust.json").write_text(json.dumps(doc))
    return load_trust(tmp / "trust.json")


@pytest.mark.integration
async def test_with_a_key_per_statement_each_is_checked_in_its_own_field(
    tmp_path: Path, shared_data: Path
) -> None:
    """Issue 16 §3 (protocol §6, §13): log, receipt and bundle keys apart; the bundle from the
    endpoint verifies with /v1/trust, and not with the log and bundle keys swapped."""
    logs = {ORIGIN: [log_key(tmp_path, "log.key")]}
    with (
        witness_process(tmp_path / "w1", "witness.test/w1", logs) as w1,
        witness_process(tmp_path / "w2", "witness.test/w2", logs) as w2,
    ):
        pinned = tuple(WitnessSettings(url=x.url, vkey=x.verifier.vkey) for x in (w1, w2))
        async with world(tmp_path, shared_data, witnesses=pinned, separate_keys=True) as w:
            await _granted(w)
            await w.anchor()
            r = await w.call("insurer", "POST", "/v1/evidence", w.evidence_body())
            assert r.status_code == 200, r.text
            doc = await w.ok("insurer", "GET", "/v1/trust")
            keys = await w.ok("insurer", "GET", "/v1/keys")
            (tmp_path / "trust.json").write_text(json.dumps(doc))
            trust = load_trust(tmp_path / "trust.json")
            t = verify_bundle(r.content, trust)
            assert t.verdict is Verdict.OK, t.to_dict()
            s = w.settings
            b = parse_bundle(r.content).bundle
            assert b.collector_key == s.bundle_signer().public.spki()
            assert b.log_vkey == s.note_signer().verifier.vkey == log_key(tmp_path, "log.key")
            assert doc["log_vkeys"] == keys["log_vkeys"] == [b.log_vkey]
            assert doc["collector_keys"] == keys["bundle_keys"]
            assert s.receipt_signer().public.spki() not in trust.collector_keys
            # each key pinned in the other's field: refused
            swapped = Trust(
                log_vkeys=frozenset({NoteSigner("collector.test", s.signing_key(
                    s.bundle_key_path())).verifier.vkey}),
                collector_keys=frozenset({cose.Signer.from_key(s.signing_key(
                    s.log_key_path())).public.spki()}),
                witnesses=trust.witnesses, witness_quorum=trust.witness_quorum,
            )  # fmt: skip
            t = verify_bundle(r.content, swapped)
            assert t.verdict is Verdict.FAIL and "UNTRUSTED" in t.reasons, t.to_dict()
            # the receipt key is no bundle key either
            receipt_pinned = Trust(log_vkeys=trust.log_vkeys, collector_keys=frozenset(
                {s.receipt_signer().public.spki()}), witnesses=trust.witnesses,
                witness_quorum=trust.witness_quorum)  # fmt: skip
            assert verify_bundle(r.content, receipt_pinned).reasons == ["UNTRUSTED"]
