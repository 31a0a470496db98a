"""Protocol version 2 vectors (docs/protocol.md §4.3, §6.1, §7.1.1, §7.3): batch-v2.json,
receipt-v2.json, log-leaves-v2.json and index.json. (bundle-v2.json: vectors_bundle_v2.py.)

Imported by scripts/gen_vectors.py, which writes and checks them. Each corruption is
built so that exactly one rule is broken: headers are re-signed with the device key, so
a signature never hides the fault the vector is about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cbor2

from notary_core import batch, cbor, cose, header, heads, logleaf, receipt, smt
from notary_core.errors import BadData
from notary_core.logleaf import AccessAction, AccessEvent, RegistryAction, RegistryEvent

Doc = dict[str, Any]
BEACON = header.Beacon(31337, 1_204, bytes.fromhex("c0ffee" + "00" * 29), 1_533_226_480)


def reason_of(check: Callable[[], object]) -> str:
    try:
        check()
    except BadData as exc:
        return str(exc.reason)
    raise SystemExit("a corruption was accepted: the generator is wrong")


def _counts_json(counts: header.Counts | None) -> dict[str, list[list[int]]]:
    """JSON object keys are text: the item keys go as [key, count] pairs, in key order."""
    return {s: [[k, n] for k, n in sorted(items.items())] for s, items in (counts or {}).items()}


# ---- batch-v2.json -------------------------------------------------------------------------


def batch_v2_doc(
    records: list[bytes],
    signers: dict[str, tuple[str, cose.Signer]],
    template: Callable[[cose.Signer], header.BatchHeader],
) -> Doc:
    salt_key = bytes([0x5A]) * 32
    cases = []
    for alg, (seed, signer) in signers.items():
        tmpl = replace(template(signer), version=2, beacon=BEACON)
        sb = batch.seal(tmpl, records, salt_key, signer)
        cases.append(
            {
                "id": f"sealed-batch-v2-{alg}",
                "alg": alg,
                "private_key": seed,
                "public_key_spki": signer.public.spki().hex(),
                "sealed_batch": sb.to_bytes().hex(),
                "signed_header": sb.signed.raw.hex(),
                "header_cbor": sb.signed.payload.hex(),
                "header_hash": sb.signed.header_hash.hex(),
                "counts": _counts_json(sb.signed.header.counts),
                "beacon": [
                    BEACON.chain_id,
                    BEACON.block_number,
                    BEACON.block_hash.hex(),
                    BEACON.block_time,
                ],
            }
        )
    _, ed = signers["EdDSA"]
    sb = batch.seal(replace(template(ed), version=2, beacon=BEACON), records, salt_key, ed)
    body: dict[int, Any] = cbor2.loads(sb.signed.payload)
    block = sb.records_block

    def signed(payload: bytes) -> bytes:
        """A sealed batch whose header payload is `payload`, signed by the device key."""
        return cbor.dumps([1, cose.sign1(ed, payload, header.HEADER_CONTENT_TYPE), salt_key, block])

    def edit(**changes: Any) -> bytes:
        fields = dict(body)
        for k, v in changes.items():
            key = int(k.removeprefix("k"))
            if v is _DROP:
                del fields[key]
            else:
                fields[key] = v
        return signed(cbor.dumps(fields))

    counts = {s: dict(items) for s, items in body[18].items()}
    moved = {s: dict(items) for s, items in counts.items()}
    del moved["can0"][0x0AA]  # the frame of 0x0aa counted as 0x7ff: the sum still holds
    moved["can0"][0x7FF] += 1
    more = {s: dict(items) for s, items in counts.items()}
    more["gnss"][-1] += 1
    zero = {s: dict(items) for s, items in counts.items()}
    zero["imu"] = {-1: 0}
    unprot = cbor2.loads(sb.signed.raw).value
    corruptions = {
        "counts-not-the-records": edit(k18=moved),
        "counts-sum-not-record-count": edit(k18=more),
        "counts-missing-stream": edit(k18={s: v for s, v in counts.items() if s != "imu"}),
        "counts-zero-for-an-item": edit(k18=zero),
        "counts-item-key-2^32": edit(k18=counts | {"can9": {1 << 32: 1}}),
        "counts-key-18-missing": edit(k18=_DROP),
        "beacon-key-19-missing": edit(k19=_DROP),
        "beacon-hash-31-bytes": edit(k19=[31337, 1204, bytes(31), 1_533_226_480]),
        "beacon-three-fields": edit(k19=[31337, 1204, bytes(32)]),
        "reserved-key-20": edit(k20=0),
        "reserved-key-63": edit(k63=b""),
        "header-version-3": edit(k1=3),
        "duplicate-map-key-1": signed(b"\xb4\x01\x02" + sb.signed.payload[1:]),
        "cose-untagged": cbor.dumps([1, cbor.dumps(unprot), salt_key, block]),
        "cose-kid-unprotected": cbor.dumps(
            [
                1,
                cbor.dumps(cbor2.CBORTag(18, [unprot[0], {4: ed.kid}, unprot[2], unprot[3]])),
                salt_key,
                block,
            ]
        ),
    }
    public = ed.public
    invalid = [
        {
            "id": k,
            "sealed_batch": v.hex(),
            "reason": reason_of(lambda v=v: batch.SealedBatch.from_bytes(v).verify(public)),
        }
        for k, v in corruptions.items()
    ]
    return {
        "format": "vnotary-batch-vectors/2",
        "note": "version-2 headers (§4.3): key 18 per-item counts (CAN item key = identifier "
        "| 0x80000000 if EXT | 0x20000000 if ERR, -1 for other records), key 19 the beacon",
        "salt_key": salt_key.hex(),
        "records": [x.hex() for x in records],
        "valid": cases,
        "invalid_key": "EdDSA",
        "invalid": invalid,
    }


_DROP = object()


# ---- receipt-v2.json -----------------------------------------------------------------------


def receipt_v2_doc(signer: cose.Signer) -> Doc:
    base = receipt.Receipt(
        "veh-0001",
        41,
        bytes([0xAB]) * 32,
        receipt.ReceiptStatus.STORED,
        1_533_226_490_000_000_000,
        977,
        BEACON,
    )
    valid = []
    for name, rc in (("with-beacon", base), ("null-beacon", replace(base, beacon=None))):
        valid.append(
            {
                "id": name,
                "receipt_cbor": rc.to_cbor().hex(),
                "signed_receipt": rc.sign(signer).hex(),
            }
        )
    body: dict[int, Any] = cbor2.loads(base.to_cbor())

    def signed(fields: dict[int, Any]) -> bytes:
        return cose.sign1(signer, cbor.dumps(fields), receipt.RECEIPT_CONTENT_TYPE)

    good = base.sign(signer)
    tagged = cbor2.loads(good)
    sig = tagged.value[3]
    corruptions = {
        "version-2-without-beacon-key-8": signed({k: v for k, v in body.items() if k != 8}),
        "version-1-with-key-8": signed(body | {1: 1}),
        "version-3": signed(body | {1: 3}),
        "extra-key-9": signed(body | {9: 0}),
        "beacon-wrong-shape": signed(body | {8: [31337, 1204]}),
        "beacon-hash-not-bytes": signed(body | {8: [31337, 1204, "c0ffee", 0]}),
        "status-unknown-7": signed(body | {5: 7}),
        "modified-signature-bit-@0": cbor.dumps(
            cbor2.CBORTag(18, [*tagged.value[:3], bytes([sig[0] ^ 0x80]) + sig[1:]])
        ),
        "cose-untagged": cbor.dumps(tagged.value),
    }
    key = signer.public
    invalid = [
        {
            "id": k,
            "signed_receipt": v.hex(),
            "reason": reason_of(lambda v=v: receipt.open_receipt(v, key)),
        }
        for k, v in corruptions.items()
    ]
    return {
        "format": "vnotary-receipt-vectors/2",
        "collector_key_spki": key.spki().hex(),
        "valid": valid,
        "invalid": invalid,
    }


# ---- log-leaves-v2.json --------------------------------------------------------------------

T = 1_533_226_488_000_000_000
SEC = 1_000_000_000
OPEN = 2**63 - 1


def sample_log(
    device: cose.Signer, rotated: cose.Signer
) -> tuple[list[tuple[str, bytes]], heads.Index]:
    """A small version-2 log: two devices, two vehicles, every kind of leaf, interleaved."""
    idx = heads.Index()
    out: list[tuple[str, bytes]] = []

    def add(name: str, e: RegistryEvent | AccessEvent | logleaf.BatchLeaf | None = None) -> None:
        if e is None:
            leaf = idx.index_leaf()
        elif isinstance(e, logleaf.BatchLeaf):
            leaf = e.to_leaf()
        else:
            leaf = idx.linked(e).to_leaf()
        idx.apply(len(out), leaf)
        out.append((name, leaf))

    def access(
        action: AccessAction,
        vehicle: str,
        actor: str,
        subject: str,
        detail: str = "",
        win: tuple[int, int] = (T, T + 600 * SEC),
    ) -> AccessEvent:
        return AccessEvent(
            action, vehicle, actor, subject, win[0], win[1], T + len(out) * SEC, detail
        )

    v1, v2 = "vin-2T3RFREV7HW000001", "vin-JTMRFREV0JD000002"
    spki, kid = device.public.spki(), device.kid
    add(
        "registry-enrol",
        RegistryEvent(RegistryAction.ENROL, "veh-0001", spki, kid, T - SEC, None, T - SEC),
    )
    add(
        "registry-enrol-second-device",
        RegistryEvent(
            RegistryAction.ENROL, "veh-0002", rotated.public.spki(), rotated.kid, T, None, T
        ),
    )
    add(
        "access-device-installed",
        access(AccessAction.DEVICE_INSTALLED, v1, "operator", "veh-0001", win=(T - SEC, OPEN)),
    )
    add(
        "access-owner-bound",
        access(
            AccessAction.OWNER_BOUND,
            v1,
            "operator",
            "d8Me3uJ82jhdsCstWyVMr3_I2ueeTYG5agM1-2r1_bY",
            win=(T - 30 * 86400 * SEC, OPEN),
        ),
    )
    add("batch-0", logleaf.BatchLeaf(hashlib.sha256(b"header 0").digest(), 0, "veh-0001"))
    add(
        "access-second-vehicle-installed",
        access(AccessAction.DEVICE_INSTALLED, v2, "operator", "veh-0002", win=(T, OPEN)),
    )
    add("batch-2-before-1", logleaf.BatchLeaf(hashlib.sha256(b"header 2").digest(), 2, "veh-0001"))
    add("batch-1-late", logleaf.BatchLeaf(hashlib.sha256(b"header 1").digest(), 1, "veh-0001"))
    add(
        "access-grant",
        access(AccessAction.GRANT, v1, "d8Me3uJ82jhdsCstWyVMr3_I2ueeTYG5agM1-2r1_bY", "g-1"),
    )
    add(
        "access-read",
        access(
            AccessAction.READ,
            v1,
            "0YuCW4N9LKPsO0jPKKgDYo3H7HH2LkiT8YLuFGslZXI",
            "g-1",
            "can0#0aa,gnss",
        ),
    )
    add(
        "access-refused",
        access(
            AccessAction.REFUSED,
            v1,
            "0YuCW4N9LKPsO0jPKKgDYo3H7HH2LkiT8YLuFGslZXI",
            "-",
            "OUTSIDE_GRANT",
        ),
    )
    add(
        "registry-rotate",
        RegistryEvent(
            RegistryAction.ROTATE,
            "veh-0001",
            rotated.public.spki(),
            rotated.kid,
            T + 60 * SEC,
            None,
            T + 60 * SEC,
        ),
    )
    add(
        "access-revoke",
        access(AccessAction.REVOKE, v1, "d8Me3uJ82jhdsCstWyVMr3_I2ueeTYG5agM1-2r1_bY", "g-1"),
    )
    add(
        "batch-0-second-device",
        logleaf.BatchLeaf(hashlib.sha256(b"header 0 of 2").digest(), 0, "veh-0002"),
    )
    add("index")
    return out, idx


def _describe(leaf: bytes) -> Any:
    """A JSON view of a parsed leaf, for a reader of the vectors (the bytes are normative)."""
    p = logleaf.parse_leaf(leaf)
    if isinstance(p, logleaf.BatchLeaf):
        return {
            "type": "batch",
            "header_hash": p.header_hash.hex(),
            "batch_seq": p.batch_seq,
            "device_id": p.device_id,
        }
    if isinstance(p, logleaf.IndexLeaf):
        return {"type": "index", "covered": p.covered, "root": p.root.hex()}

    def link(x: logleaf.Link | None) -> Any:
        return (
            None
            if x is None
            else [x.n, x.prev_index, None if x.prev_hash is None else x.prev_hash.hex()]
        )

    if isinstance(p, RegistryEvent):
        return {
            "type": "registry",
            "action": p.action.name,
            "device_id": p.device_id,
            "key_id": p.key_id.hex(),
            "device_link": link(p.link),
        }
    assert isinstance(p, AccessEvent)
    return {
        "type": "access",
        "action": p.action.name,
        "vehicle_id": p.vehicle_id,
        "subject": p.subject,
        "vehicle_link": link(p.vehicle_link),
        "rule_link": link(p.rule_link),
        "device_link": link(p.device_link),
    }


def _heads_json(idx: heads.Index) -> Doc:
    return {
        "devices": {d: idx.device(d).value().hex() for d in sorted(idx.devices)},
        "vehicles": {v: idx.vehicle(v).value().hex() for v in sorted(idx.vehicles)},
        "root": idx.root().hex(),
    }


def _replay(leaves: list[bytes]) -> None:
    idx = heads.Index()
    for i, leaf in enumerate(leaves):
        idx.apply(i, leaf)


def log_leaves_v2_doc(device: cose.Signer, rotated: cose.Signer) -> Doc:
    log, idx = sample_log(device, rotated)
    names = [n for n, _ in log]
    leaves = [leaf for _, leaf in log]
    at = names.index
    grant = logleaf.parse_leaf(leaves[at("access-grant")])
    assert isinstance(grant, AccessEvent)
    enrol = logleaf.parse_leaf(leaves[at("registry-enrol")])
    assert isinstance(enrol, RegistryEvent)

    def raw_access(fields: dict[int, Any]) -> bytes:
        return bytes([logleaf.LeafType.ACCESS_EVENT]) + cbor.dumps(fields)

    def raw_registry(fields: dict[int, Any]) -> bytes:
        return bytes([logleaf.LeafType.REGISTRY_EVENT]) + cbor.dumps(fields)

    g = cbor2.loads(leaves[at("access-grant")][1:])
    rd = cbor2.loads(leaves[at("access-read")][1:])
    inst = cbor2.loads(leaves[at("access-device-installed")][1:])
    reg = cbor2.loads(leaves[at("registry-enrol")][1:])
    batch0 = leaves[at("batch-0")]
    index_leaf = leaves[at("index")]
    bad_leaves = {
        "registry-v2-without-link": raw_registry({k: v for k, v in reg.items() if k != 9}),
        "registry-v1-with-link": raw_registry(reg | {1: 1}),
        "registry-link-n0-names-a-previous": raw_registry(reg | {9: [0, 3, bytes(32)]}),
        "registry-link-hash-31-bytes": raw_registry(reg | {9: [1, 0, bytes(31)]}),
        "grant-without-rule-link": raw_access({k: v for k, v in g.items() if k != 11}),
        "read-with-rule-link": raw_access(rd | {11: [0, None, None]}),
        "install-without-device-link": raw_access({k: v for k, v in inst.items() if k != 12}),
        "grant-with-device-link": raw_access(g | {12: [0, None, None]}),
        "access-v2-without-vehicle-link": raw_access({k: v for k, v in rd.items() if k != 10}),
        "access-key-13": raw_access(rd | {13: 0}),
        "refused-in-a-version-1-event": raw_access(
            {k: v for k, v in rd.items() if k < 10} | {1: 1, 2: int(AccessAction.REFUSED)}
        ),
        "access-action-unknown-10": raw_access(rd | {2: 10}),
        "event-version-3": raw_access(rd | {1: 3}),
        "batch-leaf-device-id-empty": batch0[:41],
        "batch-leaf-device-id-non-ascii": batch0[:41] + "vé".encode(),
        "batch-leaf-device-id-65-bytes": batch0[:41] + b"d" * 65,
        "index-leaf-version-2": index_leaf[:1] + cbor.dumps(cbor2.loads(index_leaf[1:]) | {1: 2}),
        "index-leaf-extra-key-4": index_leaf[:1] + cbor.dumps(cbor2.loads(index_leaf[1:]) | {4: 0}),
        "index-leaf-root-not-bytes": index_leaf[:1]
        + cbor.dumps(cbor2.loads(index_leaf[1:]) | {3: "root"}),
        "leaf-type-0x06": b"\x06" + leaves[at("access-read")][1:],
        "event-duplicate-map-key": leaves[at("access-read")][:1]
        + bytes([leaves[at("access-read")][1] + 1])
        + b"\x01\x02"
        + leaves[at("access-read")][2:],
        "leaf-over-4-KiB": raw_access(rd | {9: "x" * 4096}),
        "empty-leaf": b"",
    }
    invalid_leaves = [
        {"id": k, "leaf": v.hex(), "reason": reason_of(lambda v=v: logleaf.parse_leaf(v))}
        for k, v in bad_leaves.items()
    ]

    def relink(name: str, **links: logleaf.Link) -> bytes:
        e = logleaf.parse_leaf(leaves[at(name)])
        assert isinstance(e, AccessEvent | RegistryEvent)
        return replace(e, **links).to_leaf()  # type: ignore[arg-type]

    read = logleaf.parse_leaf(leaves[at("access-read")])
    assert isinstance(read, AccessEvent) and read.vehicle_link is not None
    vl = read.vehicle_link
    assert grant.rule_link is not None and enrol.link is not None
    bad_logs = {
        "read-link-names-a-wrong-hash": (
            at("access-read"),
            relink("access-read", vehicle_link=replace(vl, prev_hash=bytes(32))),
        ),
        "read-link-skips-an-entry": (
            at("access-read"),
            relink("access-read", vehicle_link=replace(vl, n=vl.n + 1)),
        ),
        "grant-rule-link-n-0-again": (
            at("access-grant"),
            relink("access-grant", rule_link=logleaf.Link(0)),
        ),
        "rotate-device-link-names-the-enrolment-twice": (
            at("registry-rotate"),
            relink(
                "registry-rotate",
                link=logleaf.Link(
                    1, at("registry-enrol"), heads.leaf_hash(leaves[at("registry-enrol")])
                ),
            ),
        ),
        "index-leaf-wrong-root": (at("index"), logleaf.IndexLeaf(at("index"), bytes(32)).to_leaf()),
        "index-leaf-wrong-covered-size": (
            at("index"),
            logleaf.IndexLeaf(
                at("index") - 1, logleaf.IndexLeaf.from_leaf(index_leaf).root
            ).to_leaf(),
        ),
    }
    invalid_logs = []
    for k, (i, leaf) in bad_logs.items():
        edited = list(leaves)
        edited[i] = leaf
        invalid_logs.append(
            {
                "id": k,
                "position": i,
                "leaf": leaf.hex(),
                "reason": reason_of(lambda e=edited: _replay(e)),
            }
        )
    return {
        "format": "vnotary-log-leaf-vectors/2",
        "note": "leaf hash = SHA-256(0x00 || leaf); applying the log in order from an empty "
        "index (§7.3) gives `heads`; `invalid_logs` replace one leaf of `log`",
        "log": [
            {
                "id": n,
                "leaf": leaf.hex(),
                "leaf_hash": heads.leaf_hash(leaf).hex(),
                "parsed": _describe(leaf),
            }
            for n, leaf in log
        ],
        "heads": _heads_json(idx),
        "invalid_leaves": invalid_leaves,
        "invalid_logs": invalid_logs,
    }


# ---- index.json ----------------------------------------------------------------------------


def _entries() -> dict[bytes, bytes]:
    """Keys and values of a small index: device and vehicle heads (§7.3)."""
    out: dict[bytes, bytes] = {}
    for i in range(6):
        d = heads.DeviceHead(
            i * 3,
            hashlib.sha256(b"h%d" % i).digest(),
            10 + i,
            heads.ChainHead(1, i, hashlib.sha256(b"e%d" % i).digest()),
        )
        out[heads.device_key(f"veh-{i:04d}")] = d.value()
    out[heads.device_key("veh-new")] = heads.DeviceHead().value()
    for i in range(4):
        v = heads.VehicleHead(
            heads.ChainHead(2 + i, 40 + i, hashlib.sha256(b"v%d" % i).digest()),
            heads.ChainHead(1, 30 + i, hashlib.sha256(b"r%d" % i).digest()),
        )
        out[heads.vehicle_key(f"vin-{i:017d}")] = v.value()
    return out


def index_doc() -> Doc:
    entries = _entries()
    tree = smt.SparseTree((smt.key_hash(k), hashlib.sha256(v).digest()) for k, v in entries.items())
    root = tree.root()
    assert root == smt.reference_root(
        {smt.key_hash(k): hashlib.sha256(v).digest() for k, v in entries.items()}
    )
    inclusion = []
    for k, v in entries.items():
        p = tree.prove(smt.key_hash(k))
        inclusion.append(
            {"key": k.hex(), "value": v.hex(), "siblings": [s.hex() for s in p.siblings]}
        )
    absent: dict[str, tuple[bytes, smt.Proof]] = {}
    for i in range(1000):  # the first absent keys whose paths end in a leaf and in nothing
        k = heads.device_key(f"absent-{i}")
        p = tree.prove(smt.key_hash(k))
        kind = "other-leaf" if p.other is not None else "empty"
        absent.setdefault(kind, (k, p))
        if len(absent) == 2:
            break
    absence = [
        {
            "id": kind,
            "key": k.hex(),
            "terminal": None if p.other is None else [p.other[0].hex(), p.other[1].hex()],
            "siblings": [s.hex() for s in p.siblings],
        }
        for kind, (k, p) in sorted(absent.items())
    ]
    first = inclusion[0]
    k0, v0 = bytes.fromhex(first["key"]), bytes.fromhex(first["value"])
    sib0 = [bytes.fromhex(s) for s in first["siblings"]]
    assert sib0, "the first entry must have siblings"

    def verify_inc(key: bytes, value: bytes, siblings: list[bytes], r: bytes = root) -> None:
        heads.verify_head(r, key, value, tuple(siblings))

    flipped = bytes([sib0[-1][0] ^ 1]) + sib0[-1][1:]
    bad_inclusion = {
        "modified-sibling[last]-bit-@7": (k0, v0, [*sib0[:-1], flipped], root),
        "modified-value-byte-@0": (k0, bytes([v0[0] ^ 1]) + v0[1:], sib0, root),
        "modified-key": (heads.device_key("veh-9999"), v0, sib0, root),
        "modified-root-bit-@0": (k0, v0, sib0, bytes([root[0] ^ 0x80]) + root[1:]),
        "missing-sibling[0]": (k0, v0, sib0[1:], root),
        "extra-sibling": (k0, v0, [*sib0, bytes(32)], root),
        "sibling-31-bytes": (k0, v0, [*sib0[:-1], sib0[-1][:31]], root),
        "257-siblings": (k0, v0, [bytes(32)] * 257, root),
    }
    invalid_inclusion = [
        {
            "id": name,
            "key": k.hex(),
            "value": v.hex(),
            "siblings": [s.hex() for s in sib],
            "root": r.hex(),
            "reason": reason_of(lambda k=k, v=v, sib=sib, r=r: verify_inc(k, v, sib, r)),
        }
        for name, (k, v, sib, r) in bad_inclusion.items()
    ]
    ok_leaf = absent["other-leaf"]
    ak, ap = ok_leaf
    assert ap.other is not None
    present_k = smt.key_hash(k0)

    def absence_check(
        key: bytes, other: tuple[bytes, bytes] | None, sib: tuple[bytes, ...]
    ) -> None:
        smt.verify_absence(root, smt.key_hash(key), other, sib)

    bad_absence = {
        "present-key-shown-absent": (
            k0,
            (present_k, hashlib.sha256(v0).digest()),
            tree.prove(present_k).siblings,
        ),
        "terminal-leaf-off-the-path": (ak, (smt.key_hash(b"elsewhere"), ap.other[1]), ap.siblings),
        "terminal-dropped": (ak, None, ap.siblings),
        "modified-sibling[0]": (ak, ap.other, (bytes(32), *ap.siblings[1:])),
    }
    invalid_absence = [
        {
            "id": name,
            "key": k.hex(),
            "terminal": None if o is None else [o[0].hex(), o[1].hex()],
            "siblings": [s.hex() for s in sib],
            "reason": reason_of(lambda k=k, o=o, sib=sib: absence_check(k, o, sib)),
        }
        for name, (k, o, sib) in bad_absence.items()
    ]
    return {
        "format": "vnotary-index-vectors/1",
        "note": "§7.3: key hash k = SHA-256(key), value hash v = SHA-256(value); leaf "
        "H(0x00||k||v), node H(0x01||left||right), empty subtree 32 zero bytes; siblings top-down",
        "entries": [{"key": k.hex(), "value": v.hex()} for k, v in entries.items()],
        "root": root.hex(),
        "inclusion": inclusion,
        "absence": absence,
        "invalid_inclusion": invalid_inclusion,
        "invalid_absence": invalid_absence,
    }
