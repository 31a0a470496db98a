"""notary_core.tsa, what the full mutation run left open in reading a token: the note text
at its edges, genTime as exact integer nanoseconds, the size bound at the byte, a
ContentInfo or signed content of another type, an unknown signature algorithm named by its
OID, and the SignerIdentifier's two forms (issuer and serial, subject key identifier) each
matched on every part, a pinned certificate whose extensions do not parse refused."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from asn1crypto import cms, core, tsp, util
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from notary_core import limits, tsa
from notary_core.errors import BadData, Reason
from tests.infra.tsa import TsaPki

NOTE = b"collector.test/vnotary/log\n3\nAAAA\n\n\xe2\x80\x94 sig\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TsaPki:
    return TsaPki.create(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def token_der(pki: TsaPki) -> bytes:
    digest = tsa.imprint_of(NOTE)
    return tsa.token_from_response(pki.reply(tsa.request(digest, 7)), digest, 7).der


@pytest.fixture(scope="module")
def pinned(pki: TsaPki) -> x509.Certificate:
    (cert,) = tsa.load_certs([pki.tsa_pem])
    return cert


def refused(der: bytes) -> BadData:
    with pytest.raises(BadData) as exc:
        tsa.parse_token(der)
    return exc.value


@pytest.mark.parametrize(
    ("note", "text"),
    [
        (b"no blank line\n", b"no blank line\n"),  # no signature block: all of it
        (b"\n\n- sig\n", b"\n"),  # the blank line at the very start
        (b"a\n\nb\n\n- sig\n", b"a\n"),  # the first blank line ends the text, not the last
    ],
    ids=["no-blank-line", "blank-line-first", "two-blank-lines"],
)
def test_the_note_text_ends_at_the_first_blank_line(note: bytes, text: bytes) -> None:
    assert tsa.note_text(note) == text


def test_gen_time_is_exact_integer_nanoseconds(token_der: bytes) -> None:
    t = tsa.parse_token(token_der)
    gen = cms.ContentInfo.load(token_der)["content"]["encap_content_info"]["content"].parsed
    when = gen["gen_time"].native
    whole = int(when.replace(tzinfo=dt.UTC).timestamp())
    assert type(t.gen_time_ns) is int
    assert t.gen_time_ns == whole * 10**9 + when.microsecond * 1000
    # far from the epoch a float would round: the division is an integer one
    late = dt.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=dt.UTC)
    assert tsa._ns(late) == 9_223_372_036_854_775_000
    assert type(tsa._ns(late)) is int


def test_a_token_at_its_bound_is_parsed_and_one_byte_past_it_is_too_large() -> None:
    at = refused(b"\x00" * limits.MAX_TSA_TOKEN_SIZE)
    assert at.reason == Reason.MALFORMED
    past = refused(b"\x00" * (limits.MAX_TSA_TOKEN_SIZE + 1))
    assert past.reason == Reason.TOO_LARGE


def test_a_content_info_of_another_type_is_no_token() -> None:
    e = refused(cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump())
    assert (e.reason, e.message) == (Reason.MALFORMED, "a time-stamp token is a CMS SignedData")


def _with(token_der: bytes, change: object) -> bytes:
    ci = cms.ContentInfo.load(token_der)
    change(ci["content"])  # type: ignore[operator]
    return bytes(ci.dump(force=True))


def test_signed_content_of_another_type_is_no_tst_info(token_der: bytes) -> None:
    """The TSTInfo's octets kept, only eContentType changed: the signed attributes and the
    signature still match, so only the content type check refuses it."""

    def relabel(sd: cms.SignedData) -> None:
        enc = sd["encap_content_info"]
        sd["encap_content_info"] = cms.EncapsulatedContentInfo(
            {"content_type": "data", "content": enc["content"].contents}
        )

    e = refused(_with(token_der, relabel))
    assert (e.reason, e.message) == (Reason.MALFORMED, "the token's signed content is no TSTInfo")


def test_an_unknown_signature_algorithm_is_named_by_its_oid(token_der: bytes) -> None:
    def unknown(sd: cms.SignedData) -> None:
        sd["signer_infos"][0]["signature_algorithm"] = {"algorithm": "1.3.6.1.4.1.99999.7"}

    e = refused(_with(token_der, unknown))
    assert (e.reason, e.message) == (
        Reason.UNSUPPORTED_ALGORITHM,
        "the token's signature algorithm 1.3.6.1.4.1.99999.7",
    )


def _cert(
    issuer: x509.Name, serial: int, ski: x509.ExtensionType | None = None
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other TSA")]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if ski is not None:
        b = b.add_extension(ski, critical=False)
    der = b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return x509.load_der_x509_certificate(der)


def test_issuer_and_serial_must_both_match(token_der: bytes, pinned: x509.Certificate) -> None:
    t = tsa.parse_token(token_der)
    assert t.sid.name == "issuer_and_serial_number"
    assert tsa.signer_of(t, [pinned]) is pinned
    same_issuer = _cert(pinned.issuer, pinned.serial_number + 1)
    same_serial = _cert(pinned.subject, pinned.serial_number)  # another issuer's name
    assert tsa.signer_of(t, [same_issuer]) is None
    assert tsa.signer_of(t, [same_serial]) is None
    assert tsa.signer_of(t, [same_issuer, same_serial, pinned]) is pinned


def test_a_subject_key_identifier_names_the_certificate_that_carries_it(
    token_der: bytes,
) -> None:
    key_id = bytes(range(20))
    named = _cert(x509.Name([]), 1, x509.SubjectKeyIdentifier(key_id))
    other = _cert(x509.Name([]), 2, x509.SubjectKeyIdentifier(bytes(20)))
    without = _cert(x509.Name([]), 3)
    t = dataclasses.replace(
        tsa.parse_token(token_der),
        sid=cms.SignerIdentifier({"subject_key_identifier": key_id}),
    )
    assert tsa.signer_of(t, [named]) is named
    assert tsa.signer_of(t, [other]) is None
    assert tsa.signer_of(t, [without]) is None
    assert tsa.signer_of(t, [without, other, named]) is named


def test_a_pinned_certificate_whose_extensions_do_not_parse_is_refused(
    token_der: bytes,
) -> None:
    bad_ski = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_KEY_IDENTIFIER, b"\x05\x00")
    broken = _cert(x509.Name([]), 4, bad_ski)
    t = dataclasses.replace(
        tsa.parse_token(token_der),
        sid=cms.SignerIdentifier({"subject_key_identifier": bytes(20)}),
    )
    with pytest.raises(BadData) as exc:
        tsa.signer_of(t, [broken])
    assert exc.value.reason == Reason.MALFORMED
    assert exc.value.message.startswith("the token's signer identifier: error parsing asn1")


# ---- the SignedData's structure: parse_token reads it, verify checks the signature --------


def _attrs(sd: cms.SignedData) -> list[cms.CMSAttribute]:
    return list(sd["signer_infos"][0]["signed_attrs"])


def _set_attrs(sd: cms.SignedData, attrs: list[cms.CMSAttribute] | None) -> None:
    sd["signer_infos"][0]["signed_attrs"] = None if attrs is None else cms.CMSAttributes(attrs)


def _without(kind: str) -> object:
    return lambda sd: _set_attrs(sd, [a for a in _attrs(sd) if a["type"].native != kind])


def _only(kind: str) -> object:
    return lambda sd: _set_attrs(sd, [a for a in _attrs(sd) if a["type"].native == kind])


def _twice(kind: str) -> object:
    def change(sd: cms.SignedData) -> None:
        def doubled(a: cms.CMSAttribute) -> cms.CMSAttribute:
            return cms.CMSAttribute({"type": kind, "values": [*a["values"], *a["values"]]})

        _set_attrs(sd, [doubled(a) if a["type"].native == kind else a for a in _attrs(sd)])

    return change


def _content_type_data(sd: cms.SignedData) -> None:
    _set_attrs(sd, [cms.CMSAttribute({"type": "content_type", "values": ["data"]})
                    if a["type"].native == "content_type" else a for a in _attrs(sd)])  # fmt: skip


def _signers(n: int) -> object:
    def change(sd: cms.SignedData) -> None:
        sd["signer_infos"] = cms.SignerInfos([sd["signer_infos"][0]] * n)

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_signers(2), "a time-stamp token has 2 signers, not 1"),
        (_signers(0), "a time-stamp token has 0 signers, not 1"),
        (lambda sd: _set_attrs(sd, None), "the token's signer has no signed attributes"),
        (lambda sd: _set_attrs(sd, []), "the token's signer has no signed attributes"),
        (_only("content_type"), "the signed attributes lack the content type or digest"),
        (_without("message_digest"), "the signed attributes lack the content type or digest"),
        (_without("content_type"), "the signed attributes lack the content type or digest"),
        (_content_type_data, "the signed attributes lack the content type or digest"),
        (_twice("message_digest"), "signed attribute message_digest has 2 values"),
        (_without("signing_certificate_v2"), "the token does not name its signing certificate"),
    ],
    ids=[
        "two-signers", "no-signer", "no-signed-attributes", "empty-signed-attributes",
        "only-the-content-type", "no-message-digest", "no-content-type", "content-type-data",
        "two-message-digests", "no-signing-certificate",
    ],
)  # fmt: skip
def test_the_signed_data_is_refused_by_its_words(
    token_der: bytes, change: object, message: str
) -> None:
    e = refused(_with(token_der, change))
    assert (e.reason, e.message) == (Reason.MALFORMED, message)


def test_trailing_bytes_after_the_tst_info_are_malformed(token_der: bytes) -> None:
    """Not through `_with`: a forced dump would re-encode the parsed TSTInfo, dropping the
    byte; each level is set again instead, so that only the changed part is re-encoded."""
    ci = cms.ContentInfo.load(token_der)
    sd = ci["content"]
    tst = sd["encap_content_info"]["content"].contents
    sd["encap_content_info"] = cms.EncapsulatedContentInfo(
        {"content_type": "tst_info", "content": core.ParsableOctetString(tst + b"\x00")}
    )
    ci["content"] = sd
    e = refused(ci.dump())
    assert e.reason == Reason.MALFORMED
    assert e.message.startswith("not an RFC 3161 time-stamp token: ")


def test_a_version_1_signing_certificate_names_sha1_hashes_in_order(token_der: bytes) -> None:
    """RFC 2634 ESSCertID (signingCertificate): SHA-1 of each certificate, the signer's
    first; what verify then compares with the pinned certificate's SHA-1."""
    first, second = bytes(range(20)), bytes(range(20, 40))

    def v1(sd: cms.SignedData) -> None:
        ess = cms.CMSAttribute({"type": "signing_certificate",
                                "values": [{"certs": [{"cert_hash": first},
                                                      {"cert_hash": second}]}]})  # fmt: skip
        others = [a for a in _attrs(sd) if a["type"].native != "signing_certificate_v2"]
        _set_attrs(sd, [*others, ess])

    t = tsa.parse_token(_with(token_der, v1))
    assert t.ess_hashes == (("sha1", first), ("sha1", second))


