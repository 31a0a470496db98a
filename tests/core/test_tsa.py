"""notary_core.tsa on tokens a real TSA made (`openssl ts -reply`, no HTTP here), on
malformed DER, and on every single-byte change: a clear reason, never a crash."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notary_core import limits, tsa
from notary_core.bundle import parse_bundle
from notary_core.errors import BadData, Reason
from notary_core.evidence_tsa import _no_batch_after
from notary_core.header import SignedHeader
from tests.core import bundle_v2_factory as f
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
