"""bundle-v2.json: a small complete version-2 evidence bundle file (docs/protocol.md §12.2),
the trust file (§13) it verifies under, and named corruptions with the verdict and the
reason codes a verifier must answer (§12.3).

The bundle is built by tests/core/bundle_v2_factory.py (a stand-in collector log over the
core alone, with keys and salt keys from fixed seeds), so its bytes are the same on every run.
Corruptions are of two kinds: raw edits of the file, and edits a dishonest collector signs
again with its own key (the device's headers and the owner's grant keep their signatures).
"""

from __future__ import annotations

import base64
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import cbor2

from notary_core import cbor, header
from notary_core.bundle import MAGIC, EvidenceBundle, IndexProof
from notary_core.evidence import Trust, verify_bundle

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the factory lives with the tests; the generator runs from scripts/
    sys.path.insert(0, str(ROOT))

from tests.core import bundle_v2_factory as f  # noqa: E402
from tests.core.bundle_factory import SEC, T0  # noqa: E402

Doc = dict[str, Any]
BEACON = header.Beacon(31337, 1_204, bytes.fromhex("c0ffee" + "00" * 29), 1_533_226_480)
WINDOW = (T0 + 1 * SEC + SEC // 2, T0 + 2 * SEC + SEC // 2)


def trust_doc(w: f.World2) -> Doc:
    """The trust file of `_trust`: the log and collector keys, three witnesses, quorum 2."""
    return {
        "version": 1,
        "log_vkeys": [w.log_key.verifier.vkey],
        "collector_keys": [base64.b64encode(w.collector.public.spki()).decode()],
        "witnesses": sorted(x.verifier.vkey for x in w.witnesses),
        "witness_quorum": 2,
    }


def _trust(w: f.World2) -> Trust:
    return w.trust()


def _flip_inside(data: bytes, marker: bytes) -> bytes:
    """Flip one bit of a byte inside a byte or text string of the payload: the file still
    parses, only the collector's signature no longer holds."""
    at = data.index(marker) + 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def corruptions(w: f.World2, good: bytes, b: EvidenceBundle) -> dict[str, bytes]:
    cose_bytes = good[len(MAGIC) + 1 :]
    tagged = cbor2.loads(cose_bytes)
    prot, _unprotected, payload, sig = tagged.value
    body: dict[int, Any] = cbor2.loads(payload)

    def resign(x: EvidenceBundle) -> bytes:
        return x.sign(w.collector)

    def resign_body(fields: dict[int, Any]) -> bytes:
        return f.resign_payload(w, cbor.dumps(fields))

    # the segment: batch 0 (before the window, nothing disclosed), 1 and 2 (meet the window)
    x1 = b.batches[1]
    kept = [d.leaf_index for d in x1.disclosed]
    withheld = f.with_batch(b, 1, f.redisclose(w, x1, kept[:-1]))
    x0 = b.batches[0]
    outside = f.with_batch(b, 0, f.redisclose(w, x0, [0]))
    idx = b.index
    assert idx is not None
    sib = list(idx.device_siblings)
    sib[0] = bytes([sib[0][0] ^ 1]) + sib[0][1:]
    forged_index = replace(b, index=replace(idx, device_siblings=tuple(sib)))
    return {
        # raw edits of the file: not a bundle (exit 4), or a bundle that fails (exit 1)
        "magic-modified-byte-@1": good[:1] + b"W" + good[2:],
        "empty-file": b"",
        "magic-only": MAGIC,
        "truncated-@half": good[: len(good) // 2],
        "file-version-3": MAGIC + b"\x03" + cose_bytes,
        "flipped-bit-in-payload": MAGIC + b"\x02" + _flip_inside(cose_bytes, b"decoded views"),
        "cose-untagged": MAGIC + b"\x02" + cbor.dumps(tagged.value),
        "cose-kid-unprotected": MAGIC
        + b"\x02"
        + cbor.dumps(cbor2.CBORTag(18, [prot, {4: w.collector.kid}, payload, sig])),
        "v2-payload-in-a-version-1-file": cose_bytes,
        # edits re-signed by the collector key
        "payload-duplicate-map-key-1": f.resign_payload(w, b"\xaf\x01\x02" + payload[1:]),
        "payload-key-15": resign_body(body | {15: 0}),
        "payload-version-1-after-magic": resign_body(body | {1: 1}),
        "record-withheld-into-multiproof": resign(withheld),
        "record-outside-window-disclosed": resign(outside),
        "last-batch-dropped": resign(replace(b, batches=b.batches[:-1])),
        "rule-entry-omitted": resign(replace(b, rule_chain=b.rule_chain[:-1])),
        "device-proof-sibling-modified": resign(forged_index),
        "index-leaf-dropped-from-proof": resign(
            replace(
                b,
                index=IndexProof(
                    idx.leaf,
                    idx.leaf_proof[1:],
                    idx.device_value,
                    idx.device_siblings,
                    idx.vehicle_value,
                    idx.vehicle_siblings,
                ),
            )
        ),
    }


def bundle_v2_doc() -> Doc:
    w = f.make_world2(n_batches=4, per_batch=10, beacon=BEACON)
    p = f.parts(w, window=WINDOW)
    first = p.bundle.batches[0]
    # Start the segment one batch early so that a batch outside the window is in it too.
    sb0, _recs0, index0 = w.batches[0]
    b = p.bundle
    if b.batches[0].log_index != index0:
        early = replace(
            first,
            signed_header=sb0.signed.raw,
            log_index=index0,
            log_proof=tuple(p.tree.inclusion_proof(index0)),
            disclosed=(),
            multiproof=(),
        )
        b = replace(b, batches=(early, *b.batches))
    good = b.sign(w.collector)
    trust = _trust(w)
    t = verify_bundle(good, trust)
    if t.verdict != "OK":
        raise SystemExit(f"the vector bundle does not verify: {t.to_dict()}")
    cases = []
    for name, data in corruptions(w, good, b).items():
        got = verify_bundle(data, trust)
        if got.verdict == "OK":
            raise SystemExit(f"corruption {name} was accepted: the generator is wrong")
        cases.append(
            {
                "id": name,
                "bundle": data.hex(),
                "verdict": str(got.verdict),
                "reasons": sorted(set(got.reasons)),
            }
        )
    return {
        "format": "vnotary-bundle-vectors/2",
        "note": "bundle: the file (magic, version 2, COSE_Sign1); verdict under `trust` "
        "without a chain lookup; each corruption lists the reason codes of the failing checks",
        "trust": trust_doc(w),
        "bundle": good.hex(),
        "verdict": str(t.verdict),
        "checks": [c.name for c in t.checks],
        "corruptions": cases,
    }
