"""Refusals of witness keys, cosignatures and index proofs, pinned by reason and message.

Covers `WitnessVerifier.from_vkey` (shape, base64 and key type of a verifier key),
`WitnessVerifier.verify` (a blob of the wrong length or by another key, a signature that
does not verify, a timestamp at or above 2**63 read as the unsigned u64 it is),
`require_quorum`'s list of the witnesses that did cosign, and the sparse Merkle tree's
`verify_inclusion` (either half of a leaf of the wrong length, the 256-sibling bound).
"""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import checkpoint as c
from notary_core import smt
from notary_core import witness as w
from notary_core.errors import BadData, Reason


def _witness(seed: int, name: str) -> w.WitnessSigner:
    return w.WitnessSigner(name, ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _note(size: int = 5) -> bytes:
    log = c.NoteSigner("log.example", ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))
    return c.sign_checkpoint(c.Checkpoint("log.example/log", size, bytes(range(32))), [log])


def _refusal(fn, *args: object) -> tuple[Reason, str]:
    with pytest.raises(BadData) as err:
        fn(*args)
    return err.value.reason, err.value.message


def _blob(signer: w.WitnessSigner, body: bytes, timestamp: int) -> bytes:
    line = signer.cosign(body, timestamp)
    return base64.b64decode(line.rsplit(" ", 1)[1])


# --- WitnessVerifier.from_vkey ---------------------------------------------------------------


@pytest.mark.parametrize("vkey", ["name+only", "nameonly", ""])
def test_from_vkey_without_three_parts_is_refused_as_a_bad_key(vkey: str) -> None:
    assert _refusal(w.WitnessVerifier.from_vkey, vkey) == (
        Reason.BAD_KEY,
        "a witness key is name+keyid+key",
    )


def test_from_vkey_names_the_witness_key_when_its_base64_is_bad() -> None:
    assert _refusal(w.WitnessVerifier.from_vkey, "w1+00000000+!!!!") == (
        Reason.BAD_CHECKPOINT,
        "witness key is not base64",
    )
    assert _refusal(w.WitnessVerifier.from_vkey, "w1+00000000+AAF=") == (
        Reason.NON_CANONICAL,
        "witness key is not canonical base64",
    )


def test_from_vkey_refuses_a_log_key_and_a_short_key_as_not_ed25519_cosignature_keys() -> None:
    public = _witness(1, "w1").key.public_key()
    log_key = c.NoteVerifier.from_public("w1", public).vkey  # type 0x01, 33 bytes
    short = "w1+00000000+" + base64.b64encode(b"\x04" + bytes(31)).decode()  # 32 bytes
    expected = (Reason.UNSUPPORTED_ALGORITHM, "a witness key is type 0x04, Ed25519")
    assert _refusal(w.WitnessVerifier.from_vkey, log_key) == expected
    assert _refusal(w.WitnessVerifier.from_vkey, short) == expected


def test_from_vkey_refuses_a_key_id_that_is_not_its_keys_as_a_bad_key() -> None:
    good = _witness(1, "w1").verifier.vkey
    name, id_hex, key = good.split("+")
    assert w.WitnessVerifier.from_vkey(good).vkey == good
    wrong = f"{int(id_hex, 16) ^ 1:08x}"
    for bad in (wrong, id_hex.upper(), id_hex[:-1], id_hex + "0"):
        assert _refusal(w.WitnessVerifier.from_vkey, f"{name}+{bad}+{key}") == (
            Reason.BAD_KEY,
            "the witness key ID does not match its key",
        )


# --- cosigned_message ------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [0, 1, 2**63 - 1])
def test_cosigned_message_takes_every_timestamp_from_zero_to_the_largest(timestamp: int) -> None:
    body = b"log.example/log\n5\nAAAA\n"
    assert w.cosigned_message(body, timestamp) == (
        b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + body
    )


@pytest.mark.parametrize("timestamp", [-1, -(2**63), 2**63])
def test_cosigned_message_refuses_a_timestamp_out_of_range_naming_it(timestamp: int) -> None:
    assert _refusal(w.cosigned_message, b"body\n", timestamp) == (
        Reason.BAD_CHECKPOINT,
        f"cosignature timestamp {timestamp} out of range",
    )


# --- WitnessVerifier.verify ------------------------------------------------------------------


def test_verify_refuses_a_full_length_blob_by_another_key_id_as_not_its_cosignature() -> None:
    signer = _witness(1, "witness.example/w1")
    body = c.split_note(_note())[0]
    blob = _blob(signer, body, 1000)
    assert signer.verifier.verify(body, blob) == 1000
    other = bytes([blob[0] ^ 1]) + blob[1:]  # 76 bytes, only the key ID is wrong
    assert _refusal(signer.verifier.verify, body, other) == (
        Reason.BAD_SIGNATURE,
        "not a cosignature by witness.example/w1",
    )


@pytest.mark.parametrize("cut", [1, 64])
def test_verify_refuses_a_blob_of_the_wrong_length_with_the_right_key_id(cut: int) -> None:
    signer = _witness(1, "witness.example/w1")
    body = c.split_note(_note())[0]
    blob = _blob(signer, body, 1000)
    for wrong in (blob[:-cut], blob + bytes(cut)):
        assert wrong[:4] == signer.verifier.key_id
        assert _refusal(signer.verifier.verify, body, wrong) == (
            Reason.BAD_SIGNATURE,
            "not a cosignature by witness.example/w1",
        )


