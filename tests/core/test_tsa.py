"""notary_core.tsa on tokens a real TSA made (`openssl ts -reply`, no HTTP here), on
malformed DER, and on every single-byte change: a clear reason, never a crash."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notary_core import limits, tsa
from notary_core import records as r
from notary_core.bundle import parse_bundle
from notary_core.errors import BadData, Reason
from notary_core.evidence import Check, Status, Transcript, Verdict, verify_bundle
from notary_core.evidence_tsa import _no_batch_after
from notary_core.header import SignedHeader
from tests.core import bundle_v2_factory as f
from tests.core.bundle_factory import SEC, T0, batch_records
from tests.infra.tsa import TsaPki

NOTE = (
    "collector.test/vnotary/log\n7\nq83vEjRZqNqQDrCYq0ZtvGRf2rHpfHnAbd7XDTVfm5c=\n\n\u2014 sig\n"
).encode()


def _token(pki: TsaPki, note: bytes = NOTE, nonce: int = 42) -> bytes:
    digest = tsa.imprint_of(note)
    resp = pki.reply(tsa.request(digest, nonce))
    return tsa.token_from_response(resp, digest, nonce).der


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TsaPki:
    return TsaPki.create(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def token(pki: TsaPki) -> bytes:
    return _token(pki)


def test_the_note_text_is_everything_before_the_blank_line() -> None:
    assert tsa.note_text(NOTE) == NOTE[: NOTE.index(b"\n\n") + 1]
    assert tsa.imprint_of(NOTE) == hashlib.sha256(tsa.note_text(NOTE)).digest()


def test_a_real_token_verifies_under_its_pinned_certificate(pki: TsaPki, token: bytes) -> None:
    t = tsa.parse_token(token)
    assert (t.imprint_alg, t.imprint, t.nonce) == ("sha256", tsa.imprint_of(NOTE), 42)
    (cert,) = tsa.load_certs([pki.tsa_pem])
    assert tsa.signer_of(t, [cert]) is cert
    stamp = tsa.verify(t, cert, NOTE)
    assert stamp.tsa == "CN=Test TSA" and stamp.gen_time_ns == t.gen_time_ns
    assert stamp.accuracy_ns == 10**9  # the config's `accuracy = secs:1`


def test_another_tsa_is_not_the_signer(tmp_path: Path, token: bytes) -> None:
    other = TsaPki.create(tmp_path / "other", name="Other TSA")
    assert tsa.signer_of(tsa.parse_token(token), tsa.load_certs([other.tsa_pem])) is None


def test_a_token_over_another_checkpoint_is_a_bad_signature(pki: TsaPki, token: bytes) -> None:
    (cert,) = tsa.load_certs([pki.tsa_pem])
    other = NOTE.replace(b"\n7\n", b"\n8\n")
    with pytest.raises(BadData) as e:
        tsa.verify(tsa.parse_token(token), cert, other)
    assert e.value.reason is Reason.BAD_SIGNATURE and "another digest" in e.value.message


def test_an_expired_tsa_certificate_is_untrusted(tmp_path: Path) -> None:
    old = TsaPki.create(tmp_path / "old", expired=True)
    t = tsa.parse_token(_token(old))
    (cert,) = tsa.load_certs([old.tsa_pem])
    with pytest.raises(BadData) as e:
        tsa.verify(t, cert, NOTE)
    assert e.value.reason is Reason.UNTRUSTED and "not valid at the token's time" in e.value.message


def test_a_response_with_another_nonce_or_digest_is_refused(pki: TsaPki) -> None:
    digest = tsa.imprint_of(NOTE)
    resp = pki.reply(tsa.request(digest, 7))
    with pytest.raises(BadData, match="nonce"):
        tsa.token_from_response(resp, digest, 8)
    with pytest.raises(BadData, match="another digest"):
        tsa.token_from_response(resp, bytes(32), 7)
    with pytest.raises(BadData) as e:
        tsa.token_from_response(b"\x30\x03\x02\x01\x02", digest, 7)  # status only: rejection
    assert e.value.reason in (Reason.UNTRUSTED, Reason.MALFORMED)


@pytest.mark.parametrize("junk", [b"", b"\x00", b"\x30", b"\x30\x82\xff\xff", b"garbage" * 9,
                                  b"\x30\x03\x06\x01\x00", bytes(range(256))])  # fmt: skip
def test_garbage_is_malformed(junk: bytes) -> None:
    with pytest.raises(BadData) as e:
        tsa.parse_token(junk)
    assert e.value.reason is Reason.MALFORMED


def test_every_truncation_is_malformed(token: bytes) -> None:
    for n in range(0, len(token), 7):
        with pytest.raises(BadData) as e:
            tsa.parse_token(token[:n])
        assert e.value.reason is Reason.MALFORMED, n


def test_trailing_bytes_and_oversize_are_refused(token: bytes) -> None:
    with pytest.raises(BadData) as e:
        tsa.parse_token(token + b"\x00")
    assert e.value.reason is Reason.MALFORMED
    with pytest.raises(BadData) as e:
        tsa.parse_token(b"\x30" * (limits.MAX_TSA_TOKEN_SIZE + 1))
    assert e.value.reason is Reason.TOO_LARGE


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_single_byte_change_verifies_or_crashes(pki: TsaPki, token: bytes,
                                                   data: st.DataObject) -> None:  # fmt: skip
    """Any byte of the token changed: a named reason (or, where DER leaves room, the same
    verified stamp when the byte is one the signature does not cover: the unsigned certs)."""
    i = data.draw(st.integers(0, len(token) - 1))
    b = data.draw(st.integers(1, 255))
    bad = token[:i] + bytes([token[i] ^ b]) + token[i + 1 :]
    (cert,) = tsa.load_certs([pki.tsa_pem])
    try:
        t = tsa.parse_token(bad)
        signer = tsa.signer_of(t, [cert])
        if signer is None:
            return  # the signer identifier changed: not counted, never a pass
        stamp = tsa.verify(t, signer, NOTE)
    except BadData as exc:
        assert exc.reason in (Reason.MALFORMED, Reason.BAD_SIGNATURE, Reason.UNTRUSTED,
                              Reason.UNSUPPORTED_ALGORITHM)  # fmt: skip
        return
    good = tsa.verify(tsa.parse_token(token), cert, NOTE)
    assert stamp == good  # only bytes outside the signed content can change unnoticed


def test_a_batch_dated_after_the_tsa_time_is_future_time() -> None:
    """§12.3 time.tsa: a batch claiming to start after the checkpoint holding it was stamped
    (beyond its own uncertainty and the TSA's accuracy) is FUTURE_TIME."""
    b = parse_bundle(f.build2(f.make_world2(n_batches=2, per_batch=5))).bundle
    h = SignedHeader.parse(b.batches[-1].signed_header).header
    at = h.first_utc_ns - h.clock_uncertainty_ns
    _no_batch_after([h], [tsa.Stamp("CN=T", at, None, 1)])  # at the edge: fine
    _no_batch_after([h], [tsa.Stamp("CN=T", at - 10**9, 10**9, 1)])  # within the accuracy
    with pytest.raises(BadData) as e:
        _no_batch_after([h], [tsa.Stamp("CN=T", at - 1, None, 1)])
    assert e.value.reason is Reason.FUTURE_TIME and f"batch {h.batch_seq}" in e.value.message
    later = dataclasses.replace(h, clock_uncertainty_ns=0)
    with pytest.raises(BadData):
        _no_batch_after([later], [tsa.Stamp("CN=T", h.first_utc_ns - 1, None, 1)])


def test_a_bundle_without_tokens_and_a_trust_file_without_tsa_certs_loads_no_asn1(
    tmp_path: Path,
) -> None:
    """Verifying needs asn1crypto and cryptography.x509 (~0.3 s to import, most of a 60 s
    window's verify time) only when there is a token or a pinned TSA to check."""
    w = f.make_world2()
    (tmp_path / "b.vnb").write_bytes(f.build2(w))
    code = (
        "import pickle, sys\n"
        "from notary_core.evidence import verify_bundle\n"
        "data, trust = pickle.load(open(sys.argv[1], 'rb'))\n"
        "t = verify_bundle(data, trust)\n"
        "print(t.verdict.name, 'asn1crypto' in sys.modules, 'cryptography.x509' in sys.modules)\n"
    )
    (tmp_path / "in.pkl").write_bytes(pickle.dumps(((tmp_path / "b.vnb").read_bytes(), w.trust())))
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "in.pkl")],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["OK", "False", "False"]


