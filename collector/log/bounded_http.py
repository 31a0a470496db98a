"""One bounded HTTP POST for the log's outside services (witnesses, TSAs): the answer is
read in chunks and refused past a limit, and every transport error becomes the caller's
"unavailable" exception with a one-line reason (the caller retries later)."""

from __future__ import annotations

import httpx


async def post_bounded(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    limit: int,
    who: str,
    unavailable: type[Exception],
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, bytes]:
    """POST `body` to `url`; the response (status, headers) and at most `limit` bytes of it."""
    try:
        async with client.stream("POST", url, content=body, headers=headers) as r:
            data = bytearray()
            async for chunk in r.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise unavailable(f"{who}: answer over {limit} bytes")
    except httpx.HTTPError as exc:
        raise unavailable(f"{who} at {url}: {type(exc).__name__}: {exc}"[:300]) from None
    return r, bytes(data)
