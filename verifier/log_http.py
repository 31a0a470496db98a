"""Fetch an RFC 9162 consistency proof from a collector's log API over HTTP.

`GET {collector}/v1/log/proof/consistency?size1=M&size2=N` answers
`{"size1": M, "size2": N, "proof": ["<hex>", ...]}` (docs/collector.md). The collector is not
trusted: the proof is only read here and checked by the core against the anchored roots, so
a wrong proof fails the bundle and a missing or malformed answer leaves it undecided.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from notary_core import limits
from notary_core.errors import Unreachable

TIMEOUT_S = 10.0
MAX_RESPONSE = 16 * 1024
"""64 nodes of 64 hex digits, quoted, plus the sizes: ~4.5 KiB; the rest is headroom."""

ProofSource = Callable[[int, int], tuple[bytes, ...]]


def consistency_source(collector_url: str, timeout: float = TIMEOUT_S) -> ProofSource:
    """A function (size1, size2) -> proof that asks the collector at `collector_url`."""
    if not collector_url.startswith(("http://", "https://")):
        raise ValueError(f"collector URL must be http(s): {collector_url!r}")
    base = collector_url.rstrip("/")

    def fetch(size1: int, size2: int) -> tuple[bytes, ...]:
        query = urllib.parse.urlencode({"size1": size1, "size2": size2})
        url = f"{base}/v1/log/proof/consistency?{query}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (checked)
                body = resp.read(MAX_RESPONSE + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(f"collector {base} gave no consistency proof: {exc}") from None
        if len(body) > MAX_RESPONSE:
            raise Unreachable(f"collector {base}: consistency proof answer over {MAX_RESPONSE} B")
        return _parse(body, size1, size2, base)

    return fetch


def _parse(body: bytes, size1: int, size2: int, base: str) -> tuple[bytes, ...]:
    try:
        doc: Any = json.loads(body)
        nodes = doc["proof"]
        if doc["size1"] != size1 or doc["size2"] != size2 or not isinstance(nodes, list):
            raise ValueError("not the proof asked for")
        if len(nodes) > limits.MAX_PROOF_NODES:
            raise ValueError(f"{len(nodes)} nodes")
        proof = tuple(bytes.fromhex(n) for n in nodes if isinstance(n, str))
        if len(proof) != len(nodes) or any(len(p) != limits.HASH_SIZE for p in proof):
            raise ValueError("a node is not a 32-byte hash")
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreachable(f"collector {base}: malformed consistency proof ({exc})") from None
    return proof
