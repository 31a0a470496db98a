"""Collector benchmark: verified ingest vs the bare hashing floor, log appends, proofs, gas.

Ingest runs real CAN records (comma2k19, data/) sealed in 1,000-record batches
through decode -> verify -> store (SQLite WAL, synchronous=FULL) on one core, in groups of
`--group` batches per transaction as the MQTT shell forms them under load; the peer is the
bare floor of the same run: HMAC salt + leaf SHA-256 of the same records. The same batches
are ingested again in compressed envelopes (docs/protocol.md §5.1), beside the bare ones.
Last line of output: one JSON object.

    python bench/bench_collector.py [--batches 100] [--log-size 1000000] [--no-chain]
                                    [--group 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from collector import limits
from collector.ingest.pipeline import Ingestor
from collector.log.anchor_evm import EvmAnchor, deploy
from collector.log.checkpoints import checkpoint_now
from collector.log.leaves import batch_leaf
from collector.store.base import Store
from collector.store.open import open_store
from notary_core import cose, envelope
from notary_core.batch import leaf_hashes, seal
from notary_core.checkpoint import NoteSigner
from notary_core.header import GENESIS_PREV_HASH, BatchHeader, StreamCounters
from notary_core.records import CanEncoder, CanFlags, ClockSource

REPO = Path(__file__).resolve().parent.parent
TRACE = REPO / "data" / "can" / "comma2k19_toyota_rav4_seg40_reconstructed.log.gz"
ANVIL = REPO / "tools" / "node_modules" / ".bin" / "anvil"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
T0 = 1_700_000_000_000_000_000


def load_records(n: int) -> list[bytes]:
    enc = CanEncoder("can0", ClockSource.REPLAY)
    out = []
    with gzip.open(TRACE, "rt", encoding="ascii") as f:
        for seq, line in enumerate(f):
            if seq >= n:
                break
            ts, _bus, frame = line.split()
            can_id, data_hex = frame.split("#")
            data = bytes.fromhex(data_hex)
            t = int(float(ts.strip("()")) * 1e9)
            flags = CanFlags.EXT if len(can_id) > 3 else 0
            out.append(enc.encode(seq, t, T0 + t, int(can_id, 16), flags, len(data), data))
    return out


def seal_batches(
    records: list[bytes], per: int, signer: cose.Signer
) -> list[tuple[bytes, list[bytes], bytes]]:
    out, prev = [], GENESIS_PREV_HASH
    for seq, i in enumerate(range(0, len(records), per)):
        chunk = records[i : i + per]
        tmpl = BatchHeader(
            "veh-bench",
            bytes(16),
            seq,
            prev,
            0,
            bytes(32),
            seq,
            seq + 1,
            T0 + seq * 10**9,
            T0 + seq * 10**9 + 1,
            ClockSource.REPLAY,
            0,
            {"can0": StreamCounters(len(chunk), len(chunk))},
            "bench/1",
            bytes(32),
            b"",
        )
        key = os.urandom(32)
        sealed = seal(tmpl, chunk, key, signer)
        prev = sealed.signed.header_hash
        out.append((sealed.to_bytes(), chunk, key))
    return out


async def bench_ingest(
    tmp: Path,
    batches: list[tuple[bytes, list[bytes], bytes]],
    dev: cose.Signer,
    group: int,
    repeat: int,
) -> dict[str, float]:
    """Floor and ingest alternate `repeat` times; the best of each is kept (the VM is shared
    and noisy: the best run is the least disturbed one)."""
    collector = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    topic = "vn/v1/dev/veh-bench/batch"
    floor_s = ingest_s = envelope_s = float("inf")
    bare = [b[0] for b in batches]
    wired = [envelope.wrap(p) for p in bare]  # as agents send them (protocol §5.1)

    async def ingest(name: str, payloads: list[bytes]) -> float:
        async with await open_store(f"sqlite:///{tmp / name}") as store:
            await store.add_device_key("veh-bench", dev.public.spki(), dev.kid, 0, None, 0)
            ingestor = Ingestor(store, collector)
            # As MqttIngest.run under load: a group is what is queued, <= GROUP_MAX_BATCHES.
            t = time.perf_counter()
            for i in range(0, len(payloads), group):
                msgs = [(topic, p) for p in payloads[i : i + group]]
                outs = await ingestor.ingest_group(msgs, T0)
                assert all(o.status == "stored" for o in outs), outs
            return time.perf_counter() - t

    for r in range(repeat):
        t = time.perf_counter()
        for _payload, chunk, key in batches:
            leaf_hashes(key, chunk)
        floor_s = min(floor_s, time.perf_counter() - t)
        ingest_s = min(ingest_s, await ingest(f"ingest{r}.db", bare))
        envelope_s = min(envelope_s, await ingest(f"envelope{r}.db", wired))
    n = sum(len(c) for _p, c, _k in batches)
    return {
        "records": n,
        "group": group,
        "floor_records_per_s": n / floor_s,
        "ingest_records_per_s": n / ingest_s,
        "ingest_batches_per_s": len(batches) / ingest_s,
        "ratio_to_floor": floor_s / ingest_s,
        "ingest_envelope_records_per_s": n / envelope_s,
        "envelope_cost_ratio": envelope_s / ingest_s,
        "envelope_bytes_ratio": sum(map(len, bare)) / sum(map(len, wired)),
    }


async def _appends(store: Store, leaves: list[bytes], per_tx: int, signer: NoteSigner) -> float:
    """Entries/s appending `per_tx` entries per transaction, checkpoint every 1,000."""
    t = time.perf_counter()
    base = await store.log_size()
    for i in range(0, len(leaves), per_tx):
        await store.append_leaves(leaves[i : i + per_tx], i)
        if (base + i + per_tx) // 1000 > (base + i) // 1000:
            await checkpoint_now(store, signer, "bench/log", i)
    return len(leaves) / (time.perf_counter() - t)


async def bench_log(tmp: Path, size: int, group: int) -> dict[str, float]:
    signer = NoteSigner("bench", ed25519.Ed25519PrivateKey.generate())
    leaves = [batch_leaf(hashlib.sha256(i.to_bytes(8, "big")).digest()) for i in range(size)]
    async with await open_store(f"sqlite:///{tmp / 'log.db'}") as store:
        n1 = min(2000, size // 4)
        # One fsync'd transaction per entry (ingest before group commit), then groups of
        # `group` (ingest's group commit under load, GROUP_MAX_BATCHES); both checkpointed.
        single = await _appends(store, leaves[:n1], 1, signer)
        grouped = await _appends(store, leaves[n1 : 4 * n1], group, signer)
        t = time.perf_counter()
        for i in range(4 * n1, size, 10_000):
            await store.append_leaves(leaves[i : i + 10_000], i)
        bulk = (size - 4 * n1) / max(time.perf_counter() - t, 1e-9)
        await checkpoint_now(store, signer, "bench/log", size)
        t = time.perf_counter()
        reps = 200
        for k in range(reps):
            await store.inclusion_proof((k * 7919) % size, size)
        incl_ms = (time.perf_counter() - t) / reps * 1000
        t = time.perf_counter()
        for k in range(reps):
            await store.consistency_proof(1 + (k * 7919) % (size - 1), size)
        cons_ms = (time.perf_counter() - t) / reps * 1000
    return {
        "log_size": size,
        "log_appends_per_s_one_per_tx_with_checkpoints": single,
        "log_appends_per_s_grouped_with_checkpoints": grouped,
        "log_appends_per_s_bulk": bulk,
        "inclusion_proof_ms": incl_ms,
        "consistency_proof_ms": cons_ms,
    }


async def bench_gas(tmp: Path) -> int | None:
    if not ANVIL.exists():
        return None
    port_probe = __import__("socket").socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    proc = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                address = await deploy(url, DEV_KEY)
                break
            except Exception:
                await asyncio.sleep(0.1)
        backend = await EvmAnchor.connect(url, DEV_KEY, address)
        try:
            # Version 2 in the steady state: the head's slots hold the previous anchor
            # (bench/bench_anchor.py measures all three contracts against each other).
            prev = os.urandom(32)
            await backend.send(990_000, prev, 0, bytes(32))
            tx = await backend.send(1_000_000, os.urandom(32), 990_000, prev)
            return await backend.gas_used(tx)
        finally:
            await backend.close()
    finally:
        proc.terminate()
        proc.wait(10)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--log-size", type=int, default=1_000_000)
    ap.add_argument("--no-chain", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of floor + ingest (best kept)")
    ap.add_argument(
        "--group", type=int, default=limits.GROUP_MAX_BATCHES, help="batches per transaction"
    )
    args = ap.parse_args()
    dev = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    records = load_records(args.batches * 1000)
    batches = seal_batches(records, 1000, dev)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ing = await bench_ingest(tmp, batches, dev, args.group, args.repeat)
        print(f"floor (HMAC salt + leaf SHA-256): {ing['floor_records_per_s']:,.0f} records/s")
        print(
            f"ingest decode+verify+store:      {ing['ingest_records_per_s']:,.0f} records/s, "
            f"{ing['ingest_batches_per_s']:,.1f} batches/s, "
            f"ratio to floor {ing['ratio_to_floor']:.2f} ({args.group} batches per transaction)"
        )
        print(
            f"ingest of the same batches in compressed envelopes (§5.1, "
            f"{ing['envelope_bytes_ratio']:.2f}x fewer bytes): "
            f"{ing['ingest_envelope_records_per_s']:,.0f} records/s, "
            f"cost ratio to bare {ing['envelope_cost_ratio']:.3f}"
        )
        lg = await bench_log(tmp, args.log_size, args.group)
        print(
            f"log appends with a checkpoint every 1,000: 1 per tx "
            f"{lg['log_appends_per_s_one_per_tx_with_checkpoints']:,.0f}/s; {args.group} per tx "
            f"{lg['log_appends_per_s_grouped_with_checkpoints']:,.0f}/s; bulk (10,000 per tx) "
            f"{lg['log_appends_per_s_bulk']:,.0f}/s"
        )
        print(
            f"proofs at {args.log_size:,} entries: inclusion {lg['inclusion_proof_ms']:.2f} ms, "
            f"consistency {lg['consistency_proof_ms']:.2f} ms"
        )
        gas = None if args.no_chain else await bench_gas(tmp)
        print(f"gas per anchor: {gas}")
    print(json.dumps({**ing, **lg, "gas_per_anchor": gas}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
