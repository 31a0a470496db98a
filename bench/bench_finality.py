"""Time to final (issue 18): the running collector (checkpoint, anchoring tasks of
`collector.service.Collector`) against an anvil node mining a block every `--block-time`
seconds, with a steady load of batches stored into its log. For each batch: stored ->
checkpointed (the signed checkpoint that covers it) -> cosigned (published with the quorum
of `--witnesses` real `vnotary witness serve` processes; = checkpointed without) ->
anchored (the collector saw the anchor covering it mined) -> final (the collector marked
it final after N confirmations), as p50/p95 over the batches, with the bound of issue 18:
p95(final - stored) <= interval + confirmations x block time + 10 s.

"Stored" is the batch leaf committed to the store (what the ingest pipeline ends in;
ingest itself is `bench_collector.py`). Last line of output: one JSON object.

    python bench/bench_finality.py [--interval 2] [--confirmations 12] [--block-time 1]
                                   [--duration 40] [--every 0.5] [--witnesses 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.log.anchor import Anchorer
from collector.log.anchor_evm import EvmAnchor, deploy
from collector.log.checkpoints import CheckpointSigner, WitnessPolicy
from collector.log.leaves import batch_leaf
from collector.log.witnesses import Witnessing
from collector.service import Collector
from collector.settings import AnchorSettings, Settings, WitnessSettings
from collector.store.base import AnchorRow, Store
from collector.store.open import open_store
from notary_core import cose
from notary_core.checkpoint import NoteSigner
from vnotary_cli.demo.stack import free_port as _free_port
from witness.config import WitnessConfig
from witness.config import write_key as write_witness_key

REPO = Path(__file__).resolve().parent.parent
ANVIL = REPO / "tools" / "node_modules" / ".bin" / "anvil"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ORIGIN = "bench.test/log"


@contextlib.contextmanager
def anvil(block_time: float) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent",
           "--block-time", str(block_time)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
        for _ in range(400):
            with contextlib.suppress(OSError):
                req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=2).read()
                break
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


class Observer:
    """Polls the store as an operator's monitor would: when each checkpoint was signed,
    when each anchor was first seen mined, and when final."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.signed: dict[int, int] = {}
        self.cosigned: dict[int, int] = {}
        self.anchored: dict[int, int] = {}
        self.final: dict[int, int] = {}

    async def run(self) -> None:
        while True:
            now = time.time_ns()
            cp = await self.store.latest_checkpoint()
            if cp is not None:
                self.signed.setdefault(cp.size, cp.signed_utc_ns)
            pub = await self.store.latest_published_checkpoint()
            if pub is not None:
                self.cosigned.setdefault(pub.size, pub.signed_utc_ns)  # its publication time
            for r in await self.store.anchors():
                if r.block_number is not None:
                    self.anchored.setdefault(r.size, now)
                if r.status == "final":
                    self.final.setdefault(r.size, now)
            await asyncio.sleep(0.05)


def _first(times: dict[int, int], index: int) -> int | None:
    """The earliest time of an entry of size > index (one that covers leaf `index`)."""
    covering = [t for size, t in times.items() if size > index]
    return min(covering) if covering else None


