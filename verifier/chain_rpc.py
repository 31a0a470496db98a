"""Confirm an anchor on an EVM chain over plain JSON-RPC (no web3: the verifier stays small).

Reads the transaction receipt, finds the anchor contract's `Anchored(bytes32 indexed root,
uint64 size, bytes32 prevRoot)` event with this checkpoint's root and size, checks the
block hash, and counts confirmations (final at N confirmations or at the `finalized` tag).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from notary_core.bundle import AnchorRef
from notary_core.errors import Unreachable
from notary_core.evidence import AnchorLookup, AnchorStatus, Block, BlockLookup

# keccak256("Anchored(bytes32,uint64,bytes32)"), the event's topic 0 (checked in the tests
# against eth_utils; the verifier does not need a Keccak implementation for a constant).
ANCHORED_TOPIC = "0xbea4d11b910aad40d2df2a90d97a3329219b6389f85777c99daad7eb5fafd439"
DEFAULT_CONFIRMATIONS = 12
TIMEOUT_S = 10.0
MAX_RESPONSE = 4 * 1024 * 1024


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
            raise Unreachable(f"chain node refused {method}: {reply['error']}")
        return reply.get("result")


def lookup(rpc: JsonRpc, a: AnchorRef, confirmations: int = DEFAULT_CONFIRMATIONS) -> AnchorStatus:
    chain_id = int(rpc.call("eth_chainId"), 16)
    if chain_id != a.chain_id:
        return AnchorStatus(False, False, 0, False, f"node is chain {chain_id}, not {a.chain_id}")
    receipt = rpc.call("eth_getTransactionReceipt", "0x" + a.tx_hash.hex())
    if not receipt:
        return AnchorStatus(False, False, 0, False, "no such transaction (dropped or reorged?)")
    found = False
    for log in receipt.get("logs", []):
        topics = log.get("topics", [])
        if (
            str(log.get("address", "")).lower() == "0x" + a.contract.hex()
            and len(topics) == 2
            and topics[0] == ANCHORED_TOPIC
            and topics[1] == "0x" + a.root.hex()
        ):
            data = bytes.fromhex(str(log.get("data", ""))[2:])
            found = len(data) == 64 and int.from_bytes(data[:32], "big") == a.tree_size
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
    detail = f"block {block_number} on chain {chain_id}"
    return AnchorStatus(found, hash_ok, depth, final, detail, block_time)


def anchor_lookup(rpc_url: str | None, confirmations: int) -> AnchorLookup | None:
    """The chain check for `verify_bundle`, or None when no RPC URL was given (offline)."""
    if not rpc_url:
        return None
    rpc = JsonRpc(rpc_url)

    def check(a: AnchorRef) -> AnchorStatus:
        return lookup(rpc, a, confirmations)

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
