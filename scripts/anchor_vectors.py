"""The anchor vectors (tests/vectors/core/anchor.json), written by scripts/gen_vectors.py.

docs/protocol.md §7.4 and §12.1: the two contract versions (event topic, runtime code
digest), `Anchored` event and `head()` bytes with named corruptions, and the
anchor.append_only decision for a checkpoint against a chain of heads, with named
corruptions of the consistency proof (transparency-dev/merkle style). Every tree is built
from fixed leaves, so the output is the same on every run.
"""

from __future__ import annotations

import hashlib
from typing import Any

from notary_core import anchoring, merkle
from notary_core.errors import BadData

Doc = dict[str, Any]


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _tree(n: int) -> merkle.MerkleTree:
    return merkle.MerkleTree([merkle.hash_leaf(b"leaf %d" % i) for i in range(n)])


def _events() -> Doc:
    root, prev = hashlib.sha256(b"root").digest(), hashlib.sha256(b"prev").digest()
    v1_topics = [anchoring.ANCHORED_V1_TOPIC, root]
    v2_topics = [anchoring.ANCHORED_V2_TOPIC, root]
    v1_data, v2_data = _word(1000) + prev, _word(1000) + _word(937) + prev
    valid = [
        {"id": "v1", "version": 1, "topics": v1_topics, "data": v1_data},
        {"id": "v2", "version": 2, "topics": v2_topics, "data": v2_data},
        {"id": "v2-first-anchor", "version": 2, "topics": v2_topics,
         "data": _word(1000) + _word(0) + bytes(32)},
    ]  # fmt: skip
    invalid = {
        "v2-event-read-as-v1": (1, v2_topics, v2_data),
        "v1-event-read-as-v2": (2, v1_topics, v1_data),
        "modified-topic0-bit-@0": (2, [_flip(v2_topics[0], 0), root], v2_data),
        "missing-root-topic": (2, v2_topics[:1], v2_data),
        "truncated-data": (2, v2_topics, v2_data[:-1]),
        "size-over-uint64": (2, v2_topics, _word(2**64) + v2_data[32:]),
        "prev-size-over-uint64": (2, v2_topics, v2_data[:32] + _word(2**64) + prev),
        "unknown-version": (3, v2_topics, v2_data),
    }
    out_valid = []
    for case in valid:
        e = anchoring.decode_event(case["version"], case["topics"], case["data"])
        out_valid.append({
            "id": case["id"], "version": case["version"],
            "topics": [t.hex() for t in case["topics"]], "data": case["data"].hex(),
            "size": e.size, "root": e.root.hex(), "prev_size": e.prev_size,
            "prev_root": e.prev_root.hex(),
        })  # fmt: skip
    out_invalid = []
    for name, (version, topics, data) in invalid.items():
        try:
            anchoring.decode_event(version, topics, data)
        except BadData as exc:
            reason = str(exc.reason)
        else:
            raise SystemExit(f"event corruption {name} was accepted")
        out_invalid.append({"id": name, "version": version, "topics": [t.hex() for t in topics],
                            "data": data.hex(), "reason": reason})  # fmt: skip
    return {"valid": out_valid, "invalid": out_invalid}


def _view(view: anchoring.ChainView) -> Doc:
    return {"version": view.version, "head": {"size": view.head.size, "root": view.head.root.hex()},
            "splits": [[s, a.hex(), b.hex()] for s, a, b in view.splits]}  # fmt: skip