# ---- the TSTInfo's fields as read (parse_token does not check the signature) ---------------


def _with_tst(token_der: bytes, **fields: object) -> bytes:
    """The token with its TSTInfo's `fields` replaced (None removes an optional one); each
    level set again, so that only the changed part is re-encoded."""
    ci = cms.ContentInfo.load(token_der)
    sd = ci["content"]
    old = sd["encap_content_info"]["content"].parsed
    kept = {name: old[name] for name, *_ in tsp.TSTInfo._fields}  # the values, not natives
    tst = tsp.TSTInfo({k: v for k, v in {**kept, **fields}.items()
                       if v is not None and not isinstance(v, core.Void)})  # fmt: skip
    sd["encap_content_info"] = cms.EncapsulatedContentInfo(
        {"content_type": "tst_info", "content": core.ParsableOctetString(tst.dump())}
    )
    ci["content"] = sd
    return bytes(ci.dump())


def test_the_fields_of_a_real_token(token_der: bytes) -> None:
    t = tsa.parse_token(token_der)
    tst = cms.ContentInfo.load(token_der)["content"]["encap_content_info"]["content"].parsed
    assert type(t.serial) is int and t.serial == tst["serial_number"].native
    assert t.policy == "1.3.6.1.4.1.99999.1"  # the TSA's default_policy
    assert (t.nonce, t.accuracy_ns, t.pss) == (7, 10**9, None)  # accuracy = secs:1; ECDSA
    assert t.signature_alg == "ecdsa"


