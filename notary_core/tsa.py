"""RFC 3161 time-stamp tokens over a checkpoint (docs/protocol.md §12.2 key 13, §12.3
`time.tsa`): parse, and verify against pinned TSA certificates.

A token is a CMS SignedData (RFC 5652) whose signed content is a TSTInfo (RFC 3161 §2.4.2):
the TSA signs that it saw `messageImprint` (here SHA-256 of the checkpoint's note text) at
`genTime`. The ASN.1 is read by asn1crypto (pure Python, no OpenSSL binding, strict DER
lengths, used by certvalidator, oscrypto, pyHanko, endesive); the signature is checked by
`cryptography`, as every other signature of the protocol. Neither trusts the certificates a
token carries: the signer must be a certificate the verifier pinned.

Pure: bytes in, values out. Every fault of a token is BadData with a reason of §9:
MALFORMED (not a token), TOO_LARGE, UNSUPPORTED_ALGORITHM, BAD_SIGNATURE (forged, or over
another digest), UNTRUSTED (the pinned certificate does not vouch for it at its time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from notary_core import limits
from notary_core.errors import BadData, Reason, too_large

IMPRINT_HASH = "sha256"
"""§12.2 key 13: a token is over SHA-256 of the checkpoint text, and nothing else."""

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}  # fmt: skip
"""Digests a token's signature may use. SHA-1 and MD5 are refused (UNSUPPORTED_ALGORITHM)."""

_DER = serialization.Encoding.DER
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


@dataclass(frozen=True)
class Token:
    """The parts of a TimeStampToken that its verification reads. Built by `parse_token`."""

    der: bytes
    gen_time_ns: int
    accuracy_ns: int | None  # TSTInfo.accuracy, if the TSA states one
    serial: int
    policy: str
    nonce: int | None
    imprint_alg: str
    imprint: bytes
    tst_info: bytes  # the DER TSTInfo exactly as signed (the eContent octets)
    signed_attrs: bytes  # the DER SET OF signed attributes, as the signature covers them
    message_digest: bytes
    digest_alg: str
    signature_alg: str  # ecdsa | rsassa_pkcs1v15 | rsassa_pss | ed25519 | ...
    pss: tuple[str, str, int] | None  # RSA-PSS (hash, MGF1 hash, salt length)
    signature: bytes
    sid: cms.SignerIdentifier
    ess_hashes: tuple[tuple[str, bytes], ...]  # (hash, cert hash) of the ESSCertID(v2) named


def note_text(note: bytes) -> bytes:
    """A signed note's text (§7): everything before the blank line, its last newline kept."""
    end = note.find(b"\n\n")
    return note if end < 0 else note[: end + 1]


def imprint_of(note: bytes) -> bytes:
    """What a token over this checkpoint must name: SHA-256 of its note text."""
    return hashlib.sha256(note_text(note)).digest()


