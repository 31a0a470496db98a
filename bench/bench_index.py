"""Index of heads benchmark (issue 12 §1): the cost a checkpoint adds, against ingest.

Builds an index (notary_core.heads.Index, docs/protocol.md §7.3) over a log of
`--entries` leaves of `--devices` devices (batch leaves spread over the devices, and a
vehicle chain per 10 devices), then measures, per checkpoint, applying the leaves of one
checkpoint interval at saturation (one new batch for each of `--batches` devices) and
computing the root and the index leaf. The peer, measured in the same run: verified ingest
of the same number of real batches (1,000 RAV4 CAN frames each, SQLite, synchronous=FULL)
through collector.ingest.pipeline.Ingestor. Target: the index under 10 % of ingest time.
Last line: one JSON object.

    python bench/bench_index.py [--devices 100000] [--entries 1000000] [--batches 64]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_collector import bench_ingest, load_records, seal_batches

from notary_core import cose, heads, logleaf


def build(devices: int, entries: int) -> tuple[heads.Index, list[int]]:
    """An index over `entries` leaves: batch leaves round-robin over the devices, and every
    10th leaf an access event of one of the devices/10 vehicles, linked as a collector does."""
    index = heads.Index()
    seqs = [0] * devices
    t = time.perf_counter()
    for i in range(entries):
        if i % 10 == 9:
            v = f"vin-{(i // 10) % max(1, devices // 10):07d}"
            e = logleaf.AccessEvent(logleaf.AccessAction.READ, v, "party", "g-1", 0, 1, i)
            leaf = index.linked(e).to_leaf()
        else:
            d = i % devices
            h = hashlib.sha256(i.to_bytes(8, "big")).digest()
            leaf = logleaf.BatchLeaf(h, seqs[d], f"dev-{d:06d}").to_leaf()
            seqs[d] += 1
        index.apply(i, leaf)
        if i and i % 200_000 == 0:
            print(f"  built {i:,} of {entries:,} leaves ({time.perf_counter() - t:.0f} s)",
                  flush=True)  # fmt: skip
    index.apply(index.size, index.index_leaf())
    return index, seqs


def checkpoint_cost(index: heads.Index, seqs: list[int], batches: int, rounds: int) -> float:
    """Seconds per checkpoint: `batches` new batch leaves of distinct devices, the root, the
    index leaf (the best of `rounds`: the machine is shared)."""
    best = float("inf")
    devices = len(seqs)
    for r in range(rounds):
        t = time.perf_counter()
        for k in range(batches):
            d = (r * batches + k) * 7919 % devices  # spread over the tree
            h = hashlib.sha256(b"%d-%d" % (r, k)).digest()
            index.apply(index.size, logleaf.BatchLeaf(h, seqs[d], f"dev-{d:06d}").to_leaf())
            seqs[d] += 1
        index.apply(index.size, index.index_leaf())
        best = min(best, time.perf_counter() - t)
    return best


async def ingest_cost(batches: int) -> float:
    """Seconds to ingest `batches` real sealed batches (bench_collector's measurement)."""
    dev = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    sealed = seal_batches(load_records(batches * 1000), 1000, dev)
    with tempfile.TemporaryDirectory() as tmp:
        got = await bench_ingest(Path(tmp), sealed, dev, group=batches, repeat=2)
    return float(batches / got["ingest_batches_per_s"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=100_000)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batches", type=int, default=64, help="new batches per checkpoint")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    t = time.perf_counter()
    index, seqs = build(args.devices, args.entries)
    build_s = time.perf_counter() - t
    per_checkpoint = checkpoint_cost(index, seqs, args.batches, args.rounds)
    ingest = asyncio.run(ingest_cost(args.batches))
    ratio = per_checkpoint / ingest
    print(f"index over {args.entries:,} leaves of {args.devices:,} devices: built in "
          f"{build_s:.1f} s, {len(index.tree):,} entries in the tree")  # fmt: skip
    print(
        f"per checkpoint ({args.batches} new batches): index {per_checkpoint * 1e3:.1f} ms, "
        f"ingest of those batches {ingest * 1e3:.0f} ms: ratio {ratio:.3f} (target < 0.10)"
    )
    print(json.dumps({"bench": "index", "devices": args.devices, "entries": args.entries,
                      "batches_per_checkpoint": args.batches,
                      "index_ms_per_checkpoint": round(per_checkpoint * 1e3, 2),
                      "ingest_ms": round(ingest * 1e3, 1), "ratio": round(ratio, 4),
                      "target_met": ratio < 0.10}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
