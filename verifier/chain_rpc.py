"""Confirm an anchor on an EVM chain over plain JSON-RPC (no web3: the verifier stays small).

Identifies the contract by its code (notary_core.anchoring: version 1 event-only, version 2
head-keeping), finds the `Anchored` event with this checkpoint's size and root in the
transaction's receipt, checks the block hash, counts confirmations (final at N or at the
`finalized` tag), and reads the contract's chain of heads: version 2's `head()`, or every
event of a version-1 contract (where a second root for one size can hide). When a newer
head is anchored, a consistency proof to it is fetched from the collector, if one was named.
The decisions are the core's (notary_core.anchoring.append_only); this module only reads.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any

from notary_core import anchoring
from notary_core.bundle import AnchorRef
from notary_core.errors import Unreachable
from notary_core.evidence import AnchorLookup, AnchorStatus, Block, BlockLookup
from verifier.log_http import ProofSource, consistency_source

ANCHORED_TOPIC = "0x" + anchoring.ANCHORED_V1_TOPIC.hex()  # version 1's event (kept name)
DEFAULT_CONFIRMATIONS = 12
TIMEOUT_S = 10.0
MAX_RESPONSE = 4 * 1024 * 1024
MAX_V1_EVENTS = 250_000
"""A version-1 contract is read event by event (~6 months of anchors at one a minute);
past this the split-view check stays undecided: such a log should move to version 2."""
MAX_LOG_REQUESTS = 256
"""eth_getLogs calls for one version-1 scan; a range the node refuses is halved."""


class Refused(Unreachable):
    """The node answered with a JSON-RPC error (a range too wide, a method it lacks)."""


class JsonRpc:
    def __init__(self, url: str, timeout: float = TIMEOUT_S) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"RPC URL must be http(s): {url!r}")
        self.url = url
        self.timeout = timeout
        self._id = 0

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        req = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url, body.encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                reply = json.loads(resp.read(MAX_RESPONSE))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(f"chain node {self.url} did not answer {method}: {exc}") from None
        if "error" in reply:
            raise Refused(f"chain node refused {method}: {reply['error']}")
        return reply.get("result")


def _hex(value: Any) -> bytes:
    return bytes.fromhex(str(value).removeprefix("0x"))


def _event(version: int, log: dict[str, Any]) -> anchoring.Event:
    return anchoring.decode_event(version, [_hex(t) for t in log["topics"]], _hex(log["data"]))


def lookup(
    rpc: JsonRpc,
    a: AnchorRef,
    confirmations: int = DEFAULT_CONFIRMATIONS,
    proofs: ProofSource | None = None,
) -> AnchorStatus:
    chain_id = int(rpc.call("eth_chainId"), 16)
    if chain_id != a.chain_id:
        return AnchorStatus(False, False, 0, False, f"node is chain {chain_id}, not {a.chain_id}")
    address = "0x" + a.contract.hex()
    contract = anchoring.identify(_hex(rpc.call("eth_getCode", address, "latest")))
    receipt = rpc.call("eth_getTransactionReceipt", "0x" + a.tx_hash.hex())
    if not receipt:
        return AnchorStatus(False, False, 0, False, "no such transaction (dropped or reorged?)")
    found = contract.version != 0 and _carries(receipt, address, contract.version, a)
    block_number = int(receipt["blockNumber"], 16)
    block = rpc.call("eth_getBlockByNumber", hex(block_number), False) or {}
    hash_ok = (
        receipt.get("blockHash") == block.get("hash") == "0x" + a.block_hash.hex()
        and block_number == a.block_number
    )
    block_time = int(block["timestamp"], 16) if "timestamp" in block else None
    head = int(rpc.call("eth_blockNumber"), 16)
    depth = head - block_number + 1
    finalized = rpc.call("eth_getBlockByNumber", "finalized", False)
    final = depth >= confirmations or (
        finalized is not None and int(finalized["number"], 16) >= block_number
    )
    kind = {1: "event-only", 2: "head-keeping"}.get(contract.version, "unknown code")
    detail = f"block {block_number} on chain {chain_id}, contract version {contract.version} "
    status = AnchorStatus(found, hash_ok, depth, final, detail + f"({kind})", block_time)
    if not contract.version:
        return replace(status, chain=anchoring.ChainView(0, anchoring.GENESIS))
    return _with_heads(rpc, status, a, address, contract.version, head, proofs)


def _carries(receipt: dict[str, Any], address: str, version: int, a: AnchorRef) -> bool:
    """The receipt holds our contract's Anchored event with exactly this size and root."""
    topic = "0x" + anchoring.TOPICS[version].hex()
    for log in receipt.get("logs", []):
        if str(log.get("address", "")).lower() == address and log.get("topics", [])[:1] == [topic]:
            e = _event(version, log)
            if (e.size, e.root) == (a.tree_size, a.root):
                return True
    return False