# ---- time.tsa through verify_bundle (§12.3, §12.4): real tokens over a v2 bundle's checkpoint


@dataclasses.dataclass(frozen=True)
class Stamped:
    """A factory v2 bundle's parts and OpenSSL tokens over its checkpoint."""

    world: f.World2
    parts: f.Parts
    early: bytes  # by the pinned TSA
    late: bytes  # by the pinned TSA, a second or more after `early`
    other: bytes  # by a TSA nobody pinned
    expired: bytes  # by a TSA whose certificate expired yesterday
    expired_pem: str

    def data(self, tokens: list[bytes], parts: f.Parts | None = None) -> bytes:
        b = (parts or self.parts).bundle
        return dataclasses.replace(b, timestamps=tuple(tokens)).sign(self.world.collector)

    def verify(self, tokens: list[bytes], pems: tuple[str, ...] | None,
               parts: f.Parts | None = None) -> Transcript:  # fmt: skip
        """Verified under the world's trust with these TSA certificates pinned (None: no
        trust file at all)."""
        trust = None if pems is None else dataclasses.replace(self.world.trust(), tsa_certs=pems)
        return verify_bundle(self.data(tokens, parts), trust)


def _gen(token: bytes) -> int:
    return tsa.parse_token(token).gen_time_ns