def _ns(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def parse_token(der: bytes) -> Token:
    """A TimeStampToken (DER ContentInfo) -> Token; BadData (MALFORMED, TOO_LARGE) else."""
    if len(der) > limits.MAX_TSA_TOKEN_SIZE:
        raise too_large("a time-stamp token", len(der), limits.MAX_TSA_TOKEN_SIZE)
    try:
        return _parse(der)
    except BadData:
        raise
    except _ASN1_ERRORS as exc:  # asn1crypto parses lazily: any field may be the bad one
        raise BadData(Reason.MALFORMED, f"not an RFC 3161 time-stamp token: {exc}") from None


def _parse(der: bytes) -> Token:
    ci = cms.ContentInfo.load(der, strict=True)
    ci.native  # noqa: B018 - asn1crypto parses lazily: decode every field now, or fail here
    if ci["content_type"].native != "signed_data":
        raise BadData(Reason.MALFORMED, "a time-stamp token is a CMS SignedData")
    sd = ci["content"]
    enc = sd["encap_content_info"]
    if enc["content_type"].native != "tst_info" or not isinstance(
        enc["content"], core.ParsableOctetString
    ):
        raise BadData(Reason.MALFORMED, "the token's signed content is no TSTInfo")
    tst_der = enc["content"].contents
    tst = tsp.TSTInfo.load(tst_der, strict=True)
    tst.native  # noqa: B018 - as above
    infos = sd["signer_infos"]
    if len(infos) != 1:  # RFC 3161 §2.4.2: exactly one signer, the TSA
        raise BadData(Reason.MALFORMED, f"a time-stamp token has {len(infos)} signers, not 1")
    si = infos[0]
    attrs = si["signed_attrs"]
    if not isinstance(attrs, cms.CMSAttributes) or len(attrs) == 0:
        raise BadData(Reason.MALFORMED, "the token's signer has no signed attributes")
    digest, content_type = None, None
    ess: tuple[tuple[str, bytes], ...] = ()
    for a in attrs:
        kind = a["type"].native
        values = a["values"]
        if len(values) != 1:
            raise BadData(Reason.MALFORMED, f"signed attribute {kind} has {len(values)} values")
        if kind == "message_digest":
            digest = values[0].native
        elif kind == "content_type":
            content_type = values[0].native
        elif kind == "signing_certificate":  # RFC 2634 ESSCertID: SHA-1 of the certificate
            ess = tuple(("sha1", c["cert_hash"].native) for c in values[0]["certs"])
        elif kind == "signing_certificate_v2":  # RFC 5035 ESSCertIDv2 (default SHA-256)
            ess = tuple((c["hash_algorithm"]["algorithm"].native, c["cert_hash"].native)
                        for c in values[0]["certs"])  # fmt: skip
    if content_type != "tst_info" or not isinstance(digest, bytes):
        raise BadData(Reason.MALFORMED, "the signed attributes lack the content type or digest")
    if not ess:  # RFC 3161 §2.4.1: the TSA's ESSCertID MUST be among the signed attributes
        raise BadData(Reason.MALFORMED, "the token does not name its signing certificate")
    signed = bytearray(attrs.dump())
    signed[0] = 0x31  # RFC 5652 §5.4: the signature covers the attributes as a SET OF
    imprint = tst["message_imprint"]
    acc = tst["accuracy"]
    acc_ns = None
    if acc.native is not None:
        a = acc.native
        acc_ns = (
            (a["seconds"] or 0) * 10**9 + (a["millis"] or 0) * 10**6 + (a["micros"] or 0) * 10**3
        )
    gen = tst["gen_time"].native
    sig_alg, pss = _signature_algorithm(si["signature_algorithm"])
    if not isinstance(gen, dt.datetime):
        raise BadData(Reason.MALFORMED, "the token's genTime is not a time")
    return Token(
        der=der, gen_time_ns=_ns(gen), accuracy_ns=acc_ns, serial=int(tst["serial_number"].native),
        policy=str(tst["policy"].dotted), nonce=tst["nonce"].native,
        imprint_alg=str(imprint["hash_algorithm"]["algorithm"].native),
        imprint=bytes(imprint["hashed_message"].native), tst_info=bytes(tst_der),
        signed_attrs=bytes(signed), message_digest=digest,
        digest_alg=str(si["digest_algorithm"]["algorithm"].native),
        signature_alg=sig_alg, pss=pss, signature=bytes(si["signature"].native),
        sid=si["sid"], ess_hashes=ess,
    )  # fmt: skip


def _signature_algorithm(a: algos.SignedDigestAlgorithm) -> tuple[str, tuple[str, str, int] | None]:
    oid = a["algorithm"].dotted
    try:
        name = str(a.signature_algo)
    except ValueError:
        raise BadData(
            Reason.UNSUPPORTED_ALGORITHM, f"the token's signature algorithm {oid}"
        ) from None
    if name != "rsassa_pss":
        return name, None
    p = a["parameters"]
    return name, (str(p["hash_algorithm"]["algorithm"].native),
                  str(p["mask_gen_algorithm"]["parameters"]["algorithm"].native),
                  int(p["salt_length"].native))  # fmt: skip


@dataclass(frozen=True)
class Stamp:
    """A token verified under a pinned TSA certificate: the checkpoint existed at gen_time."""

    tsa: str  # the certificate's subject (RFC 4514)
    gen_time_ns: int
    accuracy_ns: int | None
    serial: int


def load_certs(pems: Iterable[str]) -> list[x509.Certificate]:
    """Pinned TSA certificates (the trust file's `tsa_certs`, §13); UNTRUSTED if one is bad."""
    out = []
    for i, pem in enumerate(pems):
        try:
            out.append(x509.load_pem_x509_certificate(pem.encode("ascii")))
        except (ValueError, UnicodeEncodeError) as exc:
            raise BadData(Reason.UNTRUSTED, f"pinned TSA certificate {i}: {exc}") from None
    return out


def _names(sid: cms.SignerIdentifier, cert: x509.Certificate) -> bool:
    """The SignerIdentifier names this certificate (RFC 5652 §5.3)."""
    if sid.name == "issuer_and_serial_number":
        c = ax509.Certificate.load(cert.public_bytes(_DER))
        ias = sid.chosen
        return bool(ias["serial_number"].native == c.serial_number and ias["issuer"] == c.issuer)
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return False
    return bool(sid.chosen.native == ski)


def signer_of(token: Token, certs: Iterable[x509.Certificate]) -> x509.Certificate | None:
    """The pinned certificate the token names as its signer, or None: a token of a TSA the
    verifier did not pin is not counted, never a fault (§12.3 time.tsa)."""
    try:
        return next((c for c in certs if _names(token.sid, c)), None)
    except _ASN1_ERRORS as exc:
        raise BadData(Reason.MALFORMED, f"the token's signer identifier: {exc}") from None


def verify(token: Token, cert: x509.Certificate, note: bytes) -> Stamp:
    """Check a token against the pinned certificate it names and the checkpoint it must be
    over (§12.3 time.tsa). Returns the stamp; BadData names the first fault."""
    h = _HASHES.get(token.digest_alg)
    if h is None:
        raise BadData(Reason.UNSUPPORTED_ALGORITHM, f"the token's digest {token.digest_alg}")
    if hashlib.new(token.digest_alg, token.tst_info).digest() != token.message_digest:
        raise BadData(Reason.BAD_SIGNATURE, "the signed digest is not the TSTInfo's")
    _check_signature(token, cert, h())
    der = cert.public_bytes(_DER)
    alg, want = token.ess_hashes[0]  # RFC 5035 §3: the first ESSCertID is the signer's
    if alg not in ("sha1", *_HASHES) or hashlib.new(alg, der).digest() != want:
        raise BadData(Reason.BAD_SIGNATURE, "the token names another signing certificate")
    if token.imprint_alg != IMPRINT_HASH:
        raise BadData(Reason.BAD_SIGNATURE,
                      f"the token is over a {token.imprint_alg} digest, not SHA-256")  # fmt: skip
    if token.imprint != imprint_of(note):
        raise BadData(Reason.BAD_SIGNATURE, "the token is over another digest than the checkpoint")
    subject = cert.subject.rfc4514_string()
    _check_cert(cert, token.gen_time_ns, subject)
    return Stamp(subject, token.gen_time_ns, token.accuracy_ns, token.serial)


def _check_signature(token: Token, cert: x509.Certificate, h: hashes.HashAlgorithm) -> None:
    key = cert.public_key()
    algo = token.signature_alg
    data, sig = token.signed_attrs, token.signature
    try:
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(h))
        elif algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PKCS1v15(), h)
        elif algo == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
            assert token.pss is not None  # set by parse_token for every RSA-PSS signature
            pss_name, mgf_name, salt = token.pss
            mgf, pss_h = _HASHES.get(mgf_name), _HASHES.get(pss_name)
            if mgf is None or pss_h is None:
                raise BadData(Reason.UNSUPPORTED_ALGORITHM, "RSA-PSS with an unsupported hash")
            key.verify(sig, data, padding.PSS(padding.MGF1(mgf()), salt), pss_h())
        elif algo == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        else:
            raise BadData(Reason.UNSUPPORTED_ALGORITHM,
                          f"a {algo} signature by a {type(key).__name__}")  # fmt: skip
    except (InvalidSignature, ValueError):  # ValueError: a signature not even DER (ECDSA)
        raise BadData(Reason.BAD_SIGNATURE, "the token's signature does not verify under the "
                      "pinned TSA certificate") from None  # fmt: skip


