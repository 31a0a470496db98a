"""A time-stamp token's signature under each algorithm the verifier takes (`tsa._check_signature`):
RSA-PSS with its hash, MGF1 hash and salt length read from the token, PKCS #1 v1.5, ECDSA and
Ed25519; each refused when any parameter differs from the one it was made with, and a key of
another type refused by name (mutation run of 2026-12-03: no test TSA signs with PSS, so the
PSS branch was reached by nothing). The token is given as its parsed fields: what is under test
is the signature check, not the CMS parsing, which tests/core/test_tsa.py covers with a real
TSA."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from notary_core import tsa
from notary_core.errors import BadData, Reason

DATA = b"signed attributes"
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC = ec.generate_private_key(ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.generate()
H = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _pss(hash_name: str, mgf_name: str, salt: int) -> bytes:
    pad = padding.PSS(padding.MGF1(H[mgf_name]()), salt)
    return RSA.sign(DATA, pad, H[hash_name]())


def _check(alg: str, sig: bytes, key: object, pss: tuple[str, str, int] | None = None) -> None:
    token = SimpleNamespace(signature_alg=alg, signed_attrs=DATA, signature=sig, pss=pss)
    cert = SimpleNamespace(public_key=lambda: key)
    tsa._check_signature(token, cert, hashes.SHA256())  # type: ignore[arg-type]


def _refused(reason: Reason, *args: object) -> str:
    with pytest.raises(BadData) as e:
        _check(*args)  # type: ignore[arg-type]
    assert e.value.reason is reason
    return e.value.message


BAD = "the token's signature does not verify under the pinned TSA certificate"


@pytest.mark.parametrize("params", [("sha256", "sha256", 32), ("sha384", "sha256", 20),
                                    ("sha512", "sha384", 0), ("sha256", "sha512", 64)])  # fmt: skip
def test_rsa_pss_with_the_tokens_parameters(params: tuple[str, str, int]) -> None:
    pub = RSA.public_key()
    _check("rsassa_pss", _pss(*params), pub, params)
    hash_name, mgf_name, salt = params
    other = {"sha256": "sha384", "sha384": "sha512", "sha512": "sha256"}
    for wrong in ((other[hash_name], mgf_name, salt), (hash_name, other[mgf_name], salt),
                  (hash_name, mgf_name, salt + 1)):  # fmt: skip
        assert _refused(Reason.BAD_SIGNATURE, "rsassa_pss", _pss(*params), pub, wrong) == BAD


def test_rsa_pss_with_an_unsupported_hash() -> None:
    sig = _pss("sha256", "sha256", 32)
    for pss in (("sha1", "sha256", 32), ("sha256", "md5", 32)):
        message = _refused(Reason.UNSUPPORTED_ALGORITHM, "rsassa_pss", sig, RSA.public_key(), pss)
        assert message == "RSA-PSS with an unsupported hash"


def test_the_other_algorithms() -> None:
    pkcs = RSA.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    _check("rsassa_pkcs1v15", pkcs, RSA.public_key())
    assert (
        _refused(Reason.BAD_SIGNATURE, "rsassa_pkcs1v15", pkcs[:-1] + b"\x00", RSA.public_key())
        == BAD
    )
    ecdsa = EC.sign(DATA, ec.ECDSA(hashes.SHA256()))
    _check("ecdsa", ecdsa, EC.public_key())
    assert _refused(Reason.BAD_SIGNATURE, "ecdsa", b"not DER", EC.public_key()) == BAD
    _check("ed25519", ED.sign(DATA), ED.public_key())
    assert _refused(Reason.BAD_SIGNATURE, "ed25519", bytes(64), ED.public_key()) == BAD


def test_a_signature_by_a_key_of_another_type() -> None:
    for alg, key in (("ecdsa", RSA.public_key()), ("rsassa_pkcs1v15", EC.public_key()),
                     ("rsassa_pss", ED.public_key()), ("ed25519", EC.public_key()),
                     ("dsa", RSA.public_key())):  # fmt: skip
        message = _refused(Reason.UNSUPPORTED_ALGORITHM, alg, b"sig", key, ("sha256", "sha256", 32))
        assert message == f"a {alg} signature by a {type(key).__name__}"


def test_the_pss_parameters_are_read_from_the_algorithm_identifier() -> None:
    from asn1crypto import algos

    ident = algos.SignedDigestAlgorithm({
        "algorithm": "rsassa_pss",
        "parameters": {
            "hash_algorithm": {"algorithm": "sha384"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha512"}},
            "salt_length": 48,
        },
    })  # fmt: skip
    assert tsa._signature_algorithm(ident) == ("rsassa_pss", ("sha384", "sha512", 48))
    plain = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    assert tsa._signature_algorithm(plain) == ("rsassa_pkcs1v15", None)