def _serial(token: bytes) -> int:
    return tsa.parse_token(token).serial


@pytest.fixture(scope="module")
def stamped(pki: TsaPki, tmp_path_factory: pytest.TempPathFactory) -> Stamped:
    w = f.make_world2(n_batches=4, per_batch=5)
    p = f.parts(w)
    note = p.bundle.checkpoint
    early = _token(pki, note, 1)
    while _gen(late := _token(pki, note, 2)) == _gen(early):  # genTime has whole seconds
        time.sleep(0.2)
    root = tmp_path_factory.mktemp("tsa-others")
    other = _token(TsaPki.create(root / "other", name="Other TSA"), note, 3)
    old = TsaPki.create(root / "old", name="Old TSA", expired=True)
    return Stamped(w, p, early, late, other, _token(old, note, 4), old.tsa_pem)


def _tsa_check(t: Transcript) -> Check:
    (c,) = [c for c in t.checks if c.name == "time.tsa"]
    return c


def _entry_of(token: bytes, tsa_name: str | None, status: str) -> dict[str, object]:
    return {"tsa": tsa_name, "gen_time_ns": _gen(token), "serial": _serial(token),
            "counted": tsa_name is not None, "status": status}  # fmt: skip


def test_a_pinned_token_over_the_checkpoint_is_its_not_after(pki: TsaPki, stamped: Stamped) -> None:
    t = stamped.verify([stamped.early], (pki.tsa_pem,))
    c = _tsa_check(t)
    assert (c.status, c.reason) == (Status.PASS, "")
    assert c.detail == ("1 token(s) over the checkpoint verified under pinned TSA certificates; "
                        f"the earliest: CN=Test TSA at {_gen(stamped.early)} ns")  # fmt: skip
    assert t.summary["not_after_tsa_ns"] == _gen(stamped.early)
    assert t.summary["tsa"] == [_entry_of(stamped.early, "CN=Test TSA", "verified")]
    assert t.verdict is Verdict.OK, t.reasons


