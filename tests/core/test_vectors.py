"""The committed byte-exact vectors (tests/vectors/core/) hold for this implementation.

These read the JSON files, not the generator, so they check what other implementations
are told; `make vectors-check` separately proves the generator still writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import batch, checkpoint, cose, merkle, receipt, witness
from notary_core import records as r
from notary_core.errors import BadData

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "core"


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())  # type: ignore[no-any-return]


def test_record_vectors() -> None:
    doc = load("records.json")
    assert len(doc["valid"]) >= 10 and len(doc["invalid"]) >= 9
    for case in doc["valid"]:
        raw = bytes.fromhex(case["encoding"])
        assert r.encode(r.decode(raw)) == raw, case["id"]
        assert repr(r.decode(raw)) == case["record"], case["id"]
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            r.decode(bytes.fromhex(case["encoding"]))
        assert str(err.value.reason) == case["reason"], case["id"]


def test_salted_leaf_vectors() -> None:
    doc = load("salted-leaves.json")
    key = bytes.fromhex(doc["salt_key"])
    recs = [bytes.fromhex(x) for x in doc["records"]]
    assert [batch.salt(key, i).hex() for i in range(len(recs))] == doc["salts"]
    hashes = batch.leaf_hashes(key, recs)
    assert [h.hex() for h in hashes] == doc["leaf_hashes"]
    root = bytes.fromhex(doc["root"])
    assert merkle.root_from_leaf_hashes(hashes) == root
    for p in doc["inclusion_proofs"]:
        proof = [bytes.fromhex(x) for x in p["proof"]]
        merkle.verify_inclusion(hashes[p["index"]], p["index"], len(recs), proof, root)
    for m in doc["multiproofs"]:
        proof = [bytes.fromhex(x) for x in m["proof"]]
        merkle.verify_multiproof(len(recs), {i: hashes[i] for i in m["indices"]}, proof, root)


def test_batch_vectors() -> None:
    doc = load("batch.json")
    recs = [bytes.fromhex(x) for x in doc["records"]]
    keys = {}
    for case in doc["valid"]:
        key = cose.PublicKey.from_spki(bytes.fromhex(case["public_key_spki"]))
        keys[case["alg"]] = key
        sb = batch.SealedBatch.from_bytes(bytes.fromhex(case["sealed_batch"]))
        assert sb.verify(key) == recs, case["id"]
        assert sb.signed.header_hash.hex() == case["header_hash"]
        assert sb.signed.payload.hex() == case["header_cbor"]
        assert sb.to_bytes().hex() == case["sealed_batch"]
        if case["alg"] == "EdDSA":  # Ed25519 is deterministic: re-signing gives the same bytes
            seed = bytes.fromhex(case["private_key"])
            signer = cose.Signer.from_key(ed25519.Ed25519PrivateKey.from_private_bytes(seed))
            again = batch.seal(sb.signed.header, recs, bytes.fromhex(doc["salt_key"]), signer)
            assert again.to_bytes().hex() == case["sealed_batch"]
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            batch.SealedBatch.from_bytes(bytes.fromhex(case["sealed_batch"])).verify(
                keys[doc["invalid_key"]]
            )
        assert str(err.value.reason) == case["reason"], case["id"]


def test_checkpoint_vectors() -> None:
    doc = load("checkpoint.json")
    verifier = checkpoint.NoteVerifier.from_vkey(doc["verifier_key"])
    cp = checkpoint.open_checkpoint(doc["note"].encode(), [verifier], origin=doc["origin"])
    assert (cp.size, cp.root.hex()) == (doc["size"], doc["root"])
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            checkpoint.open_checkpoint(case["note"].encode(), [verifier])
        assert str(err.value.reason) == case["reason"], case["id"]


def test_receipt_vectors() -> None:
    doc = load("receipt.json")
    key = cose.PublicKey.from_spki(bytes.fromhex(doc["collector_key_spki"]))
    rc = receipt.open_receipt(bytes.fromhex(doc["signed_receipt"]), key)
    assert rc.to_cbor().hex() == doc["receipt_cbor"]


def test_witness_vectors() -> None:
    doc = load("witness.json")
    log = checkpoint.NoteVerifier.from_vkey(doc["log_verifier_key"])
    wv = witness.WitnessVerifier.from_vkey(doc["witness_verifier_key"])
    note, cosigned = doc["note"].encode(), doc["cosigned_note"].encode()
    cp = checkpoint.open_checkpoint(cosigned, [log])
    assert witness.cosigned_message(cp.body(), doc["timestamp"]).decode() == doc["signed_message"]
    (got,) = witness.require_quorum(cosigned, [wv], 1)
    assert (got.timestamp, got.line) == (doc["timestamp"], doc["cosignature_line"])
    assert witness.add_signatures(note, [doc["cosignature_line"]]) == cosigned
    seed = bytes.fromhex(doc["witness_private_key"])
    signer = witness.WitnessSigner(wv.name, ed25519.Ed25519PrivateKey.from_private_bytes(seed))
    assert signer.cosign(cp.body(), doc["timestamp"]) == doc["cosignature_line"]
    req = witness.AddCheckpoint.parse(doc["add_checkpoint"]["body"].encode())
    assert req.encode().decode() == doc["add_checkpoint"]["body"] and req.note == note
    old = doc["add_checkpoint"]
    merkle.verify_consistency(old["old_size"], cp.size, bytes.fromhex(old["old_root"]), cp.root,
                              req.proof)  # fmt: skip
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            witness.require_quorum(case["note"].encode(), [wv], 1)
        assert str(err.value.reason) == case["reason"], case["id"]
