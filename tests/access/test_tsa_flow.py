"""RFC 3161 beside the chain (issue 14 §3), with a real TSA: `openssl ts -reply` behind an
HTTP front end, a process on 127.0.0.1 (tests/infra/tsa.py). The collector stamps its final
anchors, the bundle carries the tokens, the verifier checks them against pinned TSA
certificates and the report shows the TSA's time."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.log.anchor import Anchorer
from collector.log.timestamps import Timestamper
from collector.log.tsa_http import HttpTsa
from collector.settings import WitnessSettings
from notary_core import bundle, tsa
from notary_core.evidence import Status, Transcript, Trust, Verdict, verify_bundle
from tests.access.test_evidence_flow import _granted
from tests.access.world import ORIGIN, World, log_key, world
from tests.infra.tsa import TsaPki, TsaProc, tsa_process
from tests.infra.witness import witness_process
from verifier.cli import load_trust
from verifier.report.build import generate
from verifier.report.data import utc

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.fixture
def pki(tmp_path: Path) -> TsaPki:
    return TsaPki.create(tmp_path / "tsa")


@pytest.fixture
def real_tsa(pki: TsaPki) -> Iterator[TsaProc]:
    with tsa_process(pki) as p:
        yield p


async def _stamp(w: World, url: str) -> list[bytes]:
    client = HttpTsa(url, timeout_s=10)
    try:
        got = await Timestamper(w.store, [client]).tick(time.time_ns())
    finally:
        await client.close()
    return [g.token for g in got]


async def _bundle(w: World) -> bytes:
    r = await w.call("insurer", "POST", "/v1/evidence", w.evidence_body())
    assert r.status_code == 200, r.text
    return r.content


async def _trust(w: World, tmp_path: Path, *pems: str) -> Trust:
    doc = await w.ok("insurer", "GET", "/v1/trust")
    if pems:
        doc["tsa_certs"] = list(pems)
    (tmp_path / "trust.json").write_text(json.dumps(doc))
    return load_trust(tmp_path / "trust.json")


def _check(t: Transcript, name: str) -> tuple[Status, str, str] | None:
    got = [(c.status, c.reason, c.detail) for c in t.checks if c.name == name]
    return got[0] if got else None


def _resigned(w: World, data: bytes, tokens: tuple[bytes, ...]) -> bytes:
    """The bundle with other tokens, signed again by the collector's key (a collector that
    lies signs what it likes; the TSA's signature is what it cannot make)."""
    b = bundle.parse_bundle(data).bundle
    return bytes(dataclasses.replace(b, timestamps=tokens).sign(w.settings.receipt_signer()))


async def test_a_token_verifies_in_the_bundle_and_the_report_shows_its_time(
    tmp_path: Path, shared_data: Path, store_url: str, pki: TsaPki, real_tsa: TsaProc
) -> None:
    logs = {ORIGIN: [log_key(tmp_path)]}
    with witness_process(tmp_path / "w1", "witness.test/w1", logs) as w1:
        ws = (WitnessSettings(url=w1.url, vkey=w1.verifier.vkey),)
        async with world(tmp_path, shared_data, store=store_url, witnesses=ws) as w:
            await _granted(w)
            await w.anchor()
            (token,) = await _stamp(w, real_tsa.url)
            assert await _stamp(w, real_tsa.url) == []  # stored: not asked twice
            data = await _bundle(w)
            b = bundle.parse_bundle(data).bundle
            assert b.timestamps == (token,)
            assert tsa.parse_token(token).imprint == tsa.imprint_of(b.checkpoint)
            t = verify_bundle(data, await _trust(w, tmp_path, pki.tsa_pem))
            assert t.verdict is Verdict.OK, t.to_dict()
            status, _, detail = _check(t, "time.tsa") or (None, "", "")
            assert status is Status.PASS and "CN=Test TSA" in detail, detail
            at = t.summary["not_after_tsa_ns"]
            assert at == tsa.parse_token(token).gen_time_ns
            assert abs(at - time.time_ns()) < 120 * 10**9
            assert t.summary["tsa"][0]["counted"] is True
            html = generate(data, t, bundle_name="b.vnb")
            assert utc(at) in html and "verified against pinned TSA certificates" in html


async def test_an_expired_tsa_certificate_is_untrusted(tmp_path: Path, shared_data: Path) -> None:
    old = TsaPki.create(tmp_path / "old", expired=True)
    with tsa_process(old) as p:
        async with world(tmp_path, shared_data) as w:
            await _granted(w)
            await w.anchor()
            assert len(await _stamp(w, p.url)) == 1  # the collector pins nothing: it stores it
            t = verify_bundle(await _bundle(w), await _trust(w, tmp_path, old.tsa_pem))
    assert t.verdict is Verdict.FAIL and t.reasons == ["UNTRUSTED"], t.to_dict()
    status, _, detail = _check(t, "time.tsa") or (None, "", "")
    assert status is Status.FAIL and "not valid at the token's time" in detail
    assert "not_after_tsa_ns" not in t.summary


