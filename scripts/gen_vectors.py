#!/usr/bin/env python3
"""Generate the byte-exact vectors of notary_core in tests/vectors/core/.

    python scripts/gen_vectors.py          # (re)write the files
    python scripts/gen_vectors.py --check  # regenerate in memory, fail if any file differs

Every vector set has valid cases with their exact bytes and named corruptions with the
reason code a verifier must answer (transparency-dev/merkle testdata style:
`modified-<what>-bit-@<n>`). Keys come from fixed seeds and ES256 signs per RFC 6979, so
the output is identical on every run: a diff means the format changed.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cbor2
from anchor_vectors import anchor_doc  # scripts/anchor_vectors.py, beside this file
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from notary_core import batch, cbor, checkpoint, cose, header, merkle, receipt, witness
from notary_core import records as r

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vectors_bundle_v2  # version 2, beside this script
import vectors_envelope
import vectors_v2
from vectors_v2 import reason_of

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "core"
Doc = dict[str, Any]


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def sample_records() -> list[tuple[str, r.Record]]:
    ns = 1_533_180_079_647_000_000
    return [
        (
            "can-classic-11bit",
            r.Record(
                "can0",
                7,
                46_408_580_034_294,
                ns,
                r.ClockSource.GNSS,
                r.CanFrame(0x0AA, r.CanFlags(0), 8, bytes.fromhex("1a6f1a6f1a6f1a6f")),
            ),
        ),
        (
            "can-classic-29bit",
            r.Record(
                "can1",
                8,
                2,
                ns,
                r.ClockSource.NTP,
                r.CanFrame(0x18FEC1FE, r.CanFlags.EXT, 3, b"\x01\x02\x03"),
            ),
        ),
        (
            "can-rtr",
            r.Record(
                "can0", 9, 3, ns, r.ClockSource.NTP, r.CanFrame(0x7FF, r.CanFlags.RTR, 4, b"")
            ),
        ),
        (
            "can-error-frame",
            r.Record(
                "can0",
                10,
                4,
                ns,
                r.ClockSource.NTP,
                r.CanFrame(0x00000004, r.CanFlags.ERR | r.CanFlags.EXT, 8, bytes(8)),
            ),
        ),
        (
            "can-fd-64-brs",
            r.Record(
                "can2",
                11,
                5,
                ns,
                r.ClockSource.PTP,
                r.CanFrame(0x123, r.CanFlags.FD | r.CanFlags.BRS, 15, bytes(range(64))),
            ),
        ),
        (
            "nmea-ok",
            r.Record(
                "gnss",
                0,
                6,
                ns,
                r.ClockSource.GNSS,
                r.NmeaSentence(
                    r.NmeaStatus.CHECKSUM_OK,
                    b"$GPGGA,161229.487,3723.2475,N,12158.3416,W,1,07,1.0,9.0,M,,,,0000*18",
                ),
            ),
        ),
        (
            "nmea-bad-checksum",
            r.Record(
                "gnss",
                1,
                7,
                ns,
                r.ClockSource.GNSS,
                r.NmeaSentence(r.NmeaStatus.CHECKSUM_BAD, b"$GPRMC,1*00"),
            ),
        ),
        (
            "imu",
            r.Record(
                "imu",
                0,
                8,
                ns,
                r.ClockSource.GNSS,
                r.ImuSample(
                    (1.074371337890625, -0.12921142578125, -9.544967651367188),
                    (-0.0183258056640625, 0.0058135986328125, 0.00372314453125),
                ),
            ),
        ),
        (
            "bridge-frame",
            r.Record(
                "bridge:0000beef",
                3,
                9,
                ns,
                r.ClockSource.NTP,
                r.BridgeFrame(r.BridgeStatus.OK, bytes.fromhex("0102030405")),
            ),
        ),
        (
            "event-clock-step",
            r.Record(
                "agent",
                0,
                10,
                ns,
                r.ClockSource.NTP,
                r.AgentEvent(r.EventType.CLOCK_STEP, -1_500_000, ns, "ntp step"),
            ),
        ),
    ]


def records_doc() -> Doc:
    valid = [
        {"id": name, "record": repr(rec), "encoding": r.encode(rec).hex()}
        for name, rec in sample_records()
    ]
    base = r.encode(sample_records()[0][1])
    corruptions = {
        "version-2": b"\x02" + base[1:],
        "kind-unknown-9": base[:1] + b"\x09" + base[2:],
        "clock-source-unknown": base[:2] + b"\x40" + base[3:],
        "stream-uppercase": base.replace(b"can0", b"CAN0"),
        "can-flags-reserved-bit": base[:36] + b"\x80" + base[37:],
        "can-id-over-11-bits": base[:32] + b"\x00\x00\x08\x00" + base[36:],
        "can-dlc-disagrees": base[:37] + b"\x07" + base[38:],
        "trailing-byte": base + b"\x00",
        "truncated-@20": base[:20],
    }
    invalid = [
        {"id": k, "encoding": v.hex(), "reason": reason_of(lambda v=v: r.decode(v))}
        for k, v in corruptions.items()
    ]
    return {"format": "vnotary-record-vectors/1", "valid": valid, "invalid": invalid}


def leaves_doc() -> Doc:
    key = bytes(range(32))
    recs = [r.encode(rec) for _, rec in sample_records()]
    hashes = batch.leaf_hashes(key, recs)
    tree = merkle.MerkleTree(hashes)
    subsets = [[0], [2, 3, 4], [0, 9], list(range(10))]
    return {
        "format": "vnotary-salted-leaf-vectors/1",
        "salt_key": key.hex(),
        "records": [x.hex() for x in recs],
        "salts": [batch.salt(key, i).hex() for i in range(len(recs))],
        "leaf_hashes": [h.hex() for h in hashes],
        "root": tree.root.hex(),
        "inclusion_proofs": [
            {"index": i, "proof": [p.hex() for p in tree.inclusion_proof(i)]}
            for i in range(len(recs))
        ],
        "multiproofs": [
            {"indices": s, "proof": [p.hex() for p in tree.multiproof(s)]} for s in subsets
        ],
    }


def signers() -> dict[str, tuple[str, cose.Signer]]:
    ed_seed = bytes([0x11]) * 32
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(ed_seed)
    p256 = ec.derive_private_key(0x5EED, ec.SECP256R1())
    return {
        "EdDSA": (ed_seed.hex(), cose.Signer.from_key(ed)),
        "ES256": (f"{0x5EED:064x}", cose.Signer.from_key(p256, deterministic=True)),
    }


def batch_template(signer: cose.Signer) -> header.BatchHeader:
    return header.BatchHeader(
        device_id="veh-0001",
        boot_id=bytes(range(16)),
        batch_seq=41,
        prev_header_hash=bytes([0xAB]) * 32,
        record_count=0,
        merkle_root=bytes(32),
        first_mono_ns=46_408_580_034_294,
        last_mono_ns=46_409_579_998_101,
        first_utc_ns=1_533_226_488_227_034_294,
        last_utc_ns=1_533_226_489_226_998_101,
        clock_source=r.ClockSource.GNSS,
        clock_uncertainty_ns=9_000_000,
        streams={
            "can0": header.StreamCounters(1200, 1198, 2, 0, 0, 0),
            "gnss": header.StreamCounters(10, 10, 0, 0, 1, 0),
        },
        agent_version="vnotary-edge/0.1.0",
        config_hash=bytes([0xC0]) * 32,
        key_id=signer.kid,
        version=1,  # batch.json holds version-1 headers; batch-v2.json version 2
    )


def batch_doc() -> Doc:
    recs = [r.encode(rec) for _, rec in sample_records()]
    salt_key = bytes([0x5A]) * 32
    cases = []
    for alg, (seed, signer) in signers().items():
        sb = batch.seal(batch_template(signer), recs, salt_key, signer)
        wire = sb.to_bytes()
        cases.append(
            {
                "id": f"sealed-batch-{alg}",
                "alg": alg,
                "private_key": seed,
                "public_key_spki": signer.public.spki().hex(),
                "sealed_batch": wire.hex(),
                "signed_header": sb.signed.raw.hex(),
                "header_cbor": sb.signed.payload.hex(),
                "header_hash": sb.signed.header_hash.hex(),
                "merkle_root": sb.signed.header.merkle_root.hex(),
            }
        )
    _, ed = signers()["EdDSA"]
    sb = batch.seal(batch_template(ed), recs, salt_key, ed)
    wire = sb.to_bytes()
    signed = sb.signed.raw
    block = sb.records_block
    prot, unprot, payload, sig = cbor2.loads(signed).value

    def rewrap(signed_header: bytes = signed, key: bytes = salt_key, blk: bytes = block) -> bytes:
        return cbor.dumps([1, signed_header, key, blk])

    def resign(**changes: Any) -> bytes:
        forged = replace(sb.signed.header, **changes).to_cbor()
        return cbor.dumps(cbor2.CBORTag(18, [prot, dict(unprot), forged, sig]))

    swapped = recs[1:2] + recs[0:1] + recs[2:]
    corruptions = {
        "modified-record[0]-bit-@300": rewrap(blk=flip(block, 300)),
        "modified-salt-key-bit-@0": rewrap(key=flip(salt_key, 0)),
        "swapped-records[0,1]": rewrap(blk=batch.encode_records_block(swapped)),
        "removed-record[9]": rewrap(blk=batch.encode_records_block(recs[:9])),
        "modified-header-batch_seq": rewrap(signed_header=resign(batch_seq=42)),
        "modified-header-prev_header_hash": rewrap(
            signed_header=resign(prev_header_hash=bytes(32))
        ),
        "modified-signature-bit-@0": rewrap(
            signed_header=cbor.dumps(cbor2.CBORTag(18, [prot, dict(unprot), payload, flip(sig, 0)]))
        ),
        "sealed-batch-version-2": cbor.dumps([2, signed, salt_key, block]),
        "non-canonical-indefinite-array": b"\x9f" + wire[1:] + b"\xff",
        "truncated-@100": wire[:100],
        "not-cbor": b"\xff" * 8,
    }
    public = ed.public

    def check(data: bytes) -> None:
        batch.SealedBatch.from_bytes(data).verify(public)

    invalid = [
        {"id": k, "sealed_batch": v.hex(), "reason": reason_of(lambda v=v: check(v))}
        for k, v in corruptions.items()
    ]
    return {
        "format": "vnotary-batch-vectors/1",
        "salt_key": salt_key.hex(),
        "records": [x.hex() for x in recs],
        "valid": cases,
        "invalid_key": "EdDSA",
        "invalid": invalid,
    }


def envelope_doc() -> Doc:
    """The compressed envelope (§5.1) of batch.json's EdDSA sealed batch."""
    recs = [r.encode(rec) for _, rec in sample_records()]
    _, ed = signers()["EdDSA"]
    sb = batch.seal(batch_template(ed), recs, bytes([0x5A]) * 32, ed)
    return vectors_envelope.envelope_doc(sb.to_bytes())


