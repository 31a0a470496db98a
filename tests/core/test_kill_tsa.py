"""notary_core.tsa, what the token round trips leave open: the TSA's answers refused by
reason and message (size at and past its bound, trailing bytes, a refusal's status text and
failure bits, granted with modifications), the request's certReq, and the TSA certificate's
usage and validity checked at their exact edges."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from notary_core import limits, tsa
from notary_core.errors import BadData, Reason
from tests.infra.tsa import TsaPki

DIGEST = bytes(range(32))
NONCE = 4242
BOUND = limits.MAX_TSA_TOKEN_SIZE + 1024


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TsaPki:
    return TsaPki.create(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def resp(pki: TsaPki) -> bytes:
    return pki.reply(tsa.request(DIGEST, NONCE))


def refused(resp: bytes, digest: bytes = DIGEST, nonce: int = NONCE) -> BadData:
    with pytest.raises(BadData) as exc:
        tsa.token_from_response(resp, digest, nonce)
    return exc.value


def test_the_request_asks_for_the_certificate_and_carries_digest_and_nonce() -> None:
    req = tsp.TimeStampReq.load(tsa.request(DIGEST, NONCE))
    assert req["cert_req"].native is True
    assert req["nonce"].native == NONCE
    assert req["message_imprint"]["hashed_message"].native == DIGEST
    assert req["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"


def test_a_response_at_its_bound_is_read_and_one_byte_past_it_is_too_large() -> None:
    e = refused(b"\x00" * BOUND)
    assert e.reason == Reason.MALFORMED
    e = refused(b"\x00" * (BOUND + 1))
    assert (e.reason, e.message, e.fields) == (
        Reason.TOO_LARGE, f"a time-stamp response is {BOUND + 1}, limit {BOUND}",
        {"size": BOUND + 1, "limit": BOUND})  # fmt: skip


def test_trailing_bytes_after_the_response_are_malformed(resp: bytes) -> None:
    assert tsa.token_from_response(resp, DIGEST, NONCE).nonce == NONCE
    e = refused(resp + b"\x00")
    assert e.reason == Reason.MALFORMED
    assert e.message.startswith("not an RFC 3161 response: ")
    assert len(e.message) > len("not an RFC 3161 response: ")


def test_granted_with_modifications_is_a_token(resp: bytes) -> None:
    r = tsp.TimeStampResp.load(resp)
    mods = tsp.TimeStampResp({"status": {"status": "granted_with_mods"},
                              "time_stamp_token": r["time_stamp_token"]}).dump()  # fmt: skip
    token = tsa.token_from_response(mods, DIGEST, NONCE)
    assert token.der == r["time_stamp_token"].dump()


def status_only(**status: object) -> bytes:
    """A TimeStampResp of its PKIStatusInfo alone, as a refusing TSA sends it (§2.4.2: no
    timeStampToken)."""
    info = tsp.PKIStatusInfo(status).dump()
    return b"\x30" + bytes([len(info)]) + info


def test_a_refusal_names_its_status_text_and_failure() -> None:
    e = refused(status_only(status="rejection", status_string=["no sha-1"], fail_info={"bad_alg"}))
    assert (e.reason, e.message) == (
        Reason.UNTRUSTED, "the TSA answered rejection: ['no sha-1'] {'bad_alg'}")  # fmt: skip
    e = refused(status_only(status="waiting"))
    assert (e.reason, e.message) == (Reason.UNTRUSTED, "the TSA answered waiting: [] ")


def test_granted_without_a_token_is_malformed() -> None:
    e = refused(status_only(status="granted"))
    assert e.reason == Reason.MALFORMED
    assert e.message.startswith("not an RFC 3161 time-stamp token: ")


def test_another_digest_or_nonce_by_its_words(resp: bytes) -> None:
    e = refused(resp, bytes(32))
    assert (e.reason, e.message) == (
        Reason.BAD_SIGNATURE,
        "the TSA stamped another digest than ours",
    )
    e = refused(resp, DIGEST, NONCE + 1)
    assert (e.reason, e.message) == (
        Reason.BAD_SIGNATURE,
        "the TSA's answer does not carry our nonce",
    )


# ---- the TSA certificate (RFC 3161 §2.3), checked directly: OpenSSL signs with none of these

KEY = ec.generate_private_key(ec.SECP256R1())
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
SUBJECT = "CN=Edge TSA"


def cert(eku: list[x509.ObjectIdentifier] | None, critical: bool = True) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Edge TSA")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(KEY.public_key()).serial_number(1)
         .not_valid_before(START).not_valid_after(END))  # fmt: skip
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=critical)
    return b.sign(KEY, hashes.SHA256())


def ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 10**9


def untrusted(c: x509.Certificate, at: int) -> str:
    with pytest.raises(BadData) as exc:
        tsa._check_cert(c, at, SUBJECT)
    assert exc.value.reason == Reason.UNTRUSTED
    return exc.value.message


def test_the_certificate_must_be_for_time_stamping_alone_and_critical() -> None:
    stamping = ExtendedKeyUsageOID.TIME_STAMPING
    mid = ns(START) + 1000
    tsa._check_cert(cert([stamping]), mid, SUBJECT)
    assert untrusted(cert(None), mid) == "CN=Edge TSA is not certified for time-stamping"
    alone = "CN=Edge TSA: the key usage is not time-stamping alone, critical"
    assert untrusted(cert([stamping], critical=False), mid) == alone
    assert untrusted(cert([stamping, ExtendedKeyUsageOID.CODE_SIGNING]), mid) == alone
    assert untrusted(cert([ExtendedKeyUsageOID.CODE_SIGNING], critical=False), mid) == alone


def test_the_token_time_may_be_either_end_of_the_validity_and_not_past_it() -> None:
    c = cert([ExtendedKeyUsageOID.TIME_STAMPING])
    tsa._check_cert(c, ns(START), SUBJECT)
    tsa._check_cert(c, ns(END), SUBJECT)
    words = ("CN=Edge TSA: the certificate was not valid at the token's time "
             "(valid 2026-01-01T00:00:00Z to 2027-01-01T00:00:00Z)")  # fmt: skip
    assert untrusted(c, ns(START) - 1000) == words
    assert untrusted(c, ns(END) + 1000) == words


def test_a_pinned_certificate_that_is_no_pem_is_untrusted_by_its_place() -> None:
    with pytest.raises(BadData) as exc:
        tsa.load_certs([Path(__file__).read_text()[:40], "x"])
    assert exc.value.reason == Reason.UNTRUSTED
    assert exc.value.message.startswith("pinned TSA certificate 0: ")


def test_a_token_of_another_digest_or_over_other_bytes_by_its_words(
    pki: TsaPki, resp: bytes
) -> None:
    token = tsa.token_from_response(resp, DIGEST, NONCE)
    pinned = x509.load_pem_x509_certificate(pki.tsa_pem.encode())
    sha1 = dataclasses.replace(token, digest_alg="sha1")
    with pytest.raises(BadData) as exc:
        tsa.verify(sha1, pinned, b"note\n")
    assert (exc.value.reason, exc.value.message) == (
        Reason.UNSUPPORTED_ALGORITHM, "the token's digest sha1")  # fmt: skip
    other = dataclasses.replace(token, message_digest=bytes(32))
    with pytest.raises(BadData) as exc:
        tsa.verify(other, pinned, b"note\n")
    assert (exc.value.reason, exc.value.message) == (
        Reason.BAD_SIGNATURE, "the signed digest is not the TSTInfo's")  # fmt: skip


NOTE = b"collector.test/vnotary/log\n7\nq83vEjRZqNqQDrCYq0ZtvGRf2rHpfHnAbd7XDTVfm5c=\n\n- sig\n"


def test_the_signing_certificate_is_named_by_sha1_or_a_pinned_digest_only(pki: TsaPki) -> None:
    digest = tsa.imprint_of(NOTE)
    token = tsa.token_from_response(pki.reply(tsa.request(digest, 9)), digest, 9)
    pinned = x509.load_pem_x509_certificate(pki.tsa_pem.encode())
    der = pinned.public_bytes(serialization.Encoding.DER)
    stamp = tsa.verify(token, pinned, NOTE)
    assert (stamp.tsa, stamp.gen_time_ns, stamp.serial) == (
        "CN=Test TSA", token.gen_time_ns, token.serial)  # fmt: skip
    sha1 = dataclasses.replace(token, ess_hashes=(("sha1", hashlib.sha1(der).digest()),))
    assert tsa.verify(sha1, pinned, NOTE) == stamp
    for alg, value in (("md5", hashlib.md5(der).digest()), ("sha256", bytes(32))):
        named = dataclasses.replace(token, ess_hashes=((alg, value), *token.ess_hashes))
        with pytest.raises(BadData) as exc:
            tsa.verify(named, pinned, NOTE)
        assert (exc.value.reason, exc.value.message) == (
            Reason.BAD_SIGNATURE, "the token names another signing certificate")  # fmt: skip


def test_a_token_over_another_hash_or_checkpoint_by_its_words(pki: TsaPki) -> None:
    digest = tsa.imprint_of(NOTE)
    token = tsa.token_from_response(pki.reply(tsa.request(digest, 9)), digest, 9)
    pinned = x509.load_pem_x509_certificate(pki.tsa_pem.encode())
    for t, note, words in (
        (dataclasses.replace(token, imprint_alg="sha512"), NOTE,
         "the token is over a sha512 digest, not SHA-256"),
        (token, NOTE.replace(b"7", b"8"), "the token is over another digest than the checkpoint"),
    ):  # fmt: skip
        with pytest.raises(BadData) as exc:
            tsa.verify(t, pinned, note)
        assert (exc.value.reason, exc.value.message) == (Reason.BAD_SIGNATURE, words)


def test_an_expired_tsa_is_named_in_its_refusal(tmp_path: Path) -> None:
    old = TsaPki.create(tmp_path / "old", name="Old TSA", expired=True)
    digest = tsa.imprint_of(NOTE)
    token = tsa.token_from_response(old.reply(tsa.request(digest, 3)), digest, 3)
    with pytest.raises(BadData) as exc:
        tsa.verify(token, x509.load_pem_x509_certificate(old.tsa_pem.encode()), NOTE)
    assert exc.value.reason == Reason.UNTRUSTED
    assert exc.value.message.startswith("CN=Old TSA: the certificate was not valid at the token's")