def _with_heads(
    rpc: JsonRpc, status: AnchorStatus, a: AnchorRef, address: str, version: int,
    latest: int, proofs: ProofSource | None,
) -> AnchorStatus:  # fmt: skip
    """`status` with the contract's chain of heads and, for a newer head, the proof to it."""
    try:
        view = read_heads(rpc, address, version, latest)
    except Unreachable as exc:
        return replace(status, chain_detail=exc.message)
    proof, why = None, ""
    if view.head.size > a.tree_size:
        if proofs is None:
            why = "name the collector (--collector URL) to fetch a consistency proof"
        else:
            try:
                proof = proofs(a.tree_size, view.head.size)
            except Unreachable as exc:
                why = exc.message
    return replace(status, chain=view, consistency=proof, chain_detail=why)


def read_heads(rpc: JsonRpc, address: str, version: int, latest: int) -> anchoring.ChainView:
    """The contract's anchored heads at block `latest`: version 2 answers `head()`; a
    version-1 contract is read event by event, so that a split view cannot hide."""
    if version == anchoring.V2:
        call = {"to": address, "data": "0x" + anchoring.HEAD_SELECTOR.hex()}
        head = anchoring.decode_head(_hex(rpc.call("eth_call", call, hex(latest))))
        return anchoring.ChainView(anchoring.V2, head)
    logs: list[dict[str, Any]] = []
    budget = [MAX_LOG_REQUESTS]
    _logs(rpc, address, 0, latest, logs, budget)
    logs.sort(key=lambda g: (int(g["blockNumber"], 16), int(g["logIndex"], 16)))
    return anchoring.view_v1(_event(version, g) for g in logs if not g.get("removed"))


def _logs(
    rpc: JsonRpc, address: str, lo: int, hi: int, out: list[dict[str, Any]], budget: list[int]
) -> None:
    """Every Anchored log of [lo, hi], halving a range the node refuses (public endpoints
    cap eth_getLogs ranges or result counts)."""
    if budget[0] <= 0:
        raise Unreachable(f"the node refused eth_getLogs over {MAX_LOG_REQUESTS} ranges")
    budget[0] -= 1
    query = {"address": address, "fromBlock": hex(lo), "toBlock": hex(hi),
             "topics": [ANCHORED_TOPIC]}  # fmt: skip
    try:
        got = rpc.call("eth_getLogs", query)
    except Refused:
        if lo == hi:
            raise
        mid = (lo + hi) // 2
        _logs(rpc, address, lo, mid, out, budget)
        _logs(rpc, address, mid + 1, hi, out, budget)
        return
    out.extend(got or [])
    if len(out) > MAX_V1_EVENTS:
        raise Unreachable(f"over {MAX_V1_EVENTS} version-1 anchors: too many to check")


def anchor_lookup(
    rpc_url: str | None, confirmations: int, collector_url: str | None = None
) -> AnchorLookup | None:
    """The chain check for `verify_bundle`, or None when no RPC URL was given (offline).
    `collector_url`: where consistency proofs to a newer anchored head are fetched."""
    if not rpc_url:
        return None
    rpc = JsonRpc(rpc_url)
    proofs = consistency_source(collector_url) if collector_url else None

    def check(a: AnchorRef) -> AnchorStatus:
        return lookup(rpc, a, confirmations, proofs)

    return check


def block_lookup(rpc_url: str | None) -> BlockLookup | None:
    """The beacon check for `verify_bundle` (time.beacon, §12.3): a block by chain and number,
    or None offline. A node of another chain cannot tell: Unreachable, never a verdict."""
    if not rpc_url:
        return None
    rpc = JsonRpc(rpc_url)

    def check(chain_id: int, number: int) -> Block | None:
        node_chain = int(rpc.call("eth_chainId"), 16)
        if node_chain != chain_id:
            raise Unreachable(f"the node at {rpc_url} is chain {node_chain}, not {chain_id}")
        block = rpc.call("eth_getBlockByNumber", hex(number), False)
        if not block:
            return None
        try:
            return Block(bytes.fromhex(str(block["hash"])[2:]), int(block["timestamp"], 16))
        except (KeyError, TypeError, ValueError) as exc:
            raise Unreachable(f"the node's block {number} is unreadable: {exc}") from None

    return check
