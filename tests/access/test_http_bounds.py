"""The API under real uvicorn (`vnotary collector serve`) bounds what one party can make it
do (issue 16 §2): chunked bodies are cut off at the limit unread, oversize headers are
refused, a party's signed requests are rate limited, and a heavy read page does not stall
`/healthz`."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector import limits
from collector.api.signatures import sign_request
from tests.access.world import ORIGIN, VEHICLE, World, raw_pub, world
from tests.infra.mqtt_broker import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
VNOTARY = Path(sys.executable).parent / "vnotary"
BURST, RATE = 20, 1.0


@dataclass
class Served:
    w: World
    url: str
    port: int

    async def call(self, who: str, method: str, path: str, body: Any = None) -> httpx.Response:
        data = b"" if body is None else json.dumps(body).encode()
        h = {"content-type": "application/json"} if body is not None else {}
        h |= sign_request(method, self.url + path, self.w.keys[who], int(time.time()), data)
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as c:
            return await c.request(method, path, content=data, headers=h)


@asynccontextmanager
async def served(tmp_path: Path, shared_data: Path, n_batches: int = 4) -> AsyncIterator[Served]:
    """The world's store and keys behind a `vnotary collector serve` process."""
    async with world(tmp_path, shared_data, n_batches=n_batches) as w:
        cfg = tmp_path / "serve.toml"
        cfg.write_text(
            f'store = "{w.settings.store}"\nkey_file = "{w.settings.key_file}"\n'
            f'origin = "{ORIGIN}"\n[access]\noperator_keys = ["{raw_pub(w.keys["operator"])}"]\n'
            f'dbc = "{w.settings.access.dbc}"\nparty_burst = {BURST}\n'
            f"party_rate_per_s = {RATE}\n",
            encoding="utf-8",
        )
        port = free_port()
        proc = subprocess.Popen(
            [str(VNOTARY), "collector", "serve", "--config", str(cfg), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=url, timeout=2) as c:
                for _ in range(300):
                    try:
                        if (await c.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("collector serve did not start")
            yield Served(w, url, port)
        finally:
            proc.terminate()
            proc.wait(10)


def _raw_request(port: int, head: bytes, chunks: int = 0, chunk: int = 0) -> tuple[bytes, int]:
    """Send `head`, then up to `chunks` chunks of a chunked body while the server has not
    answered; return (the answer's first bytes, body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        part = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
        for _ in range(chunks):
            if select.select([s], [], [], 0)[0]:
                break
            try:
                s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk
        else:
            if chunks:
                s.sendall(b"0\r\n\r\n")
        s.settimeout(30)
        try:
            answer = s.recv(4096)
        except ConnectionResetError:
            answer = b""
    return answer, sent


async def test_a_chunked_body_is_cut_off_at_the_limit_unread(
    tmp_path: Path, shared_data: Path
) -> None:
    """40 MiB chunked without Content-Length: 413 after about MAX_BODY, the rest unsent."""
    async with served(tmp_path, shared_data) as s:
        head = (
            b"POST /v1/records HTTP/1.1\r\nHost: collector.test\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answer, sent = await asyncio.to_thread(_raw_request, s.port, head, 640, 64 * 1024)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 4 * 1024 * 1024  # cut off early: not 40 MiB read before the answer
        async with httpx.AsyncClient(base_url=s.url) as c:  # and the server is fine
            assert (await c.get("/healthz")).status_code == 200


async def test_a_100_kb_header_is_refused(tmp_path: Path, shared_data: Path) -> None:
    async with served(tmp_path, shared_data) as s:
        pad = b"a" * (100 * 1024)
        head = b"GET /healthz HTTP/1.1\r\nHost: collector.test\r\nX-Pad: " + pad + b"\r\n\r\n"
        answer, _ = await asyncio.to_thread(_raw_request, s.port, head)
        assert answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 431 ")), answer[:100]
        small = (
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: "
            + pad[: limits.MAX_HEADERS + 1024]
            + b"\r\n\r\n"
        )
        answer, _ = await asyncio.to_thread(_raw_request, s.port, small)
        assert not answer.startswith(b"HTTP/1.1 200"), answer[:100]  # over MAX_HEADERS too
        async with httpx.AsyncClient(base_url=s.url) as c:
            assert (await c.get("/healthz")).status_code == 200


async def test_a_party_cannot_create_unlimited_log_entries(
    tmp_path: Path, shared_data: Path
) -> None:
    """400 refused reads (each a REFUSED entry of the vehicle's chain) as fast as the party
    can send them: past its bucket, 429 with Retry-After and no entry."""
    async with served(tmp_path, shared_data) as s:
        before = await s.w.store.log_size()
        body = {"vehicle_id": VEHICLE, "window_start_ns": 1, "window_end_ns": 2,
                "scope": ["can0#0aa"], "grant": "no-such-grant"}  # fmt: skip
        t0 = time.monotonic()
        codes = [(await s.call("insurer", "POST", "/v1/records", body)) for _ in range(400)]
        elapsed = time.monotonic() - t0
        passed = [r for r in codes if r.status_code != 429]
        limited = [r for r in codes if r.status_code == 429]
        assert {r.status_code for r in passed} == {403}
        assert len(passed) <= BURST + RATE * elapsed + 1, (len(passed), elapsed)
        assert len(limited) >= 400 - BURST - RATE * elapsed - 1
        assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
        assert limited[0].json()["reason"] == "RATE_LIMITED"
        assert await s.w.store.log_size() - before == len(passed)
        other = await s.call("adjuster", "POST", "/v1/records", body)  # per party
        assert other.status_code == 403


async def test_healthz_answers_while_a_heavy_read_page_is_built(
    tmp_path: Path, shared_data: Path
) -> None:
    """A page scanning 60 batches (~140,000 records, one rare CAN id in scope) takes seconds
    of CPU; /healthz must keep answering meanwhile (it waited for the whole page: the page
    was decoded inside the store's transaction, on the event loop)."""
    async with served(tmp_path, shared_data, n_batches=60) as s:
        g = s.w.grant("owner", "insurer", actions=("read",), jti="g-heavy",
                      scope=("can0#7ff",))  # fmt: skip
        assert await s.call("owner", "POST", "/v1/grants", {"token": s.w.token("owner", g)})
        body = {"vehicle_id": VEHICLE, "window_start_ns": g.window_start_ns,
                "window_end_ns": g.window_end_ns, "scope": ["can0#7ff"], "grant": "g-heavy",
                "limit": 10}  # fmt: skip
        t0 = time.monotonic()
        read = asyncio.create_task(s.call("insurer", "POST", "/v1/records", body))
        worst = 0.0
        async with httpx.AsyncClient(base_url=s.url, timeout=30) as c:
            await asyncio.sleep(0.2)
            while not read.done():
                t = time.monotonic()
                assert (await c.get("/healthz")).status_code == 200
                worst = max(worst, time.monotonic() - t)
                await asyncio.sleep(0.05)
        page = await read
        took = time.monotonic() - t0
        assert page.status_code == 200, page.text
        # A stalled loop makes one /healthz wait about as long as the page; an answering one
        # keeps each well under a third of it, however fast this machine builds the page.
        assert took > 0.5, took  # heavy enough for a stall to show
        assert worst < min(0.5, took / 3), (worst, took)
