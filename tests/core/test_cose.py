"""COSE_Sign1: ours verify in pycose (an independent implementation) and theirs in ours."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pycose.algorithms import EdDSA, Es256
from pycose.headers import KID, Algorithm, ContentType
from pycose.keys import EC2Key, OKPKey
from pycose.messages import Sign1Message

from notary_core import cose
from notary_core.errors import BadData, Reason

CTY = "application/vnd.vnotary.batch-header+cbor; v=1"


def _pycose_key(key: cose.PrivateKey) -> OKPKey | EC2Key:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        pub = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return OKPKey.from_dict({"KTY": "OKP", "CURVE": "ED25519", "D": raw, "X": pub})
    nums = key.private_numbers()
    return EC2Key.from_dict(
        {
            "KTY": "EC2",
            "CURVE": "P_256",
            "D": nums.private_value.to_bytes(32, "big"),
            "X": nums.public_numbers.x.to_bytes(32, "big"),
            "Y": nums.public_numbers.y.to_bytes(32, "big"),
        }
    )


KEYS = {
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
}


@pytest.mark.parametrize("alg", KEYS)
def test_pycose_verifies_ours(alg: str) -> None:
    key = KEYS[alg]()
    signer = cose.Signer.from_key(key)
    data = cose.sign1(signer, b"payload bytes", CTY)
    msg = Sign1Message.decode(data)
    msg.key = _pycose_key(key)
    assert msg.verify_signature()
    assert msg.payload == b"payload bytes"
    assert msg.phdr[KID] == signer.kid
    assert msg.phdr[ContentType] == CTY


@pytest.mark.parametrize("alg", KEYS)
def test_we_verify_pycose(alg: str) -> None:
    key = KEYS[alg]()
    signer = cose.Signer.from_key(key)
    msg = Sign1Message(
        phdr={Algorithm: EdDSA if alg == "EdDSA" else Es256, KID: signer.kid},
        payload=b"from pycose",
    )
    msg.key = _pycose_key(key)
    parsed = cose.parse_sign1(msg.encode(), 4096)
    assert parsed.verify(signer.public) == b"from pycose"


@pytest.mark.parametrize("alg", KEYS)
def test_tampering_and_wrong_keys_fail(alg: str) -> None:
    signer = cose.Signer.from_key(KEYS[alg]())
    other = cose.Signer.from_key(KEYS[alg]())
    data = cose.sign1(signer, b"payload", CTY)
    parsed = cose.parse_sign1(data, 4096)
    with pytest.raises(BadData) as err:
        parsed.verify(other.public)
    assert err.value.reason is Reason.KEY_MISMATCH
    forged = cose.Sign1(
        parsed.protected, parsed.alg, parsed.kid, parsed.content_type, b"payloaD", parsed.signature
    )
    with pytest.raises(BadData) as err:
        forged.verify(signer.public)
    assert err.value.reason is Reason.BAD_SIGNATURE
    sig = bytearray(parsed.signature)
    sig[5] ^= 1
    flipped = cose.Sign1(
        parsed.protected, parsed.alg, parsed.kid, parsed.content_type, parsed.payload, bytes(sig)
    )
    with pytest.raises(BadData) as err:
        flipped.verify(signer.public)
    assert err.value.reason is Reason.BAD_SIGNATURE


def test_algorithm_confusion_is_refused() -> None:
    ed = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    p256 = cose.Signer.from_key(ec.generate_private_key(ec.SECP256R1()))
    parsed = cose.parse_sign1(cose.sign1(ed, b"x", CTY), 4096)
    with pytest.raises(BadData) as err:
        parsed.verify(p256.public)
    assert err.value.reason is Reason.UNSUPPORTED_ALGORITHM


def test_malformed_messages_are_rejected() -> None:
    with pytest.raises(BadData) as err:
        cose.parse_sign1(b"\xff\x00", 4096)
    assert err.value.reason is Reason.MALFORMED
    with pytest.raises(BadData) as err:
        cose.parse_sign1(bytes(5000), 4096)
    assert err.value.reason is Reason.TOO_LARGE
    with pytest.raises(BadData) as err:
        cose.parse_sign1(bytes.fromhex("d28440a04040"), 4096)  # no alg
    assert err.value.reason is Reason.UNSUPPORTED_ALGORITHM
    with pytest.raises(BadData):
        cose.PublicKey.from_key(ec.generate_private_key(ec.SECP384R1()).public_key())
