"""The verifier's readers with fakes: a version-1 event scan halves the ranges a node refuses
and gives up within its budget; a collector's proof answer is bounded and strictly parsed
(whatever is wrong with it leaves the check undecided, never crashes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from notary_core import anchoring
from notary_core.errors import Unreachable
from verifier import chain_rpc, log_http
from verifier.chain_rpc import JsonRpc, Refused, read_heads

ADDRESS = "0x" + "aa" * 20


def _log(block: int, index: int, size: int, root: bytes) -> dict[str, Any]:
    data = size.to_bytes(32, "big") + bytes(32)
    return {"blockNumber": hex(block), "logIndex": hex(index), "data": "0x" + data.hex(),
            "topics": [chain_rpc.ANCHORED_TOPIC, "0x" + root.hex()]}  # fmt: skip


class FakeNode(JsonRpc):
    """Answers eth_getLogs from a list of logs, refusing ranges wider than `max_span`."""

    def __init__(self, logs: list[dict[str, Any]], max_span: int) -> None:
        super().__init__("http://fake")
        self.logs, self.max_span, self.calls = logs, max_span, 0

    def call(self, method: str, *params: Any) -> Any:
        assert method == "eth_getLogs"
        self.calls += 1
        q = params[0]
        lo, hi = int(q["fromBlock"], 16), int(q["toBlock"], 16)
        if hi - lo + 1 > self.max_span:
            raise Refused("query returned more than 10000 results")
        return [g for g in self.logs if lo <= int(g["blockNumber"], 16) <= hi]


def test_v1_scan_halves_refused_ranges_and_keeps_chain_order() -> None:
    a, b = bytes([1]) * 32, bytes([2]) * 32
    logs = [_log(900, 0, 7, a), _log(10, 3, 5, a), _log(10, 1, 3, b), _log(901, 0, 7, b)]
    node = FakeNode(logs, max_span=100)
    view = read_heads(node, ADDRESS, anchoring.V1, 1000)
    assert view.head == anchoring.Head(7, a) and view.splits == ((7, a, b),)
    assert 1 < node.calls <= chain_rpc.MAX_LOG_REQUESTS


def test_v1_scan_gives_up_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_rpc, "MAX_LOG_REQUESTS", 8)
    node = FakeNode([], max_span=1)
    with pytest.raises(Unreachable, match="over 8 ranges"):
        read_heads(node, ADDRESS, anchoring.V1, 10**6)
    assert node.calls == 8


def test_v1_scan_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_rpc, "MAX_V1_EVENTS", 3)
    logs = [_log(i, 0, i + 1, bytes([i]) * 32) for i in range(5)]
    with pytest.raises(Unreachable, match="too many"):
        read_heads(FakeNode(logs, max_span=10), ADDRESS, anchoring.V1, 10)


def _proof_answer(**changes: Any) -> bytes:
    doc: dict[str, Any] = {"size1": 5, "size2": 9, "proof": ["ab" * 32, "cd" * 32]}
    return json.dumps(doc | changes).encode()


def test_a_good_proof_answer_is_read() -> None:
    got = log_http._parse(_proof_answer(), 5, 9, "c")
    assert got == (bytes([0xAB]) * 32, bytes([0xCD]) * 32)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        _proof_answer(size1=4),  # a proof for other sizes than asked
        _proof_answer(size2=10),
        _proof_answer(proof="ab" * 32),
        _proof_answer(proof=["ab" * 31]),  # a node that is not 32 bytes
        _proof_answer(proof=["zz" * 32]),
        _proof_answer(proof=[7]),
        _proof_answer(proof=["ab" * 32] * 65),  # over notary_core.limits.MAX_PROOF_NODES
    ],
)
def test_a_malformed_proof_answer_is_unreachable_not_a_crash(body: bytes) -> None:
    with pytest.raises(Unreachable, match="malformed consistency proof"):
        log_http._parse(body, 5, 9, "c")


def test_only_http_collectors() -> None:
    with pytest.raises(ValueError, match="http"):
        log_http.consistency_source("file:///etc/passwd")
