"""COSE_Sign1 (RFC 9052 §4.2) with EdDSA/Ed25519 (alg -8) and ES256 (alg -7).

The protected header holds alg (1), content type (3) and kid (4); the unprotected header is
empty; external AAD is empty. ES256 signatures are r || s, 32 bytes each (RFC 9053 §2.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from notary_core import cbor
from notary_core.errors import BadData, Reason

COSE_SIGN1_TAG = 18
_H_ALG, _H_CTY, _H_KID = 1, 3, 4


class Alg(IntEnum):
    EDDSA = -8
    ES256 = -7


PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKeyType = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def key_id(public: PublicKeyType) -> bytes:
    """16-byte key id: SHA-256 of the SubjectPublicKeyInfo DER, truncated."""
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """A verification key with its algorithm and id, built only from validated input."""

    alg: Alg
    key: PublicKeyType
    kid: bytes

    @classmethod
    def from_key(cls, key: PublicKeyType) -> PublicKey:
        if isinstance(key, ed25519.Ed25519PublicKey):
            return cls(Alg.EDDSA, key, key_id(key))
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            return cls(Alg.ES256, key, key_id(key))
        raise BadData(Reason.UNSUPPORTED_ALGORITHM, "only Ed25519 and P-256 keys are supported")

    @classmethod
    def from_spki(cls, der: bytes) -> PublicKey:
        try:
            key = serialization.load_der_public_key(der)
        except ValueError as exc:
            raise BadData(Reason.BAD_KEY, f"not a public key: {exc}") from None
        if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
            raise BadData(Reason.UNSUPPORTED_ALGORITHM, "only Ed25519 and P-256 keys")
        return cls.from_key(key)

    def spki(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify_raw(self, signature: bytes, message: bytes) -> None:
        try:
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(signature, message)
                return
            if len(signature) != 64:
                raise BadData(Reason.BAD_SIGNATURE, "ES256 signature must be 64 bytes")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            self.key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise BadData(Reason.BAD_SIGNATURE, "signature does not verify") from None


@dataclass(frozen=True)
class Signer:
    """A signing key with its algorithm and id."""

    alg: Alg
    key: PrivateKey
    public: PublicKey
    deterministic: bool = False  # ES256 per RFC 6979 (used for reproducible test vectors)

    @classmethod
    def from_key(cls, key: PrivateKey, *, deterministic: bool = False) -> Signer:
        public = PublicKey.from_key(key.public_key())
        return cls(public.alg, key, public, deterministic)

    @property
    def kid(self) -> bytes:
        return self.public.kid

    def sign_raw(self, message: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(message)
        algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=self.deterministic)
        r, s = decode_dss_signature(self.key.sign(message, algorithm))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload]
    return cbor.dumps(["Signature1", protected, b"", payload])


def sign1(signer: Signer, payload: bytes, content_type: str) -> bytes:
    """A tagged COSE_Sign1 message carrying `payload`."""
    protected = cbor.dumps({_H_ALG: int(signer.alg), _H_CTY: content_type, _H_KID: signer.kid})
    signature = signer.sign_raw(_sig_structure(protected, payload))
    return cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class Sign1:
    """A parsed, not yet verified COSE_Sign1 message."""

    protected: bytes
    alg: int
    kid: bytes
    content_type: str | None
    payload: bytes
    signature: bytes

    def verify(self, key: PublicKey) -> bytes:
        """Check the signature with `key`; return the payload. Raises BadData."""
        if self.alg != key.alg:
            raise BadData(
                Reason.UNSUPPORTED_ALGORITHM, f"message alg {self.alg}, key alg {int(key.alg)}"
            )
        if self.kid and self.kid != key.kid:
            raise BadData(Reason.KEY_MISMATCH, "message was signed by another key id")
        key.verify_raw(self.signature, _sig_structure(self.protected, self.payload))
        return self.payload


_PROTECTED: dict[bytes, dict[Any, Any]] = {}  # decoded protected headers, by their bytes


def _protected_header(protected: bytes) -> dict[Any, Any]:
    """The decoded protected header (read-only). Memoised: every batch of one device carries
    the same bytes, and their canonical check re-encodes them (bounded against hostile input)."""
    headers = _PROTECTED.get(protected)
    if headers is None:
        value: Any = cbor.loads(protected, 1024, "protected header") if protected else {}
        if not isinstance(value, dict):
            raise BadData(Reason.MALFORMED, "protected header is not a map")
        headers = value
        if len(_PROTECTED) < 256:
            _PROTECTED[protected] = headers
    return headers


def parse_sign1(data: bytes, limit: int) -> Sign1:
    """Parse a tagged COSE_Sign1 with an empty unprotected header (docs/protocol.md §4.2);
    bounded by `limit` bytes. Untagged, or anything unprotected (a kid there included):
    MALFORMED, so every field that matters is under the signature."""
    value: Any = cbor.loads(data, limit, "COSE_Sign1")
    if not isinstance(value, cbor2.CBORTag):
        raise BadData(Reason.MALFORMED, "COSE_Sign1 must carry tag 18")
    if value.tag != COSE_SIGN1_TAG:
        raise BadData(Reason.MALFORMED, f"CBOR tag {value.tag} is not COSE_Sign1")
    value = value.value
    if not (isinstance(value, list | tuple) and len(value) == 4):
        raise BadData(Reason.MALFORMED, "COSE_Sign1 must be an array of 4")
    protected, unprotected, payload, signature = value
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise BadData(Reason.MALFORMED, "COSE_Sign1 fields have the wrong types")
    if unprotected:
        raise BadData(Reason.MALFORMED, "COSE_Sign1 unprotected header must be empty")
    headers = _protected_header(protected)
    alg = headers.get(_H_ALG)
    if alg not in (Alg.EDDSA, Alg.ES256):
        raise BadData(Reason.UNSUPPORTED_ALGORITHM, f"COSE alg {alg!r}")
    kid = headers.get(_H_KID, b"")
    cty = headers.get(_H_CTY)
    if not isinstance(kid, bytes) or not (cty is None or isinstance(cty, str)):
        raise BadData(Reason.MALFORMED, "kid or content type has the wrong type")
    return Sign1(protected, int(alg), kid, cty, payload, signature)
