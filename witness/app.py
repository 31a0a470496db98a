"""The witness's HTTP interface (C2SP tlog-witness): `POST /add-checkpoint`, `GET /healthz`.

`create_app(config)` builds everything per app (no import-time globals). A request is
parsed and its signature checked (`policy.authenticate`), then the head is compared and
swapped in one SQLite transaction (`state_sqlite.WitnessDb.advance`), in a worker thread;
the cosignature is signed only after that commit returned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from notary_core import limits
from notary_core.errors import Reason
from notary_core.witness import SIZE_CONTENT_TYPE, encode_size
from witness.config import WitnessConfig
from witness.policy import Refusal, advance, authenticate
from witness.state_sqlite import WitnessDb

log = logging.getLogger(__name__)


async def _body(request: Request) -> bytes:
    """The request body, refused past the protocol's bound before it is all read."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limits.MAX_WITNESS_REQUEST):
        raise Refusal(413, Reason.TOO_LARGE, f"body over {limits.MAX_WITNESS_REQUEST} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limits.MAX_WITNESS_REQUEST:
            raise Refusal(413, Reason.TOO_LARGE, f"body over {limits.MAX_WITNESS_REQUEST} bytes")
    return bytes(data)


def create_app(config: WitnessConfig, clock: Callable[[], float] = time.time) -> FastAPI:
    signer = config.signer()
    db = WitnessDb(config.db)
    app = FastAPI(title="vnotary witness", version="1", docs_url=None, redoc_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _body(request)
            req, cp = authenticate(body, config.logs)
            now = int(clock())

            def cas() -> None:
                db.advance(cp.origin, req.note, now, lambda head: advance(head, req, cp), body)

            await asyncio.to_thread(cas)
        except Refusal as exc:
            level = logging.WARNING if exc.status in (409, 422) else logging.INFO
            log.log(level, "refused (%d %s): %s", exc.status, exc.reason, exc.message)
            if exc.status == 409 and exc.size is not None:
                # Exactly this media type (tlog-witness), without a charset parameter.
                return Response(encode_size(exc.size), 409, {"content-type": SIZE_CONTENT_TYPE})
            return PlainTextResponse(f"{exc.reason}: {exc.message}\n", exc.status)
        log.info("cosigned %s at size %d", cp.origin, cp.size)
        return PlainTextResponse(signer.cosign(cp.body(), now))

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        """Liveness: the process answers and its state database opens."""
        await asyncio.to_thread(db.head, "")
        return {"status": "ok", "name": config.name, "logs": sorted(config.logs)}

    return app