@pytest.mark.parametrize(
    ("accuracy", "ns"),
    [
        ({"seconds": 1, "millis": 2, "micros": 3}, 1_002_003_000),
        ({"millis": 250}, 250_000_000),
        ({"micros": 7}, 7_000),
        ({"seconds": 2, "micros": 999}, 2_000_999_000),
        (None, None),
    ],
    ids=["all-three", "millis-only", "micros-only", "seconds-and-micros", "none"],
)
def test_the_accuracy_is_read_in_nanoseconds(
    token_der: bytes, accuracy: dict[str, int] | None, ns: int | None
) -> None:
    t = tsa.parse_token(_with_tst(token_der, accuracy=accuracy))
    assert t.accuracy_ns == ns
    assert ns is None or type(t.accuracy_ns) is int


def test_a_gen_time_of_year_zero_is_not_a_time(token_der: bytes) -> None:
    """asn1crypto reads year 0 as its own extended_datetime, not a datetime."""
    year_zero = core.GeneralizedTime(util.extended_datetime(0, 1, 1, tzinfo=dt.UTC))
    e = refused(_with_tst(token_der, gen_time=year_zero))
    assert (e.reason, e.message) == (Reason.MALFORMED, "the token's genTime is not a time")


def test_an_rsa_pss_signature_algorithm_carries_its_parameters(token_der: bytes) -> None:
    def pss(sd: cms.SignedData) -> None:
        sd["signer_infos"][0]["signature_algorithm"] = {
            "algorithm": "rsassa_pss",
            "parameters": {"hash_algorithm": {"algorithm": "sha384"},
                           "mask_gen_algorithm": {"algorithm": "mgf1",
                                                  "parameters": {"algorithm": "sha256"}},
                           "salt_length": 48},
        }  # fmt: skip

    t = tsa.parse_token(_with(token_der, pss))
    assert (t.signature_alg, t.pss) == ("rsassa_pss", ("sha384", "sha256", 48))