def _pct(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return {"p50": round(statistics.median(xs), 2), "p95": round(p95, 2)}


@contextlib.contextmanager
def witness_servers(tmp: Path, n: int, log_vkey: str) -> Iterator[list[tuple[str, str]]]:
    """n `vnotary witness serve` processes pinning our log key: [(url, witness vkey)]."""
    exe = Path(sys.executable).parent / "vnotary"
    procs, out = [], []
    try:
        for i in range(n):
            d = tmp / f"w{i}"
            d.mkdir()
            write_witness_key(d / "witness.key")
            cfg = d / "witness.toml"
            cfg.write_text(f'name = "bench.test/w{i}"\nkey_file = "witness.key"\n'
                           f'db = "witness.db"\n\n[[log]]\norigin = "{ORIGIN}"\n'
                           f'vkeys = ["{log_vkey}"]\n')  # fmt: skip
            port = _free_port()
            procs.append(subprocess.Popen(
                [str(exe), "witness", "serve", "--config", str(cfg), "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
            out.append((f"http://127.0.0.1:{port}", WitnessConfig.load(cfg).signer().verifier.vkey))
            for _ in range(600):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
        yield out
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


async def run(
    args: argparse.Namespace, url: str, tmp: Path, key: ed25519.Ed25519PrivateKey,
    witnesses: list[tuple[str, str]],
) -> dict[str, object]:  # fmt: skip
    address = await deploy(url, DEV_KEY)
    backend = await EvmAnchor.connect(url, DEV_KEY, address)
    store = await open_store(f"sqlite:///{tmp / 'c.db'}")
    anchor = AnchorSettings(
        rpc_url=url, contract=address, key_file=str(tmp / "unused.key"),
        interval_s=args.interval, confirmations=args.confirmations, poll_s=args.block_time,
    )  # fmt: skip
    settings = Settings(
        store="sqlite:///unused.db", key_file="unused.key", origin=ORIGIN, anchor=anchor,
        witness=tuple(WitnessSettings(url=u, vkey=v) for u, v in witnesses),
        witness_quorum=len(witnesses),
    )  # fmt: skip
    clients = settings.witness_clients()
    policy = WitnessPolicy(settings.witness_verifiers(), len(witnesses))
    signer = CheckpointSigner(store, NoteSigner("bench.test", key), ORIGIN, None, policy)
    c = Collector(settings, store, Ingestor(store, cose.Signer.from_key(key)), signer)
    c.anchorer = Anchorer(store, backend, args.confirmations)
    if clients:
        c.witnessing = Witnessing(store, list(clients), len(clients))
    obs = Observer(store)
    stored: list[tuple[int, int]] = []  # (leaf index, stored ns)
    tasks = [asyncio.create_task(c.run()), asyncio.create_task(obs.run())]
    try:
        end = time.monotonic() + args.duration
        i = 0
        while time.monotonic() < end:
            leaf = batch_leaf(hashlib.sha256(b"batch %d" % i).digest())
            index = await store.log_size()
            await store.append_leaves([leaf], time.time_ns())
            stored.append((index, time.time_ns()))
            i += 1
            await asyncio.sleep(args.every)
        limit = args.interval * 2 + args.confirmations * args.block_time + 60
        deadline = time.monotonic() + limit
        while _first(obs.final, stored[-1][0]) is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"the last batch was not final within {limit} s")
            await asyncio.sleep(0.1)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in clients:
            await client.close()
        await backend.close()
        await store.close()
    stages: dict[str, list[float]] = {k: [] for k in ("checkpointed", "cosigned", "anchored",
                                                      "final")}  # fmt: skip
    for index, at_stored in stored:
        for name, times in (("checkpointed", obs.signed), ("cosigned", obs.cosigned),
                            ("anchored", obs.anchored), ("final", obs.final)):  # fmt: skip
            at = _first(times, index)
            assert at is not None, (name, index)
            stages[name].append((at - at_stored) / 1e9)
    bound = args.interval + args.confirmations * args.block_time + 10
    p95 = _pct(stages["final"])["p95"]
    anchors = [r for r in await _reopen(tmp) if r.tx_hash is not None]
    return {
        "interval_s": args.interval,
        "confirmations": args.confirmations,
        "block_time_s": args.block_time,
        "witnesses": len(witnesses),
        "batches": len(stored),
        "anchors_sent": len(anchors),
        **{f"stored_to_{k}_s": _pct(v) for k, v in stages.items()},
        "bound_s": bound,
        "p95_over_bound": round(p95 / bound, 2),
        "within_bound": p95 <= bound,
    }


async def _reopen(tmp: Path) -> list[AnchorRow]:
    async with await open_store(f"sqlite:///{tmp / 'c.db'}") as s:
        return await s.anchors()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=2.0, help="anchor interval (rate limit), s")
    ap.add_argument("--confirmations", type=int, default=12)
    ap.add_argument("--block-time", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=40.0, help="seconds of load")
    ap.add_argument("--every", type=float, default=0.5, help="one batch stored every N s")
    ap.add_argument("--witnesses", type=int, default=0, help="witness processes (the quorum)")
    args = ap.parse_args()
    key = ed25519.Ed25519PrivateKey.generate()
    vkey = NoteSigner("bench.test", key).verifier.vkey
    with (
        tempfile.TemporaryDirectory(prefix="vn-finality-") as d,
        anvil(args.block_time) as url,
        witness_servers(Path(d), args.witnesses, vkey) as witnesses,
    ):
        out = asyncio.run(run(args, url, Path(d), key, witnesses))
    for k, v in out.items():
        print(f"{k:>26}: {v}")
    print(json.dumps(out))
    return 0 if out["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
