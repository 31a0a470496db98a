"""The committed byte-exact vectors (tests/vectors/core/) hold for this implementation.

These read the JSON files, not the generator, so they check what other implementations
are told; `make vectors-check` separately proves the generator still writes the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import (
    anchoring,
    batch,
    bundle,
    checkpoint,
    cose,
    envelope,
    heads,
    logleaf,
    merkle,
    receipt,
    smt,
    witness,
)
from notary_core import records as r
from notary_core.errors import BadData
from notary_core.evidence import Trust, Verdict, verify_bundle

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


def test_envelope_vectors() -> None:
    """§5.1: each valid payload opens to batch.json's sealed batch; each corruption is
    refused with its reason (a bomb among them, refused at the limit plus one byte)."""
    doc = load("envelope.json")
    sealed = bytes.fromhex(doc["sealed_batch"])
    assert sealed.hex() == load("batch.json")["valid"][0]["sealed_batch"]
    assert bytes.fromhex(doc["magic"]) == envelope.MAGIC
    assert doc["max_sealed_batch"] == 8 * 1024 * 1024
    for case in doc["valid"]:
        assert envelope.unwrap(bytes.fromhex(case["payload"])) == sealed, case["id"]
    assert len(doc["invalid"]) >= 15
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            batch.SealedBatch.from_bytes(envelope.unwrap(bytes.fromhex(case["payload"])))
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


def _view(doc: dict[str, Any]) -> anchoring.ChainView:
    head = anchoring.Head(doc["head"]["size"], bytes.fromhex(doc["head"]["root"]))
    splits = tuple((s, bytes.fromhex(a), bytes.fromhex(b)) for s, a, b in doc["splits"])
    return anchoring.ChainView(doc["version"], head, splits)


def test_anchor_vectors() -> None:
    doc = load("anchor.json")
    assert doc["contracts"]["1"]["topic0"] == anchoring.ANCHORED_V1_TOPIC.hex()
    assert doc["contracts"]["2"]["topic0"] == anchoring.ANCHORED_V2_TOPIC.hex()
    for case in doc["events"]["valid"]:
        e = anchoring.decode_event(
            case["version"], [bytes.fromhex(t) for t in case["topics"]], bytes.fromhex(case["data"])
        )
        got = (e.size, e.root.hex(), e.prev_size, e.prev_root.hex())
        assert got == (case["size"], case["root"], case["prev_size"], case["prev_root"])
    for case in doc["events"]["invalid"]:
        with pytest.raises(BadData) as err:
            anchoring.decode_event(
                case["version"],
                [bytes.fromhex(t) for t in case["topics"]],
                bytes.fromhex(case["data"]),
            )
        assert str(err.value.reason) == case["reason"], case["id"]
    for case in doc["heads"]["valid"]:
        head = anchoring.decode_head(bytes.fromhex(case["data"]))
        assert (head.size, head.root.hex()) == (case["size"], case["root"])
    for case in doc["heads"]["invalid"]:
        with pytest.raises(BadData) as err:
            anchoring.decode_head(bytes.fromhex(case["data"]))
        assert str(err.value.reason) == case["reason"], case["id"]
    assert len(doc["append_only"]) >= 12
    for case in doc["append_only"]:
        proof = None if case["proof"] is None else tuple(bytes.fromhex(p) for p in case["proof"])
        args = (case["size"], bytes.fromhex(case["root"]), _view(case["view"]), proof)
        if case["status"] == "fail":
            with pytest.raises(BadData) as err:
                anchoring.append_only(*args)
            assert str(err.value.reason) == case["reason"], case["id"]
            continue
        got = anchoring.append_only(*args)
        if case["status"] == "undecided":
            assert isinstance(got, anchoring.Undecided), case["id"]
            assert str(got.reason) == case["reason"], case["id"]
        else:
            assert isinstance(got, str), case["id"]


# ---- protocol version 2 --------------------------------------------------------------------


def test_batch_v2_vectors() -> None:
    doc = load("batch-v2.json")
    recs = [bytes.fromhex(x) for x in doc["records"]]
    keys = {}
    for case in doc["valid"]:
        key = cose.PublicKey.from_spki(bytes.fromhex(case["public_key_spki"]))
        keys[case["alg"]] = key
        sb = batch.SealedBatch.from_bytes(bytes.fromhex(case["sealed_batch"]))
        assert sb.verify(key) == recs, case["id"]
        h = sb.signed.header
        assert h.version == 2 and sb.signed.header_hash.hex() == case["header_hash"]
        counts = {s: dict(map(tuple, pairs)) for s, pairs in case["counts"].items()}
        assert h.counts == counts == batch.item_counts(recs), case["id"]
        assert h.beacon is not None
        assert [h.beacon.chain_id, h.beacon.block_number, h.beacon.block_hash.hex(),
                h.beacon.block_time] == case["beacon"]  # fmt: skip
        assert h.to_cbor().hex() == case["header_cbor"]
        if case["alg"] == "EdDSA":
            seed = bytes.fromhex(case["private_key"])
            signer = cose.Signer.from_key(ed25519.Ed25519PrivateKey.from_private_bytes(seed))
            again = batch.seal(h, recs, bytes.fromhex(doc["salt_key"]), signer)
            assert again.to_bytes().hex() == case["sealed_batch"]
    reasons = {c["reason"] for c in doc["invalid"]}
    assert reasons >= {"COUNT_MISMATCH", "MALFORMED", "NON_CANONICAL", "UNSUPPORTED_VERSION"}
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            batch.SealedBatch.from_bytes(bytes.fromhex(case["sealed_batch"])).verify(
                keys[doc["invalid_key"]]
            )
        assert str(err.value.reason) == case["reason"], case["id"]


def test_receipt_v2_vectors() -> None:
    doc = load("receipt-v2.json")
    key = cose.PublicKey.from_spki(bytes.fromhex(doc["collector_key_spki"]))
    for case in doc["valid"]:
        rc = receipt.open_receipt(bytes.fromhex(case["signed_receipt"]), key)
        assert rc.version == 2 and rc.to_cbor().hex() == case["receipt_cbor"], case["id"]
        assert (rc.beacon is None) == (case["id"] == "null-beacon")
    for case in doc["invalid"]:
        with pytest.raises(BadData) as err:
            receipt.open_receipt(bytes.fromhex(case["signed_receipt"]), key)
        assert str(err.value.reason) == case["reason"], case["id"]


def test_log_leaf_v2_vectors() -> None:
    doc = load("log-leaves-v2.json")
    leaves = [bytes.fromhex(x["leaf"]) for x in doc["log"]]
    idx = heads.Index()
    for i, (case, leaf) in enumerate(zip(doc["log"], leaves, strict=True)):
        parsed = logleaf.parse_leaf(leaf)
        again = idx.index_leaf() if isinstance(parsed, logleaf.IndexLeaf) else (
            parsed.to_leaf() if not isinstance(parsed, bytes) else leaf)  # fmt: skip
        assert again == leaf, case["id"]  # one encoding; an index leaf states the heads' root
        assert heads.leaf_hash(leaf).hex() == case["leaf_hash"]
        idx.apply(i, leaf)
    want = doc["heads"]
    assert {d: idx.device(d).value().hex() for d in idx.devices} == want["devices"]
    assert {v: idx.vehicle(v).value().hex() for v in idx.vehicles} == want["vehicles"]
    assert idx.root().hex() == want["root"]
    kinds = {type(logleaf.parse_leaf(x)).__name__ for x in leaves}
    assert kinds == {"RegistryEvent", "AccessEvent", "BatchLeaf", "IndexLeaf"}
    for case in doc["invalid_leaves"]:
        with pytest.raises(BadData) as err:
            logleaf.parse_leaf(bytes.fromhex(case["leaf"]))
        assert str(err.value.reason) == case["reason"], case["id"]
    for case in doc["invalid_logs"]:
        edited = list(leaves)
        edited[case["position"]] = bytes.fromhex(case["leaf"])
        replay = heads.Index()
        with pytest.raises(BadData) as err:
            for i, leaf in enumerate(edited):
                replay.apply(i, leaf)
        assert str(err.value.reason) == case["reason"] == "INDEX_MISMATCH", case["id"]


def _hexes(xs: list[str]) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(x) for x in xs)


def test_index_vectors() -> None:
    doc = load("index.json")
    entries = {bytes.fromhex(e["key"]): bytes.fromhex(e["value"]) for e in doc["entries"]}
    hashed = {smt.key_hash(k): hashlib.sha256(v).digest() for k, v in entries.items()}
    root = bytes.fromhex(doc["root"])
    assert smt.reference_root(hashed) == root == smt.SparseTree(hashed.items()).root()
    for case in doc["inclusion"]:
        heads.verify_head(root, bytes.fromhex(case["key"]), bytes.fromhex(case["value"]),
                          _hexes(case["siblings"]))  # fmt: skip
    assert {c["id"] for c in doc["absence"]} == {"empty", "other-leaf"}
    for case in doc["absence"]:
        t = case["terminal"]
        other = None if t is None else (bytes.fromhex(t[0]), bytes.fromhex(t[1]))
        smt.verify_absence(root, smt.key_hash(bytes.fromhex(case["key"])), other,
                           _hexes(case["siblings"]))  # fmt: skip
    for case in doc["invalid_inclusion"]:
        with pytest.raises(BadData) as err:
            heads.verify_head(bytes.fromhex(case["root"]), bytes.fromhex(case["key"]),
                              bytes.fromhex(case["value"]), _hexes(case["siblings"]))  # fmt: skip
        assert str(err.value.reason) == case["reason"], case["id"]
    for case in doc["invalid_absence"]:
        t = case["terminal"]
        other = None if t is None else (bytes.fromhex(t[0]), bytes.fromhex(t[1]))
        with pytest.raises(BadData) as err:
            smt.verify_absence(root, smt.key_hash(bytes.fromhex(case["key"])), other,
                               _hexes(case["siblings"]))  # fmt: skip
        assert str(err.value.reason) == case["reason"], case["id"]


def _trust(doc: dict[str, Any]) -> Trust:
    return Trust(
        log_vkeys=frozenset(doc["log_vkeys"]),
        collector_keys=frozenset(base64.b64decode(k) for k in doc["collector_keys"]),
        witnesses=frozenset(doc.get("witnesses", [])),
        witness_quorum=doc.get("witness_quorum"),
    )


def test_bundle_v2_vectors() -> None:
    doc = load("bundle-v2.json")
    trust = _trust(doc["trust"])
    good = bytes.fromhex(doc["bundle"])
    assert good.startswith(bundle.MAGIC + b"\x02")
    t = verify_bundle(good, trust)
    assert str(t.verdict) == doc["verdict"] == "OK", t.to_dict()
    assert [c.name for c in t.checks] == doc["checks"]
    assert verify_bundle(good).verdict is Verdict.INCONCLUSIVE  # nothing pinned
    verdicts = set()
    for case in doc["corruptions"]:
        got = verify_bundle(bytes.fromhex(case["bundle"]), trust)
        assert (str(got.verdict), sorted(set(got.reasons))) == (
            case["verdict"], case["reasons"]), case["id"]  # fmt: skip
        verdicts.add(case["verdict"])
    assert verdicts == {"FAIL", "UNREADABLE"}


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


def test_one_reason_table_for_the_code_and_the_spec() -> None:
    """Issue 13 §2: docs/protocol.md §9 lists exactly the codes notary_core.errors has."""
    import re

    from notary_core.errors import Reason

    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    table = text[text.index("## 9. Reason codes") : text.index("## 10. Conformance")]
    assert set(re.findall(r"^\| ([A-Z_]+) \|", table, flags=re.M)) == {str(r) for r in Reason}
