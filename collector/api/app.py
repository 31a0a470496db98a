"""The collector's HTTP API: the log (checkpoint, entries, proofs, anchors), the trust file,
and the access routes (collector/api/access.py: registry, grants, access log, evidence).

`create_app(settings)` builds everything per app (no import-time globals); the store is
opened in the lifespan and reached through a typed dependency. Errors are mapped to HTTP
status + {"reason", "message"} in ONE place, `_status`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.access.evidence import Issuer
from collector.access.rules import Conflict, Forbidden, NotAnchored, NotFound, RateLimited
from collector.access.signals import SignalDecoder
from collector.api import metrics
from collector.api.access import access_router
from collector.api.deps import PartyBuckets, StoreDep, raw_key
from collector.api.portal import portal_router
from collector.api.signatures import Unauthorized
from collector.limits import MAX_BODY, MAX_HEADERS
from collector.log.leaves import LeafType
from collector.settings import Settings
from collector.store.figures import read_figures
from collector.store.open import open_store
from notary_core import limits
from notary_core.errors import BadData, NotaryError, Reason, Unreachable
from notary_core.grant import thumbprint

_STATUS: tuple[tuple[type[NotaryError], int], ...] = (
    (Unauthorized, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (RateLimited, 429),
    (Unreachable, 503), (BadData, 400),
)  # fmt: skip


def _status(exc: NotaryError) -> int:
    """The one mapping from an error to an HTTP status."""
    if exc.reason == Reason.TOO_LARGE and not isinstance(exc, Unauthorized):
        return 413
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)


def _refuse(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "message": message}, status, {"Connection": "close"})


class _Bounds:
    """Refuse oversize headers (431) and bodies (413) before the application reads them.

    The body is taken here, up to MAX_BODY counted as it arrives (a chunked body has no
    Content-Length to trust), and handed to the application whole: a client streaming
    megabytes is cut off at the first chunk past the bound, unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEADERS:
            await _refuse(431, "TOO_LARGE", f"headers over {MAX_HEADERS} bytes")(
                scope, receive, send
            )
            return
        length = dict(headers).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _refuse(413, "TOO_LARGE", f"body over {MAX_BODY} bytes or with an invalid "
                          "Content-Length")(scope, receive, send)  # fmt: skip
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _refuse(413, "TOO_LARGE", f"body over {MAX_BODY} bytes")(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


Size = Annotated[int, Query(ge=1, le=limits.MAX_TREE_SIZE)]
Index = Annotated[int, Query(ge=0, le=limits.MAX_TREE_SIZE)]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signer = settings.bundle_signer()
        note_signer = settings.note_signer()
        app.state.settings = settings
        app.state.party_buckets = PartyBuckets(settings.access.party_rate_per_s,
                                               settings.access.party_burst)  # fmt: skip
        app.state.note_signer = note_signer
        receipt_pem = settings.receipt_signer().public.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        app.state.keys = {"receipt_keys": [receipt_pem.decode()], "log_vkeys":
                          settings.log_vkeys(), "bundle_keys": settings.bundle_keys()}  # fmt: skip
        app.state.operators = {
            thumbprint(k): k for k in map(raw_key, settings.access.operator_keys)
        }
        dbc = settings.access.dbc
        app.state.issuer = Issuer(signer, settings.origin, note_signer.verifier.vkey,
                                  SignalDecoder(dbc) if dbc else None,
                                  settings.access.retry_after_s)  # fmt: skip
        clients = settings.witness_clients()
        try:
            async with await open_store(settings.store_url()) as store:
                app.state.store = store
                app.state.checkpoint_signer = settings.checkpoint_signer(store, clients)
                yield
        finally:
            for client in clients:
                await client.close()

    app = FastAPI(title="vnotary collector", version="1", lifespan=lifespan)
    app.add_middleware(_Bounds)
    app.include_router(access_router())
    app.include_router(portal_router())

    @app.exception_handler(NotaryError)
    async def notary_error(request: Request, exc: NotaryError) -> JSONResponse:
        body = {"reason": str(exc.reason), "message": exc.message}
        headers = (
            {"Retry-After": str(exc.retry_after_s)}
            if isinstance(exc, NotAnchored | RateLimited)
            else {}
        )
        return JSONResponse(body, status_code=_status(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"reason": "MALFORMED", "message": message[:1000]}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        reason = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP")
        return JSONResponse({"reason": reason, "message": str(exc.detail)}, exc.status_code)

    @app.get("/healthz", tags=["ops"])
    async def healthz(store: StoreDep) -> dict[str, Any]:
        """Liveness for orchestrators: the process and its store answer."""
        return {"status": "ok", "log_size": await store.log_size()}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: the store answers, the log's tree extends every head the signer is
        bound to (its state file here, the store's signed and witnessed checkpoints), the
        signer is not halted and no alarm (witness refusal, guard) is open. 503 otherwise."""
        try:
            problems = await request.app.state.checkpoint_signer.problems()
        except Unreachable as exc:
            problems = [f"store unreachable: {exc.message}"]
        body = {"status": "not ready" if problems else "ready", "problems": problems}
        return JSONResponse(body, 503 if problems else 200)

    @app.get("/metrics", tags=["ops"])
    async def prometheus(store: StoreDep) -> Response:
        """Prometheus metrics, read from the store (docs/collector.md § Metrics)."""
        text = metrics.render(await read_figures(store), time.time_ns())
        return Response(text, media_type=metrics.CONTENT_TYPE)

    @app.get("/v1/trust")
    async def trust(store: StoreDep, request: Request) -> dict[str, Any]:
        """The trust file for `vnotary verify --trust`: the log keys (checkpoints), the
        bundle keys (collector_keys), contracts; during and after a rotation, old and new."""
        contracts = {(a.chain_id, a.contract) for a in await store.anchors()
                     if a.status in ("sent", "final") and a.contract}  # fmt: skip
        doc: dict[str, Any] = {
            "version": 1,
            "log_vkeys": request.app.state.keys["log_vkeys"],
            "collector_keys": request.app.state.keys["bundle_keys"],
            "anchor_contracts": [{"chain_id": c, "address": addr} for c, addr in
                                 sorted(contracts)]}  # fmt: skip
        if settings.witness:  # the collector's word: pin witness keys from the witnesses
            doc["witnesses"] = [w.vkey for w in settings.witness]
            doc["witness_quorum"] = settings.witness_quorum
        return doc

    @app.get("/v1/keys")
    async def keys(request: Request) -> dict[str, Any]:
        """The public key of each statement the collector signs (protocol §6): receipts
        (PEM, what an agent pins), checkpoints (signed-note keys), bundles (base64 SPKI)."""
        keys: dict[str, Any] = request.app.state.keys
        return keys

    @app.get("/v1/log/checkpoint")
    async def checkpoint(store: StoreDep) -> Response:
        """The latest published checkpoint: signed, with its witness quorum's cosignatures."""
        cp = await store.latest_published_checkpoint()
        if cp is None:
            return JSONResponse({"reason": "NOT_FOUND", "message": "no checkpoint yet"}, 404)
        return Response(cp.note, media_type="text/plain; charset=utf-8")

    @app.get("/v1/log/entries/{index}")
    async def entry(
        index: Annotated[int, Path(ge=0, le=limits.MAX_TREE_SIZE)], store: StoreDep
    ) -> dict[str, Any]:
        leaf = await store.leaf(index)
        return {"index": index, "type": LeafType(leaf[0]).name, "leaf": leaf.hex()}

    @app.get("/v1/log/proof/inclusion")
    async def inclusion(index: Index, size: Size, store: StoreDep) -> dict[str, Any]:
        proof = await store.inclusion_proof(index, size)
        return {"index": index, "size": size, "proof": [p.hex() for p in proof]}

    @app.get("/v1/log/proof/consistency")
    async def consistency(size1: Size, size2: Size, store: StoreDep) -> dict[str, Any]:
        proof = await store.consistency_proof(size1, size2)
        return {"size1": size1, "size2": size2, "proof": [p.hex() for p in proof]}

    @app.get("/v1/anchors")
    async def anchors(store: StoreDep) -> list[dict[str, Any]]:
        return [
            {
                "size": a.size,
                "root": a.root.hex(),
                "prev_root": a.prev_root.hex(),
                "status": a.status,
                "chain_id": a.chain_id,
                "contract": a.contract,
                "tx_hash": a.tx_hash.hex() if a.tx_hash else None,
                "block_number": a.block_number,
                "block_hash": a.block_hash.hex() if a.block_hash else None,
            }
            for a in await store.anchors()
            if a.status in ("sent", "final")
        ]

    return app
