"""httpx backend of `WitnessClient`: POST <url>/add-checkpoint with keep-alive (tlog-witness
asks for it), a timeout, a bounded answer, and every transport error wrapped."""

from __future__ import annotations

import httpx

from collector.log.bounded_http import post_bounded
from collector.log.witnesses import Reply, WitnessClient, WitnessUnavailable
from notary_core import limits
from notary_core.witness import WitnessVerifier

MAX_ANSWER = limits.MAX_CHECKPOINT_SIZE  # 16 cosignature lines fit many times over


class HttpWitness(WitnessClient):
    def __init__(self, url: str, verifier: WitnessVerifier, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/") + "/add-checkpoint"
        self.verifier = verifier
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def add_checkpoint(self, body: bytes) -> Reply:
        r, data = await post_bounded(
            self._client, self.url, body, limit=MAX_ANSWER, who=self.name,
            unavailable=WitnessUnavailable,
        )  # fmt: skip
        if r.status_code >= 500:
            raise WitnessUnavailable(f"{self.name} answered {r.status_code}")
        return Reply(r.status_code, r.headers.get("content-type", ""), data)

    async def close(self) -> None:
        await self._client.aclose()