def checkpoint_doc() -> Doc:
    seed = bytes([0x22]) * 32
    origin = "collector.example/vnotary/log"
    # The key name is the origin's first path element, as the collector signs (§7).
    s = checkpoint.NoteSigner(
        origin.split("/", maxsplit=1)[0], ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    )
    cp = checkpoint.Checkpoint(origin, 1234, bytes(range(32)))
    note = checkpoint.sign_checkpoint(cp, [s])
    body = cp.body()
    corruptions = {
        "modified-size": note.replace(b"\n1234\n", b"\n1235\n"),
        "modified-root-bit-@0": note.replace(
            body.split(b"\n")[2], b"gAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        ),
        "modified-signature": note[:-10] + (b"A" if note[-10:-9] != b"A" else b"B") + note[-9:],
        "no-signature": body,
        "signed-by-unknown-key": checkpoint.sign_checkpoint(
            cp,
            [
                checkpoint.NoteSigner(
                    s.name, ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32))
                )
            ],
        ),
    }
    verifier = s.verifier
    invalid = [
        {
            "id": k,
            "note": v.decode(),
            "reason": reason_of(lambda v=v: checkpoint.open_checkpoint(v, [verifier])),
        }
        for k, v in corruptions.items()
    ]
    return {
        "format": "vnotary-checkpoint-vectors/1",
        "private_key": seed.hex(),
        "verifier_key": verifier.vkey,
        "origin": cp.origin,
        "size": cp.size,
        "root": cp.root.hex(),
        "note": note.decode(),
        "invalid": invalid,
    }