async def test_a_token_over_another_digest_is_a_bad_signature(
    tmp_path: Path, shared_data: Path, pki: TsaPki, real_tsa: TsaProc
) -> None:
    async with world(tmp_path, shared_data) as w:
        await _granted(w)
        await w.anchor()
        await _stamp(w, real_tsa.url)
        data = await _bundle(w)
        trust = await _trust(w, tmp_path, pki.tsa_pem)
    digest, nonce = bytes(range(32)), 99  # the real TSA, asked about something else
    client = HttpTsa(real_tsa.url)
    try:
        resp = await client.stamp(tsa.request(digest, nonce))
    finally:
        await client.close()
    other = tsa.token_from_response(resp, digest, nonce).der
    t = verify_bundle(_resigned(w, data, (other,)), trust)
    assert t.verdict is Verdict.FAIL and t.reasons == ["BAD_SIGNATURE"], t.to_dict()
    assert "another digest" in (_check(t, "time.tsa") or (None, "", ""))[2]
    token = bundle.parse_bundle(data).bundle.timestamps[0]
    forged = bytearray(token)
    forged[-10] ^= 0x01  # inside the signature value, the last field of the SignerInfo
    t = verify_bundle(_resigned(w, data, (bytes(forged),)), trust)
    assert t.reasons == ["BAD_SIGNATURE"], t.to_dict()
    t = verify_bundle(_resigned(w, data, (token[:-40],)), trust)
    assert t.reasons == ["MALFORMED"] and (_check(t, "time.tsa") or (None,))[0] is Status.FAIL


async def test_a_tsa_outage_delays_the_token_and_nothing_else(
    tmp_path: Path, shared_data: Path, pki: TsaPki, real_tsa: TsaProc,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    async with world(tmp_path, shared_data) as w:
        await _granted(w)
        real_tsa.stop()
        await w.anchor()  # anchoring goes on while the TSA is down
        assert [r.status for r in await w.store.anchors()] == ["final"]
        with caplog.at_level(logging.WARNING, logger="collector.log.timestamps"):
            assert await _stamp(w, real_tsa.url) == []
        assert "delayed" in caplog.text and "ConnectError" in caplog.text
        data = await _bundle(w)  # a bundle in the meantime: no token, nothing false
        assert bundle.parse_bundle(data).bundle.timestamps == ()
        t = verify_bundle(data, await _trust(w, tmp_path, pki.tsa_pem))
        assert (_check(t, "time.tsa") or (None,))[0] is Status.PASS
        assert "not_after_tsa_ns" not in t.summary
        # the next anchor (the EXPORT grew the log), then the TSA back: both checkpoints get
        # their token on the next round, newest first
        await w.publish()
        await Anchorer(w.store, w.chain, confirmations=1).tick(time.time_ns())
        await Anchorer(w.store, w.chain, confirmations=1).tick(time.time_ns())
        real_tsa.start()
        sizes = [r.size for r in await w.store.anchors("final")]
        tokens = await _stamp(w, real_tsa.url)
        assert len(sizes) == 2 and len(tokens) == 2
        assert [tsa.parse_token(x).imprint for x in tokens] == [
            tsa.imprint_of((await w.store.checkpoint_at(size)).note)  # type: ignore[union-attr]
            for size in reversed(sizes)
        ]
        for size in sizes:
            assert len(await w.store.timestamps(size)) == 1
        t = verify_bundle(await _bundle(w), await _trust(w, tmp_path, pki.tsa_pem))
        assert (_check(t, "time.tsa") or (None,))[0] is Status.PASS
        assert "not_after_tsa_ns" in t.summary


async def test_a_token_of_an_unpinned_tsa_is_not_counted(
    tmp_path: Path, shared_data: Path, pki: TsaPki, real_tsa: TsaProc
) -> None:
    other = TsaPki.create(tmp_path / "other", name="Other TSA")
    async with world(tmp_path, shared_data) as w:
        await _granted(w)
        await w.anchor()
        without = await _bundle(w)
        await _stamp(w, real_tsa.url)
        data = await _bundle(w)
        plain = await _trust(w, tmp_path)
        pinned_other = await _trust(w, tmp_path, other.tsa_pem)
    assert bundle.parse_bundle(data).bundle.timestamps
    base = verify_bundle(without, plain)
    # No TSA pinned: the token is listed, unverified; no check, the same verdict as without.
    t = verify_bundle(data, plain)
    assert t.verdict is base.verdict and _check(t, "time.tsa") is None
    assert [c.name for c in t.checks] == [c.name for c in base.checks]
    (entry,) = t.summary["tsa"]
    assert entry["counted"] is False and "no TSA certificate pinned" in entry["status"]
    assert "not_after_tsa_ns" not in t.summary
    html = generate(data, t, bundle_name="b.vnb")
    assert "not verified (no TSA certificate pinned" in html
    # Another TSA pinned: the check passes over nothing, the token is not counted.
    t = verify_bundle(data, pinned_other)
    assert t.verdict is base.verdict, t.to_dict()
    status, _, detail = _check(t, "time.tsa") or (None, "", "")
    assert status is Status.PASS and "none by a pinned TSA" in detail
    assert t.summary["tsa"][0]["counted"] is False and "not_after_tsa_ns" not in t.summary