def test_the_earliest_of_several_tokens_counts_and_unpinned_ones_are_listed(
    pki: TsaPki, stamped: Stamped
) -> None:
    s = stamped
    assert _gen(s.late) > _gen(s.early)
    t = s.verify([s.late, s.other, s.early], (pki.tsa_pem,))
    c = _tsa_check(t)
    assert (c.status, c.reason) == (Status.PASS, "")
    assert c.detail == ("2 token(s) over the checkpoint verified under pinned TSA certificates; "
                        f"the earliest: CN=Test TSA at {_gen(s.early)} ns; 1 by TSAs not pinned, "
                        "not counted")  # fmt: skip
    assert t.summary["not_after_tsa_ns"] == _gen(s.early)
    assert t.summary["tsa"] == [
        _entry_of(s.late, "CN=Test TSA", "verified"),
        _entry_of(s.other, None, "signed by a TSA you did not pin"),
        _entry_of(s.early, "CN=Test TSA", "verified"),
    ]
    t = s.verify([s.early, s.late], (pki.tsa_pem,))
    assert t.summary["not_after_tsa_ns"] == _gen(s.early)
    assert _tsa_check(t).detail.endswith(f"the earliest: CN=Test TSA at {_gen(s.early)} ns")


def test_tokens_of_no_pinned_tsa_are_listed_and_not_counted(pki: TsaPki, stamped: Stamped) -> None:
    t = stamped.verify([stamped.other, stamped.other], (pki.tsa_pem,))
    c = _tsa_check(t)
    assert (c.status, c.reason) == (Status.PASS, "")
    assert c.detail == "2 token(s), none by a pinned TSA: not counted"
    assert "not_after_tsa_ns" not in t.summary
    assert (
        t.summary["tsa"] == [_entry_of(stamped.other, None, "signed by a TSA you did not pin")] * 2
    )
    assert t.verdict is Verdict.OK


def test_pinned_certificates_and_no_token_pass_with_no_tsa_time(
    pki: TsaPki, stamped: Stamped
) -> None:
    t = stamped.verify([], (pki.tsa_pem,))
    c = _tsa_check(t)
    assert (c.status, c.reason) == (Status.PASS, "")
    assert c.detail == "no token in the bundle: no TSA time for the checkpoint"
    assert t.summary["tsa"] == [] and "not_after_tsa_ns" not in t.summary
    assert t.verdict is Verdict.OK


@pytest.mark.parametrize("pinned", [None, ()], ids=["no trust file", "no tsa_certs"])
def test_without_pinned_certificates_tokens_are_listed_unverified(
    stamped: Stamped, pinned: tuple[str, ...] | None
) -> None:
    """§12.4: no time.tsa check; each token listed with what it claims, counted by nobody,
    an unreadable one as such; the verdict is the one without tokens."""
    junk = b"\x30\x03\x02\x01\x02"
    with pytest.raises(BadData) as e:
        tsa.parse_token(junk)
    t = stamped.verify([stamped.early, junk, stamped.other], pinned)
    assert not [c for c in t.checks if c.name == "time.tsa"]
    unverified = "not verified: no TSA certificate pinned"
    assert t.summary["tsa"] == [
        _entry_of(stamped.early, None, unverified),
        {"tsa": None, "gen_time_ns": None, "serial": None, "counted": False,
         "status": f"unreadable: {e.value}"},
        _entry_of(stamped.other, None, unverified),
    ]  # fmt: skip
    assert str(e.value).startswith("MALFORMED: ")
    assert "not_after_tsa_ns" not in t.summary
    assert t.verdict is stamped.verify([], pinned).verdict
    assert t.reasons == stamped.verify([], pinned).reasons


def test_at_most_max_tsa_tokens(pki: TsaPki, stamped: Stamped) -> None:
    n = limits.MAX_TSA_TOKENS
    assert n == 16  # §12.2 key 13
    t = stamped.verify([stamped.early] * n, (pki.tsa_pem,))
    assert _tsa_check(t).status is Status.PASS
    assert _tsa_check(t).detail.startswith(f"{n} token(s) over the checkpoint verified")
    t = stamped.verify([stamped.early] * (n + 1), (pki.tsa_pem,))
    c = _tsa_check(t)
    assert (c.status, c.reason) == (Status.FAIL, "TOO_LARGE")
    assert c.detail == f"the bundle's time-stamp tokens is {n + 1}, limit {n}"
    assert t.verdict is Verdict.FAIL and "not_after_tsa_ns" not in t.summary
    assert t.summary["tsa"] == []