def _append_only() -> list[Doc]:
    old, new = _tree(6), _tree(13)
    proof = tuple(new.consistency_proof(6))
    other = _tree(14)  # a proof shown for another head than the anchored one
    fork = merkle.MerkleTree([merkle.hash_leaf(b"fork %d" % i) for i in range(13)])
    v2_new = anchoring.ChainView(2, anchoring.Head(13, new.root))
    cases: list[tuple[str, anchoring.ChainView, tuple[bytes, ...] | None]] = [
        ("checkpoint-is-the-head", anchoring.ChainView(2, anchoring.Head(6, old.root)), None),
        ("newer-head-with-proof", v2_new, proof),
        ("newer-head-without-proof", v2_new, None),
        ("v1-newer-head-with-proof", anchoring.ChainView(1, anchoring.Head(13, new.root)), proof),
        ("proof-to-another-head", anchoring.ChainView(2, anchoring.Head(14, other.root)), proof),
        ("head-of-a-forked-history",
         anchoring.ChainView(2, anchoring.Head(13, fork.root)), tuple(fork.consistency_proof(6))),
        ("modified-proof[0]-bit-@3", v2_new, (_flip(proof[0], 3), *proof[1:])),
        ("truncated-proof", v2_new, proof[:-1]),
        ("extended-proof", v2_new, (*proof, proof[0])),
        ("head-at-the-size-with-another-root",
         anchoring.ChainView(2, anchoring.Head(6, fork.root)), None),
        ("v1-split-at-the-size",
         anchoring.view_v1([anchoring.Event(6, old.root, None, bytes(32)),
                            anchoring.Event(6, fork.root, None, old.root)]), None),
        ("v1-split-at-another-size",
         anchoring.view_v1([anchoring.Event(6, old.root, None, bytes(32)),
                            anchoring.Event(9, fork.root, None, old.root),
                            anchoring.Event(9, new.root, None, old.root)]), None),
        ("head-below-the-checkpoint", anchoring.ChainView(2, anchoring.Head(5, new.root)), None),
        ("unknown-contract", anchoring.ChainView(0, anchoring.GENESIS), None),
    ]  # fmt: skip
    out = []
    for name, view, p in cases:
        try:
            got = anchoring.append_only(6, old.root, view, p)
        except BadData as exc:
            status, reason = "fail", str(exc.reason)
        else:
            undecided = isinstance(got, anchoring.Undecided)
            status = "undecided" if undecided else "pass"
            reason = str(got.reason) if isinstance(got, anchoring.Undecided) else ""
        out.append({"id": name, "size": 6, "root": old.root.hex(), "view": _view(view),
                    "proof": None if p is None else [x.hex() for x in p],
                    "status": status, "reason": reason})  # fmt: skip
    return out


def _heads() -> Doc:
    good = _word(13) + _tree(13).root
    head = anchoring.decode_head(good)
    invalid = []
    for name, data in (("truncated", good[:-1]), ("extended", good + bytes(32)),
                       ("size-over-uint64", _word(2**64) + good[32:])):  # fmt: skip
        try:
            anchoring.decode_head(data)
        except BadData as exc:
            invalid.append({"id": name, "data": data.hex(), "reason": str(exc.reason)})
        else:
            raise SystemExit(f"head corruption {name} was accepted")
    valid = [{"data": good.hex(), "size": head.size, "root": head.root.hex()}]
    return {"valid": valid, "invalid": invalid}


def anchor_doc() -> Doc:
    runtimes = {str(v): {"runtime_length": n, "runtime_sha256": d}
                for v, (n, d) in anchoring.RUNTIMES.items()}  # fmt: skip
    return {
        "format": "vnotary-anchor-vectors/1",
        "contracts": {
            "1": {"event": "Anchored(bytes32 indexed root, uint64 size, bytes32 prevRoot)",
                  "topic0": anchoring.ANCHORED_V1_TOPIC.hex(), **runtimes["1"]},
            "2": {"event": "Anchored(bytes32 indexed root, uint64 size, uint64 prevSize, "
                           "bytes32 prevRoot)",
                  "topic0": anchoring.ANCHORED_V2_TOPIC.hex(),
                  "head_selector": anchoring.HEAD_SELECTOR.hex(), **runtimes["2"]},
        },
        "events": _events(),
        "heads": _heads(),
        "append_only": _append_only(),
    }  # fmt: skip
