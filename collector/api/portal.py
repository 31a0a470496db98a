"""The consent portal: its static files under /portal/ with a strict Content-Security-Policy,
and the few read-only routes its pages need (docs/portal.md).

The files are a fixed set read once at start from collector/portal/static (package data):
a request names one of them or gets 404, so no path reaches the file system. Every answer
carries the CSP: scripts, styles and connections from this origin only, no inline script
or style, no frames, no plugins, no external fonts or images, so the page works offline on
a LAN and a script injected into a collector answer has nowhere to run or to send keys.
"""

from __future__ import annotations

from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from collector.access import listing
from collector.access.rules import AccessReason, Forbidden, NotFound
from collector.api.access import PARTIES, _request
from collector.api.deps import AccessDep, CallerDep, need
from notary_core.errors import Reason

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def load_files() -> dict[str, tuple[bytes, str]]:
    """Every served file by its path under /portal/, with its media type."""
    root = resources.files("collector.portal").joinpath("static")
    out: dict[str, tuple[bytes, str]] = {}
    todo = [(root, PurePosixPath())]
    while todo:
        folder, rel = todo.pop()
        for item in folder.iterdir():
            if item.is_dir():
                todo.append((item, rel / item.name))
                continue
            kind = TYPES.get(PurePosixPath(item.name).suffix)
            if kind is not None:  # only the page's own kinds of file: nothing else is served
                out[str(rel / item.name)] = (item.read_bytes(), kind)
    return out


def portal_router() -> APIRouter:
    api = APIRouter()
    files = load_files()

    @api.get("/portal", include_in_schema=False)
    async def portal_root() -> Response:
        return RedirectResponse("/portal/", 308, headers=HEADERS)

    @api.get("/portal/{path:path}", include_in_schema=False)
    async def portal_file(path: str) -> Response:
        found = files.get(path or "index.html")
        if found is None:
            raise NotFound(AccessReason.NOT_FOUND, "no such portal file")
        return Response(found[0], media_type=found[1], headers=HEADERS)

    @api.get("/v1/me", tags=["portal"])
    async def me(c: CallerDep, a: AccessDep) -> dict[str, Any]:
        """Who the signing key is at this collector (the operator's registration), and for
        an owner the vehicles and periods they are bound to."""
        out: dict[str, Any] = {"thumbprint": c.thumbprint, "role": c.role,
                               "name": c.party.name if c.party else "operator"}  # fmt: skip
        if c.role == "owner":
            async with a.tx() as atx:
                out["vehicles"] = await listing.owned_vehicles(atx, c.thumbprint)
        return out

    @api.get("/v1/me/requests", tags=["portal"])
    async def my_requests(c: CallerDep, a: AccessDep) -> list[dict[str, Any]]:
        """The caller's own access requests, newest first, with their status and grant."""
        need(c, *PARTIES)
        async with a.tx() as atx:
            return [_request(r) for r in await listing.requests_of(atx, c.thumbprint)]

    @api.get("/v1/parties/{thumbprint}", tags=["portal"])
    async def party(thumbprint: str, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        """The role and name the operator registered for a key (a claim, not a proof)."""
        async with a.tx() as atx:
            p = await atx.party(thumbprint)
        if p is None:
            raise NotFound(AccessReason.NOT_FOUND, "no party with this key")
        return {"thumbprint": p.thumbprint, "role": p.role, "name": p.name,
                "revoked_utc_ns": p.revoked_utc_ns, "successor": p.successor,
                "revoke_log_index": p.revoke_index}  # fmt: skip

    @api.get("/v1/vehicles/{vehicle_id}/grants", tags=["portal"])
    async def vehicle_grants(vehicle_id: str, c: CallerDep, a: AccessDep) -> list[dict[str, Any]]:
        """The grants the caller issued on the vehicle and their sub-grants, each with its
        token (the portal verifies the signature itself) and whether it is revoked here."""
        need(c, "owner")
        async with a.tx() as atx:
            owners = await atx.periods("ownerships", vehicle_id)
            if not any(p.who == c.thumbprint for p in owners):
                raise Forbidden(Reason.NOT_OWNER, "you never owned this vehicle")
            rows = await listing.grants_of_vehicle(atx, vehicle_id, c.thumbprint)
        return [{"jti": g.jti, "issuer": g.issuer, "grantee": g.grantee, "parent": g.parent,
                 "log_index": g.log_index, "revoked_utc_ns": g.revoked_utc_ns,
                 "token": g.token} for g in rows]  # fmt: skip

    return api
