"""notary_core.cose, what the interoperability tests leave open: the exact bytes sign1 puts
in each field, the key id, each refusal by its reason and message, and the bounds of the
protected header (its size and the memo of decoded headers)."""

from __future__ import annotations

import hashlib

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from notary_core import cbor, cose
from notary_core.errors import BadData, Reason

CTY = "application/vnd.vnotary.test"
ED = cose.Signer.from_key(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
P256 = cose.Signer.from_key(ec.derive_private_key(7, ec.SECP256R1()), deterministic=True)


def refused(call: object, *args: object) -> BadData:
    with pytest.raises(BadData) as exc:
        call(*args)  # type: ignore[operator]
    return exc.value


def spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_key_id_is_the_first_16_bytes_of_the_spki_hash() -> None:
    for s in (ED, P256):
        assert s.kid == hashlib.sha256(spki(s.key.public_key())).digest()[:16]
        assert cose.key_id(s.public.key) == s.kid and len(s.kid) == 16
        assert s.public.spki() == spki(s.key.public_key())
        assert cose.PublicKey.from_spki(s.public.spki()) == s.public


@pytest.mark.parametrize("signer", [ED, P256], ids=["eddsa", "es256"])
def test_sign1_puts_each_field_where_rfc_9052_says(signer: cose.Signer) -> None:
    msg = cose.sign1(signer, b"payload", CTY)
    tag = cbor2.loads(msg)
    assert tag.tag == 18
    protected, unprotected, payload, signature = tag.value
    assert cbor2.loads(protected) == {1: int(signer.alg), 3: CTY, 4: signer.kid}
    assert protected == cbor.dumps({1: int(signer.alg), 3: CTY, 4: signer.kid})
    assert (unprotected, payload) == ({}, b"payload")
    to_sign = cbor2.dumps(["Signature1", protected, b"", b"payload"])
    key = signer.key.public_key()
    if isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, to_sign)
    else:
        assert len(signature) == 64
        der = encode_dss_signature(int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
        key.verify(der, to_sign, ec.ECDSA(hashes.SHA256()))
    parsed = cose.parse_sign1(msg, len(msg))
    assert parsed == cose.Sign1(protected, int(signer.alg), signer.kid, CTY, b"payload", signature)
    assert parsed.verify(signer.public) == b"payload"


def test_es256_signatures_are_deterministic_when_asked() -> None:
    assert cose.sign1(P256, b"x", CTY) == cose.sign1(P256, b"x", CTY)
    assert cose.sign1(ED, b"x", CTY) == cose.sign1(ED, b"x", CTY)


def test_each_key_refusal_by_its_words() -> None:
    e = refused(cose.PublicKey.from_key, ec.derive_private_key(7, ec.SECP384R1()).public_key())
    assert (e.reason, e.message) == (
        Reason.UNSUPPORTED_ALGORITHM, "only Ed25519 and P-256 keys are supported")  # fmt: skip
    e = refused(cose.PublicKey.from_spki, b"\x30\x00")
    assert e.reason == Reason.BAD_KEY and e.message.startswith("not a public key: ")
    rsa_key = rsa.generate_private_key(65537, 1024).public_key()
    e = refused(cose.PublicKey.from_spki, spki(rsa_key))
    assert (e.reason, e.message) == (Reason.UNSUPPORTED_ALGORITHM, "only Ed25519 and P-256 keys")
    p384 = spki(ec.derive_private_key(7, ec.SECP384R1()).public_key())
    e = refused(cose.PublicKey.from_spki, p384)
    assert e.message == "only Ed25519 and P-256 keys are supported"


def test_each_signature_refusal_by_its_words() -> None:
    parsed = cose.parse_sign1(cose.sign1(P256, b"x", CTY), 4096)
    for sig in (parsed.signature[:63], parsed.signature + b"\x00"):
        e = refused(P256.public.verify_raw, sig, b"m")
        assert (e.reason, e.message) == (Reason.BAD_SIGNATURE, "ES256 signature must be 64 bytes")
    for s in (P256, ED):
        e = refused(s.public.verify_raw, s.sign_raw(b"m"), b"n")
        assert (e.reason, e.message) == (Reason.BAD_SIGNATURE, "signature does not verify")
    e = refused(parsed.verify, ED.public)
    assert (e.reason, e.message) == (Reason.UNSUPPORTED_ALGORITHM, "message alg -7, key alg -8")
    other = cose.Signer.from_key(ec.derive_private_key(8, ec.SECP256R1()))
    e = refused(parsed.verify, other.public)
    assert (e.reason, e.message) == (Reason.KEY_MISMATCH, "message was signed by another key id")


def _msg(protected: bytes, unprotected: object = None, payload: object = b"p") -> bytes:
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected or {}, payload, b"s"]))


