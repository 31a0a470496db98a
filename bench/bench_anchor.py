"""Anchor gas: the head-keeping contract (version 2) against the event-only one (version 1)
and a version-2 variant that checks the RFC 9162 consistency proof on chain (SHA-256
precompile), at tree sizes 10^3, 10^6 and 10^9, all on one anvil node in the same run.

Each anchor extends a head of size m = n - n/100 (the log grew 1 % since the last anchor)
and is measured in the steady state: the head's storage slots already hold a value (the
first anchor of a contract fills them and is reported apart). A consistency proof for 10^9
leaves comes from a tree whose leaves are all equal: an RFC 9162 subtree's hash then
depends on its size only, so any proof is a few dozen hashes away, and the node checks it
like any other (notary_core.merkle checks it first). Last line of output: one JSON object.

    python bench/bench_anchor.py [--hardfork NAME] [--growth-permille 10]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import HTTPProvider, Web3

from collector.log.anchor_evm import load_artifact
from notary_core import merkle

REPO = Path(__file__).resolve().parent.parent
ANVIL = REPO / "tools" / "node_modules" / ".bin" / "anvil"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
SIZES = (10**3, 10**6, 10**9)
TARGET = 35_000  # issue 11: head-keeping <= 35,000 gas per anchor
LEAF = merkle.hash_leaf(b"vnotary bench leaf")


@cache
def mth(n: int) -> bytes:
    """RFC 9162 §2.1.1 MTH of n equal leaves."""
    if n == 1:
        return LEAF
    k = 1 << ((n - 1).bit_length() - 1)
    return merkle.hash_children(mth(k), mth(n - k))


def subproof(m: int, n: int, whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[0:n], b) over equal leaves (any offset is alike)."""
    if m == n:
        return [] if whole else [mth(n)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, k, whole), mth(n - k)]
    return [*subproof(m - k, n - k, False), mth(k)]


def proof(m: int, n: int) -> list[bytes]:
    p = subproof(m, n, True)
    merkle.verify_consistency(m, n, mth(m), mth(n), p)  # the proof is right before the node sees it
    return p


class Chain:
    def __init__(self, url: str) -> None:
        self.w3 = Web3(HTTPProvider(url, exception_retry_configuration=None))
        self.acct = Account.from_key(DEV_KEY)
        self.nonce = self.w3.eth.get_transaction_count(self.acct.address)

    def _send(self, tx: dict[str, Any]) -> Any:
        tx |= {"from": self.acct.address, "nonce": self.nonce, "gas": 1_000_000}
        self.nonce += 1
        h = self.w3.eth.send_raw_transaction(self.acct.sign_transaction(tx).raw_transaction)
        r = self.w3.eth.wait_for_transaction_receipt(h, timeout=30)
        if r["status"] != 1:
            raise SystemExit(f"transaction reverted: {tx.get('to')}")
        return r

    def deploy(self, name: str) -> Any:
        art = load_artifact(name)
        c = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        r = self._send(c.constructor().build_transaction({"from": self.acct.address}))
        return self.w3.eth.contract(address=r["contractAddress"], abi=art["abi"])

    def gas(self, fn: Any) -> int:
        return int(self._send(fn.build_transaction({"from": self.acct.address}))["gasUsed"])


def measure(chain: Chain, growth_permille: int) -> dict[str, Any]:
    out: dict[str, Any] = {"event_only": {}, "head_keeping": {}, "on_chain_proof": {},
                           "proof_nodes": {}, "head_keeping_first_anchor": {}}  # fmt: skip
    for n in SIZES:
        m = n - max(1, n * growth_permille // 1000)
        v1 = chain.deploy("Anchor")
        out["event_only"][n] = chain.gas(v1.functions.anchor(n, mth(n), mth(m)))
        v2 = chain.deploy("AnchorV2")
        out["head_keeping_first_anchor"][n] = chain.gas(
            v2.functions.anchor(m, mth(m), 0, bytes(32))
        )
        out["head_keeping"][n] = chain.gas(v2.functions.anchor(n, mth(n), m, mth(m)))
        vp = chain.deploy("AnchorV2Proof")
        chain.gas(vp.functions.anchor(m, mth(m), 0, bytes(32), []))
        p = proof(m, n)
        out["proof_nodes"][n] = len(p)
        out["on_chain_proof"][n] = chain.gas(vp.functions.anchor(n, mth(n), m, mth(m), p))
    return out


def start_anvil(hardfork: str | None) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    proc = subprocess.Popen([*cmd, *(["--hardfork", hardfork] if hardfork else [])])
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            Web3(HTTPProvider(url, exception_retry_configuration=None)).eth.chain_id  # noqa: B018
            return proc, url
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("anvil did not start")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hardfork", help="anvil's EVM hardfork (default: the node's latest)")
    ap.add_argument("--growth-permille", type=int, default=10, help="log growth per anchor")
    args = ap.parse_args()
    if not ANVIL.exists():
        print("anvil is not installed: run `make system-deps`", file=sys.stderr)
        return 1
    proc, url = start_anvil(args.hardfork)
    try:
        chain = Chain(url)
        info = chain.w3.provider.make_request("anvil_nodeInfo", [])  # type: ignore[arg-type]
        fork = str(info.get("result", {}).get("hardFork", args.hardfork or "?"))
        g = measure(chain, args.growth_permille)
    finally:
        proc.terminate()
        proc.wait(15)
    print(f"anvil, hardfork {fork}; contracts compiled for shanghai; log grows "
          f"{args.growth_permille / 10:g} % per anchor")  # fmt: skip
    print(f"{'tree size':>14} {'event-only':>11} {'head-keeping':>13} {'+ proof on chain':>17} "
          f"{'proof nodes':>12} {'head/event':>11} {'proof/event':>12}")  # fmt: skip
    for n in SIZES:
        e, h, p = g["event_only"][n], g["head_keeping"][n], g["on_chain_proof"][n]
        print(f"{n:>14,} {e:>11,} {h:>13,} {p:>17,} {g['proof_nodes'][n]:>12} "
              f"{h / e:>10.2f}x {p / e:>11.2f}x")  # fmt: skip
    first = max(g["head_keeping_first_anchor"].values())
    worst = max(g["head_keeping"].values())
    met = worst <= TARGET
    print(f"first anchor of a head-keeping contract (fills its two slots, once): {first:,} gas")
    print(f"head-keeping <= {TARGET:,} gas per anchor: {'met' if met else 'NOT met'} ({worst:,})")
    print(json.dumps({"hardfork": fork, "growth_permille": args.growth_permille, **g,
                      "target_gas": TARGET, "target_met": met}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
