"""The collector's HTTP API (log part): checkpoint, entries, inclusion and consistency proofs.

`create_app(settings)` builds everything per app (no import-time globals); the store is
opened in the lifespan and reached through a typed dependency. The access issue adds owners,
grants and evidence routes to the same app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from collector.backends import open_store
from collector.leaves import LeafType
from collector.settings import Settings
from collector.store import Store
from notary_core import limits
from notary_core.errors import BadData, Unreachable


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]
Size = Annotated[int, Query(ge=1, le=limits.MAX_TREE_SIZE)]
Index = Annotated[int, Query(ge=0, le=limits.MAX_TREE_SIZE)]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with await open_store(settings.store) as store:
            app.state.store = store
            yield

    app = FastAPI(title="vnotary collector", version="1", lifespan=lifespan)

    @app.exception_handler(BadData)
    async def bad_data(request: Request, exc: BadData) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=400)

    @app.exception_handler(Unreachable)
    async def unreachable(request: Request, exc: Unreachable) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=503)

    @app.get("/v1/log/checkpoint")
    async def checkpoint(store: StoreDep) -> Response:
        cp = await store.latest_checkpoint()
        if cp is None:
            return JSONResponse({"reason": "NOT_FOUND", "message": "no checkpoint yet"}, 404)
        return Response(cp.note, media_type="text/plain; charset=utf-8")

    @app.get("/v1/log/entries/{index}")
    async def entry(index: int, store: StoreDep) -> dict[str, Any]:
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