def _check_cert(cert: x509.Certificate, gen_time_ns: int, subject: str) -> None:
    """RFC 3161 §2.3: the TSA certificate has exactly one, critical, extended key usage:
    timeStamping; and genTime lies in its validity (a token proves nothing after the key's
    certified life, whatever the verifier's own date)."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise BadData(Reason.UNTRUSTED, f"{subject} is not certified for time-stamping") from None
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise BadData(Reason.UNTRUSTED,
                      f"{subject}: the key usage is not time-stamping alone, critical")  # fmt: skip
    lo, hi = _ns(cert.not_valid_before_utc), _ns(cert.not_valid_after_utc)
    if not lo <= gen_time_ns <= hi:
        raise BadData(Reason.UNTRUSTED,
                      f"{subject}: the certificate was not valid at the token's time "
                      f"(valid {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} to "
                      f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ})")  # fmt: skip


# ---- requests and responses (RFC 3161 §2.4): what the collector asks and checks ------------


def request(digest: bytes, nonce: int) -> bytes:
    """A TimeStampReq (DER) for SHA-256 `digest`: with a nonce (the answer must repeat it,
    so an old answer cannot be replayed to us) and certReq (the token carries the TSA
    certificate, so a reader can see who stamped it; verifiers use their pinned one)."""
    return bytes(tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": IMPRINT_HASH},
                            "hashed_message": digest},
        "nonce": nonce, "cert_req": True,
    }).dump())  # fmt: skip


class _TimeStampResp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """RFC 3161 §2.4.2 TimeStampResp. asn1crypto's makes timeStampToken required, but a TSA
    that refuses (status rejection, waiting, ...) sends none: read that refusal, not MALFORMED."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def token_from_response(resp: bytes, digest: bytes, nonce: int) -> Token:
    """The token of a TimeStampResp, checked to be over `digest` with our `nonce`. BadData:
    the TSA refused (its status and text in the message) or answered something else."""
    if len(resp) > limits.MAX_TSA_TOKEN_SIZE + 1024:
        raise too_large("a time-stamp response", len(resp), limits.MAX_TSA_TOKEN_SIZE + 1024)
    try:
        r = _TimeStampResp.load(resp, strict=True)
        status = r["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = r["status"]["status_string"].native or []
            fail = r["status"]["fail_info"].native
            raise BadData(Reason.UNTRUSTED, f"the TSA answered {status}: {text} {fail or ''}")
        token_der = bytes(r["time_stamp_token"].dump())
    except _ASN1_ERRORS as exc:
        raise BadData(Reason.MALFORMED, f"not an RFC 3161 response: {exc}") from None
    token = parse_token(token_der)
    if (token.imprint_alg, token.imprint) != (IMPRINT_HASH, digest):
        raise BadData(Reason.BAD_SIGNATURE, "the TSA stamped another digest than ours")
    if token.nonce != nonce:
        raise BadData(Reason.BAD_SIGNATURE, "the TSA's answer does not carry our nonce")
    return token
