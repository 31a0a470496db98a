"""httpx backend of `TsaClient`: RFC 3161 §3.4 over HTTP (POST application/timestamp-query,
answer application/timestamp-reply), with a timeout, a bounded answer, and every transport
error wrapped in TsaUnavailable."""

from __future__ import annotations

import httpx

from collector.log.bounded_http import post_bounded
from collector.log.timestamps import TsaClient, TsaUnavailable
from notary_core import limits

MAX_ANSWER = limits.MAX_TSA_TOKEN_SIZE + 1024  # a token and the response's status


class HttpTsa(TsaClient):
    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def stamp(self, query: bytes) -> bytes:
        r, data = await post_bounded(
            self._client, self.url, query, limit=MAX_ANSWER, who="the TSA",
            unavailable=TsaUnavailable, headers={"content-type": "application/timestamp-query"},
        )  # fmt: skip
        if r.status_code != 200:
            raise TsaUnavailable(f"{self.url} answered HTTP {r.status_code}")
        if r.headers.get("content-type", "").split(";")[0].strip() != "application/timestamp-reply":
            raise TsaUnavailable(f"{self.url} answered {r.headers.get('content-type')!r}")
        return data

    async def close(self) -> None:
        await self._client.aclose()