def receipt_doc() -> Doc:
    _, signer = signers()["EdDSA"]
    rc = receipt.Receipt(
        "veh-0001",
        41,
        bytes([0xAB]) * 32,
        receipt.ReceiptStatus.STORED,
        1_533_226_490_000_000_000,
        977,
        version=1,
    )
    return {
        "format": "vnotary-receipt-vectors/1",
        "collector_key_spki": signer.public.spki().hex(),
        "receipt_cbor": rc.to_cbor().hex(),
        "signed_receipt": rc.sign(signer).hex(),
    }


def batch_v2_doc() -> Doc:
    recs = [r.encode(rec) for _, rec in sample_records()]
    return vectors_v2.batch_v2_doc(recs, signers(), batch_template)


def receipt_v2_doc() -> Doc:
    return vectors_v2.receipt_v2_doc(signers()["EdDSA"][1])


def log_leaves_v2_doc() -> Doc:
    _, ed = signers()["EdDSA"]
    second = cose.Signer.from_key(ed25519.Ed25519PrivateKey.from_private_bytes(bytes([0x12]) * 32))
    return vectors_v2.log_leaves_v2_doc(ed, second)


def witness_doc() -> Doc:
    """Cosignatures (docs/protocol.md §7.2): one witness cosigns one checkpoint; named
    corruptions fail `require_quorum(note, [witness], 1)` with the reason given."""
    log_seed, w_seed = bytes([0x22]) * 32, bytes([0x33]) * 32
    log = checkpoint.NoteSigner(
        "collector.example", ed25519.Ed25519PrivateKey.from_private_bytes(log_seed)
    )
    w = witness.WitnessSigner(
        "witness.example/w1", ed25519.Ed25519PrivateKey.from_private_bytes(w_seed)
    )
    tree = merkle.MerkleTree([merkle.hash_leaf(bytes([i])) for i in range(11)])
    cp = checkpoint.Checkpoint("collector.example/vnotary/log", 11, tree.root)
    note = checkpoint.sign_checkpoint(cp, [log])
    t = 1_700_000_000
    line = w.cosign(cp.body(), t)
    cosigned = witness.add_signatures(note, [line])
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    other = checkpoint.sign_checkpoint(checkpoint.Checkpoint(cp.origin, 12, cp.root), [log])

    def with_blob(b: bytes) -> bytes:
        return witness.add_signatures(note, [f"\u2014 {w.name} {base64.b64encode(b).decode()}\n"])

    type1_id = checkpoint.note_key_id(w.name, checkpoint.ED25519_TYPE, w.verifier.public
                                      .public_bytes_raw())  # fmt: skip
    corruptions = {
        "modified-timestamp": with_blob(bytes(blob[:4]) + (t + 1).to_bytes(8, "big") + blob[12:]),
        "modified-signature-bit-@0": with_blob(bytes(blob[:12]) + flip(bytes(blob[12:]), 0)),
        "key-id-of-type-0x01": with_blob(type1_id + bytes(blob[4:])),
        "cosignature-of-another-checkpoint": witness.add_signatures(other, [line]),
        "no-cosignature": note,
    }
    invalid = [
        {"id": k, "note": v.decode(), "reason": reason_of(
            lambda v=v: witness.require_quorum(v, [w.verifier], 1))}
        for k, v in corruptions.items()
    ]  # fmt: skip
    proof = tree.consistency_proof(4)
    request = witness.AddCheckpoint(4, tuple(proof), note).encode()
    return {
        "format": "vnotary-witness-vectors/1",
        "log_private_key": log_seed.hex(),
        "log_verifier_key": log.verifier.vkey,
        "witness_private_key": w_seed.hex(),
        "witness_verifier_key": w.verifier.vkey,
        "note": note.decode(),
        "timestamp": t,
        "signed_message": witness.cosigned_message(cp.body(), t).decode(),
        "cosignature_line": line,
        "cosigned_note": cosigned.decode(),
        "add_checkpoint": {"old_size": 4, "old_root": tree.subtree_root(0, 4).hex(),
                           "body": request.decode()},
        "invalid": invalid,
    }  # fmt: skip


DOCS: dict[str, Callable[[], Doc]] = {
    "records.json": records_doc,
    "salted-leaves.json": leaves_doc,
    "batch.json": batch_doc,
    "checkpoint.json": checkpoint_doc,
    "receipt.json": receipt_doc,
    "anchor.json": anchor_doc,
    # protocol version 2
    "batch-v2.json": batch_v2_doc,
    "receipt-v2.json": receipt_v2_doc,
    "log-leaves-v2.json": log_leaves_v2_doc,
    "index.json": vectors_v2.index_doc,
    "bundle-v2.json": vectors_bundle_v2.bundle_v2_doc,
    "witness.json": witness_doc,
    "envelope.json": envelope_doc,
}


def render(doc: Doc) -> str:
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    stale = []
    for name, make in DOCS.items():
        text = render(make())
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")
    if stale:
        print(f"vectors differ from the generator: {', '.join(stale)}", file=sys.stderr)
        print(
            "a format change? bump its version, update docs/protocol.md, then run "
            "`python scripts/gen_vectors.py`",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"{len(DOCS)} vector files match the generator")
    return 0


if __name__ == "__main__":
    sys.exit(main())