def test_a_message_without_a_kid_is_checked_by_its_signature() -> None:
    protected = cbor.dumps({1: -8, 3: CTY})
    sig = ED.sign_raw(cbor.dumps(["Signature1", protected, b"", b"p"]))
    msg = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, b"p", sig]))
    parsed = cose.parse_sign1(msg, 4096)
    assert (parsed.kid, parsed.content_type) == (b"", CTY)
    assert parsed.verify(ED.public) == b"p"
    no_cty = cbor.dumps({1: -8, 4: ED.kid})
    assert cose.parse_sign1(_msg(no_cty), 4096).content_type is None


def test_each_malformed_message_by_its_words() -> None:
    ok = cbor.dumps({1: -8, 3: CTY, 4: ED.kid})
    cases = [
        (cbor2.dumps([ok, {}, b"p", b"s"]), Reason.MALFORMED, "COSE_Sign1 must carry tag 18"),
        (cbor2.dumps(cbor2.CBORTag(17, [ok, {}, b"p", b"s"])), Reason.MALFORMED,
         "CBOR tag 17 is not COSE_Sign1"),
        (cbor2.dumps(cbor2.CBORTag(18, [ok, {}, b"p"])), Reason.MALFORMED,
         "COSE_Sign1 must be an array of 4"),
        (cbor2.dumps(cbor2.CBORTag(18, [ok, {}, b"p", b"s", b""])), Reason.MALFORMED,
         "COSE_Sign1 must be an array of 4"),
        (cbor2.dumps(cbor2.CBORTag(18, {1: 2})), Reason.MALFORMED,
         "COSE_Sign1 must be an array of 4"),
        (_msg(ok, {4: ED.kid}), Reason.MALFORMED, "COSE_Sign1 unprotected header must be empty"),
        (cbor2.dumps(cbor2.CBORTag(18, ["x", {}, b"p", b"s"])), Reason.MALFORMED,
         "COSE_Sign1 fields have the wrong types"),
        (cbor2.dumps(cbor2.CBORTag(18, [ok, [], b"p", b"s"])), Reason.MALFORMED,
         "COSE_Sign1 fields have the wrong types"),
        (_msg(ok, payload="p"), Reason.MALFORMED, "COSE_Sign1 fields have the wrong types"),
        (cbor2.dumps(cbor2.CBORTag(18, [ok, {}, b"p", "s"])), Reason.MALFORMED,
         "COSE_Sign1 fields have the wrong types"),
        (_msg(cbor.dumps([1])), Reason.MALFORMED, "protected header is not a map"),
        (_msg(b""), Reason.UNSUPPORTED_ALGORITHM, "COSE alg None"),
        (_msg(cbor.dumps({1: -35})), Reason.UNSUPPORTED_ALGORITHM, "COSE alg -35"),
        (_msg(cbor.dumps({1: -7, 4: "kid"})), Reason.MALFORMED,
         "kid or content type has the wrong type"),
        (_msg(cbor.dumps({1: -7, 3: 50})), Reason.MALFORMED,
         "kid or content type has the wrong type"),
    ]  # fmt: skip
    for msg, reason, message in cases:
        e = refused(cose.parse_sign1, msg, 4096)
        assert (e.reason, e.message) == (reason, message), msg.hex()


def test_the_protected_header_is_bounded_at_1024_bytes() -> None:
    n = next(n for n in range(990, 1024) if len(cbor.dumps({1: -8, 3: "x" * n})) == 1024)
    assert cose.parse_sign1(_msg(cbor.dumps({1: -8, 3: "x" * n})), 4096).content_type == "x" * n
    over = cbor.dumps({1: -8, 3: "x" * (n + 1)})
    e = refused(cose.parse_sign1, _msg(over), 4096)
    assert (e.reason, e.message) == (Reason.TOO_LARGE, "protected header is 1025, limit 1024")


def test_the_memo_of_protected_headers_holds_at_most_256() -> None:
    cose._PROTECTED.clear()
    first = cbor.dumps({1: -8, 3: "0"})
    assert cose.parse_sign1(_msg(first), 4096).content_type == "0"
    assert first in cose._PROTECTED
    for i in range(1, 300):
        cose.parse_sign1(_msg(cbor.dumps({1: -8, 3: str(i)})), 4096)
    assert len(cose._PROTECTED) == 256
    assert cose.parse_sign1(_msg(first), 4096).content_type == "0"  # read from the memo
    cose._PROTECTED.clear()