def test_verify_refuses_a_signature_that_does_not_verify_naming_the_witness() -> None:
    signer = _witness(2, "witness.example/w2")
    body = c.split_note(_note())[0]
    blob = _blob(signer, body, 1000)
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    assert _refusal(signer.verifier.verify, body, flipped) == (
        Reason.BAD_SIGNATURE,
        "the cosignature by witness.example/w2 does not verify",
    )
    other_body = c.split_note(_note(6))[0]
    assert _refusal(signer.verifier.verify, other_body, blob) == (
        Reason.BAD_SIGNATURE,
        "the cosignature by witness.example/w2 does not verify",
    )


@pytest.mark.parametrize("timestamp", [2**63, 2**63 + 1, 2**64 - 1])
def test_verify_reads_the_timestamp_as_an_unsigned_u64(timestamp: int) -> None:
    """tlog-cosignature's timestamp is u64be: 0x80... is 2**63 and up, never negative. It is
    past the largest timestamp we sign, so the blob is refused naming the value it holds."""
    signer = _witness(1, "witness.example/w1")
    body = c.split_note(_note())[0]
    blob = _blob(signer, body, 1000)
    high = blob[:4] + struct.pack(">Q", timestamp) + blob[12:]
    assert _refusal(signer.verifier.verify, body, high) == (
        Reason.BAD_CHECKPOINT,
        f"cosignature timestamp {timestamp} out of range",
    )


def test_verify_returns_the_largest_signed_timestamp_unchanged() -> None:
    signer = _witness(1, "witness.example/w1")
    body = c.split_note(_note())[0]
    top = 2**63 - 1
    assert signer.verifier.verify(body, _blob(signer, body, top)) == top


# --- require_quorum --------------------------------------------------------------------------


def test_quorum_not_met_lists_every_witness_that_cosigned_comma_separated() -> None:
    note = _note()
    body = c.split_note(note)[0]
    w1, w2 = _witness(1, "witness.example/w1"), _witness(2, "witness.example/w2")
    w3, w4 = _witness(3, "w.example/w3"), _witness(4, "w.example/w4")
    pinned = [x.verifier for x in (w1, w2, w3, w4)]
    two = w.add_signatures(note, [w1.cosign(body, 10), w2.cosign(body, 11)])
    assert _refusal(w.require_quorum, two, pinned, 3) == (
        Reason.QUORUM_NOT_MET,
        "2 of the 3 pinned witnesses required cosigned (witness.example/w1, witness.example/w2)",
    )
    three = w.add_signatures(two, [w3.cosign(body, 12)])
    assert _refusal(w.require_quorum, three, pinned, 4) == (
        Reason.QUORUM_NOT_MET,
        "3 of the 4 pinned witnesses required cosigned "
        "(witness.example/w1, witness.example/w2, w.example/w3)",
    )
    assert _refusal(w.require_quorum, note, pinned, 1) == (
        Reason.QUORUM_NOT_MET,
        "0 of the 1 pinned witnesses required cosigned (none)",
    )


# --- smt.verify_inclusion --------------------------------------------------------------------


def _sha(x: bytes) -> bytes:
    return hashlib.sha256(x).digest()


HASH_LENGTH = (Reason.BAD_HASH_LENGTH, "index keys and values are 32-byte hashes")


def test_inclusion_refuses_a_key_or_a_value_of_the_wrong_length_alone() -> None:
    k, v = _sha(b"k"), _sha(b"v")
    tree = smt.SparseTree([(k, v)])
    smt.verify_inclusion(tree.root(), k, v, ())
    # Only one half is wrong each time; the other is a good 32-byte hash.
    for bad_k, bad_v in [(k[:31], v), (k + b"\x00", v), (k, v[:31]), (k, v + b"\x00")]:
        assert _refusal(smt.verify_inclusion, tree.root(), bad_k, bad_v, ()) == HASH_LENGTH
    assert _refusal(smt.verify_inclusion, tree.root(), k[:31], v[:31], ()) == HASH_LENGTH


def _deepest_pair() -> tuple[smt.SparseTree, bytes, bytes]:
    """Two keys that differ in their last bit only: their leaves sit 256 levels down."""
    a = bytes(32)
    b = bytes(31) + b"\x01"
    tree = smt.SparseTree([(a, _sha(b"a")), (b, _sha(b"b"))])
    return tree, a, b


def test_inclusion_proof_of_exactly_256_siblings_verifies() -> None:
    tree, a, b = _deepest_pair()
    for k, v in [(a, _sha(b"a")), (b, _sha(b"b"))]:
        proof = tree.prove(k)
        assert len(proof.siblings) == smt.MAX_SIBLINGS == 256
        assert proof.value == v
        smt.verify_inclusion(tree.root(), k, v, proof.siblings)


def test_inclusion_proof_of_257_siblings_is_refused_naming_the_bound() -> None:
    tree, a, _ = _deepest_pair()
    siblings = (smt.EMPTY, *tree.prove(a).siblings)
    assert len(siblings) == 257
    assert _refusal(smt.verify_inclusion, tree.root(), a, _sha(b"a"), siblings) == (
        Reason.BAD_PROOF,
        "an index proof has at most 256 siblings",
    )
