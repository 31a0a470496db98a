#!/usr/bin/env python3
"""Benchmark of the core's hot path: canonical encoding and the salted Merkle root.

Builds the root over 100,000 real CAN records (the comma2k19 RAV4 trace) and compares, in
the same run and on the same leaf data:
  - pymerkle's InmemoryTree (RFC 9162 shaped, so its root must equal ours with salts off);
  - the bare floor: 2n SHA-256 calls of the same inputs (no tree, no salt, no Python logic).
Targets (issue 2): at least 5x faster than pymerkle, within 3x of the bare floor.

    .venv/bin/python bench/bench_core.py [--records N] [--repeat K]

Prints the figures and ratios; the last line is one JSON object with all of them.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import can
from pymerkle import InmemoryTree

from notary_core import batch, merkle
from notary_core import records as r

TRACE = "can/comma2k19_toyota_rav4_seg40_reconstructed.log.gz"


def data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data"


def load_frames(n: int) -> list[can.Message]:
    frames: list[can.Message] = []
    with can.LogReader(str(data_dir() / TRACE)) as reader:
        for msg in reader:
            frames.append(msg)
    while len(frames) < n:  # the trace has 135,408 frames; repeat it if more are asked for
        frames.extend(frames[: n - len(frames)])
    return frames[:n]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Fastest of `repeat` runs: the least disturbed by a noisy shared machine."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def encode_all(frames: list[can.Message]) -> list[bytes]:
    encoders: dict[str, r.CanEncoder] = {}
    out = []
    for seq, m in enumerate(frames):
        channel = str(m.channel)
        enc = encoders.get(channel)
        if enc is None:
            enc = encoders[channel] = r.CanEncoder(channel, r.ClockSource.REPLAY)
        ts = int(m.timestamp * 1e9)
        flags = r.CanFlags.EXT if m.is_extended_id else 0
        out.append(enc.encode(seq, ts, ts, m.arbitration_id, flags, m.dlc, bytes(m.data)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="notary_core Merkle/encoding benchmark")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.records

    print(f"loading {n} real CAN frames from {TRACE} ...", flush=True)
    frames = load_frames(n)
    recs = encode_all(frames)
    key = os.urandom(32)

    def salted() -> bytes:
        return batch.merkle_root(key, recs)

    def unsalted() -> bytes:
        return merkle.root_from_leaf_hashes([merkle.hash_leaf(x) for x in recs])

    def floor() -> None:
        sha = hashlib.sha256
        for x in recs:
            sha(x).digest()
            sha(x).digest()

    def peer_append() -> bytes:
        tree = InmemoryTree(algorithm="sha256")
        for x in recs:
            tree.append_entry(x)
        return bytes(tree.get_root())

    def peer_bulk() -> bytes:
        return bytes(InmemoryTree.init_from_entries(recs, algorithm="sha256").get_root())

    roots_agree = peer_append() == unsalted() == peer_bulk()
    print("timing ours, the floor and pymerkle (both of its APIs), interleaved ...", flush=True)
    contenders = {
        "encode": lambda: encode_all(frames),
        "salted": salted,
        "unsalted": unsalted,
        "floor": floor,
        "peer_append": peer_append,
        "peer_bulk": peer_bulk,
    }
    # Interleaved rounds, best of each: a burst of load on this shared machine then hurts
    # every contender of that round alike instead of one of them.
    best = {name: float("inf") for name in contenders}
    for _ in range(args.repeat):
        for name, fn in contenders.items():
            best[name] = min(best[name], best_of(1, fn))
    t_encode, t_ours, t_ours_unsalted, t_floor = (
        best["encode"],
        best["salted"],
        best["unsalted"],
        best["floor"],
    )
    # The peer is credited with whichever of its APIs is faster in this run.
    t_peer = min(best["peer_append"], best["peer_bulk"])

    figures = {
        "records": n,
        "encode_records_per_s": round(n / t_encode),
        "salted_root_s": round(t_ours, 4),
        "salted_root_records_per_s": round(n / t_ours),
        "unsalted_root_s": round(t_ours_unsalted, 4),
        "pymerkle_root_s": round(t_peer, 4),
        "bare_floor_2n_sha256_s": round(t_floor, 4),
        "speedup_vs_pymerkle": round(t_peer / t_ours, 1),
        "ratio_to_floor": round(t_ours / t_floor, 2),
        "roots_agree_unsalted": roots_agree,
        "target_speedup_vs_pymerkle": 5.0,
        "target_ratio_to_floor": 3.0,
    }
    figures["meets_targets"] = bool(
        roots_agree
        and figures["speedup_vs_pymerkle"] >= 5.0  # type: ignore[operator]
        and figures["ratio_to_floor"] <= 3.0  # type: ignore[operator]
    )
    print(f"canonical encoding:        {figures['encode_records_per_s']:>12,} records/s")
    print(f"salted root (ours):        {t_ours * 1e3:>12.1f} ms  ({n / t_ours:,.0f} records/s)")
    print(f"unsalted root (ours):      {t_ours_unsalted * 1e3:>12.1f} ms")
    print(f"pymerkle InmemoryTree:     {t_peer * 1e3:>12.1f} ms")
    print(f"bare floor, 2n SHA-256:    {t_floor * 1e3:>12.1f} ms")
    print(f"speed-up vs pymerkle:      {figures['speedup_vs_pymerkle']:>12}x (target >= 5x)")
    print(f"ratio to the bare floor:   {figures['ratio_to_floor']:>12}x (target <= 3x)")
    print(f"roots agree (salts off):   {roots_agree!s:>12}")
    print(f"best of {args.repeat} runs each (shared machine: single runs vary up to 2x)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