def _refused_token(t: Transcript, reason: str, detail: str) -> None:
    c = _tsa_check(t)
    assert (c.status, c.reason, c.detail) == (Status.FAIL, reason, detail)
    assert t.verdict is Verdict.FAIL and t.reasons == [reason]
    assert "not_after_tsa_ns" not in t.summary


def test_a_bad_token_fails_the_check_naming_its_place(pki: TsaPki, stamped: Stamped) -> None:
    s = stamped
    bad = s.early + b"\x00"
    with pytest.raises(BadData) as e:
        tsa.parse_token(bad)
    t = s.verify([s.early, s.other, bad], (pki.tsa_pem,))
    _refused_token(t, "MALFORMED", f"token 2: {e.value.message}")
    big = b"\x30" * (limits.MAX_TSA_TOKEN_SIZE + 1)
    t = s.verify([big], (pki.tsa_pem,))
    _refused_token(t, "TOO_LARGE", f"token 0: a time-stamp token is {len(big)}, limit "
                   f"{limits.MAX_TSA_TOKEN_SIZE}")  # fmt: skip


def test_a_token_over_another_checkpoint_fails_as_a_bad_signature(
    pki: TsaPki, stamped: Stamped
) -> None:
    """The early token put into a bundle whose checkpoint is another (one more leaf)."""
    s = stamped
    (cert,) = tsa.load_certs([pki.tsa_pem])
    w = f.make_world2(n_batches=4, per_batch=5)
    f.seal_batches(w, 1, first=4, per_batch=5)
    p = f.parts(w)
    with pytest.raises(BadData) as e:
        tsa.verify(tsa.parse_token(s.early), cert, p.bundle.checkpoint)
    assert e.value.reason is Reason.BAD_SIGNATURE
    t = verify_bundle(dataclasses.replace(p.bundle, timestamps=(s.early,)).sign(w.collector),
                      dataclasses.replace(w.trust(), tsa_certs=(pki.tsa_pem,)))  # fmt: skip
    _refused_token(t, "BAD_SIGNATURE", f"token 0: {e.value.message}")


def test_a_token_of_an_expired_certificate_is_untrusted(pki: TsaPki, stamped: Stamped) -> None:
    s = stamped
    (cert,) = tsa.load_certs([s.expired_pem])
    with pytest.raises(BadData) as e:
        tsa.verify(tsa.parse_token(s.expired), cert, s.parts.bundle.checkpoint)
    t = s.verify([s.early, s.expired], (pki.tsa_pem, s.expired_pem))
    _refused_token(t, "UNTRUSTED", f"token 1: {e.value.message}")


def test_a_bundle_of_batches_dated_after_its_tsa_time_is_future_time(
    pki: TsaPki, stamped: Stamped
) -> None:
    """The device's clock said 2118: a token stamped today over the checkpoint holding those
    batches proves they were dated in its future."""
    shift = 100 * 365 * 86400 * SEC

    def later(seq: int) -> list[bytes]:
        out = []
        for x in batch_records(seq, 5):
            rec = r.decode(x)
            out.append(r.encode(dataclasses.replace(rec, utc_ns=rec.utc_ns + shift)))
        return out

    w = f.make_world2(n_batches=4, per_batch=5, records=later)
    p = f.parts(w, window=(T0 + shift + SEC, T0 + shift + 3 * SEC))
    token = _token(pki, p.bundle.checkpoint, 5)
    t = verify_bundle(dataclasses.replace(p.bundle, timestamps=(stamped.other, token)).sign(
        w.collector), dataclasses.replace(w.trust(), tsa_certs=(pki.tsa_pem,)))  # fmt: skip
    c = _tsa_check(t)
    (h, *_) = [SignedHeader.parse(x.signed_header).header for x in p.bundle.batches]
    latest = _gen(token) + 10**9  # the TSA's accuracy: one second
    assert (c.status, c.reason) == (Status.FAIL, "FUTURE_TIME")
    assert c.detail == (f"batch {h.batch_seq} claims to start {(h.first_utc_ns - latest) / 1e9:.3f}"
                        " s after CN=Test TSA stamped the checkpoint holding it, beyond its stated "
                        "clock uncertainty")  # fmt: skip
