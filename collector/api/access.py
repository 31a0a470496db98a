"""Routes of the access API: registry (operator), requests and grants (parties, owners),
access log (owner) and evidence bundles (grantees). Thin: each route checks the caller's
role, runs one flow in one transaction, and shapes the answer. Docs: docs/access.md.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from collector.access import evidence as evidence_build
from collector.access import flows, history
from collector.access import read as records_read
from collector.access.rules import Forbidden, NotAnchored
from collector.access.store import OPEN_END, AccessRequest, AccessStore, Party
from collector.api.deps import AccessDep, CallerDep, StoreDep, need, raw_key
from collector.api.models import (
    AccessRequestIn,
    DenyIn,
    DeviceKeyIn,
    EndIn,
    EvidenceIn,
    GrantIn,
    InstallIn,  # fmt: skip
    OwnerIn,
    PartyIn,
    PartyKeyIn,
    RecordsIn,
    VehicleIn,
)
from collector.log.checkpoints import CheckpointSigner, SignerRefused
from notary_core import cose
from notary_core.bundle import BUNDLE_CONTENT_TYPE
from notary_core.errors import BadData, Reason
from notary_core.grant import thumbprint
from notary_core.logleaf import AccessAction, AccessEvent

log = logging.getLogger(__name__)

PARTIES = ("insurer", "adjuster", "court", "expert")


def _period(start: int, end: int | None) -> tuple[int, int]:
    end = OPEN_END if end is None else end
    if not start < end:
        raise BadData(Reason.MALFORMED, "a period ends after it starts")
    return start, end


def _request(r: AccessRequest) -> dict[str, Any]:
    return {"id": r.id, "vehicle_id": r.vehicle_id, "party": r.party, "status": r.status,
            "log_index": r.log_index, "grant": r.grant_jti, **r.body}  # fmt: skip


def access_router() -> APIRouter:
    api = APIRouter(prefix="/v1")

    @api.post("/vehicles", status_code=201, tags=["registry"])
    async def add_vehicle(body: VehicleIn, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        need(c, "operator")
        async with a.tx() as atx:
            await flows.add_vehicle(atx, body.vehicle_id, body.label, time.time_ns())
        return {"vehicle_id": body.vehicle_id}

    @api.post("/devices", status_code=201, tags=["registry"])
    async def add_device(body: DeviceKeyIn, c: CallerDep, store: StoreDep) -> dict[str, Any]:
        need(c, "operator")
        try:
            key = cose.PublicKey.from_spki(base64.b64decode(body.public_key, validate=True))
        except ValueError:
            raise BadData(Reason.BAD_KEY, "public_key is not a base64 SPKI") from None
        now = time.time_ns()
        e = await store.add_device_key(body.device_id, key.spki(), key.kid, body.not_before_ns,
                                       body.not_after_ns, now)  # fmt: skip
        return {"device_id": body.device_id, "key_id": key.kid.hex(), "event": e.action.name}

    @api.post("/vehicles/{vehicle_id}/devices", status_code=201, tags=["registry"])
    async def install(vehicle_id: str, body: InstallIn, c: CallerDep, a: AccessDep) -> Any:
        need(c, "operator")
        start, end = _period(body.start_ns, body.end_ns)
        async with a.tx() as atx:
            index = await flows.install(atx, c.thumbprint, vehicle_id, body.device_id, start,
                                        end, time.time_ns())  # fmt: skip
        return {"log_index": index}

    @api.post("/parties", status_code=201, tags=["registry"])
    async def add_party(body: PartyIn, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        need(c, "operator")
        try:
            key = raw_key(body.public_key)
        except ValueError:
            raise BadData(Reason.BAD_KEY, "public_key is not a raw Ed25519 key") from None
        p = Party(thumbprint(key), body.role, body.name, base64.urlsafe_b64decode(
            body.public_key + "="))  # fmt: skip
        async with a.tx() as atx:
            await flows.add_party(atx, p, time.time_ns())
        return {"thumbprint": p.thumbprint, "role": p.role}

    @api.post("/parties/{thumbprint}/revoke", tags=["registry"])
    async def revoke_party(thumbprint: str, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        """Revoke a party's key: every request it signs is refused from now on
        (REVOKED_KEY). Logged as a REVOKE registry event on the chain party:<thumbprint>."""
        need(c, "operator")
        async with a.tx() as atx:
            index = await flows.revoke_party(atx, thumbprint, time.time_ns())
        log.warning("party key %s revoked by operator %s: log#%d", thumbprint, c.thumbprint,
                    index)  # fmt: skip
        return {"thumbprint": thumbprint, "log_index": index}

    @api.post("/parties/{thumbprint}/rotate", tags=["registry"])
    async def rotate_party(
        thumbprint: str, body: PartyKeyIn, c: CallerDep, a: AccessDep
    ) -> dict[str, Any]:
        """Rotate a party's key: the new key gets the party's role and name, the old one is
        refused from now on (KEY_ROTATED). Logged as a ROTATE registry event naming the new
        key on the old key's chain."""
        need(c, "operator")
        try:
            raw = raw_key(body.public_key).public_bytes_raw()
        except ValueError:
            raise BadData(Reason.BAD_KEY, "public_key is not a raw Ed25519 key") from None
        async with a.tx() as atx:
            new, index = await flows.rotate_party(atx, thumbprint, raw, time.time_ns())
        log.warning("party key %s rotated to %s by operator %s: log#%d", thumbprint, new,
                    c.thumbprint, index)  # fmt: skip
        return {"thumbprint": thumbprint, "successor": new, "log_index": index}

    @api.post("/vehicles/{vehicle_id}/owners", status_code=201, tags=["registry"])
    async def bind_owner(vehicle_id: str, body: OwnerIn, c: CallerDep, a: AccessDep) -> Any:
        need(c, "operator")
        start, end = _period(body.start_ns, body.end_ns)
        async with a.tx() as atx:
            index = await flows.bind_owner(atx, c.thumbprint, vehicle_id, body.owner, start, end,
                                           time.time_ns())  # fmt: skip
        return {"log_index": index}

    @api.post("/vehicles/{vehicle_id}/owners/{owner}/end", tags=["registry"])
    async def end_owner(
        vehicle_id: str, owner: str, body: EndIn, c: CallerDep, a: AccessDep
    ) -> Any:
        """A sale: the owner's period ends (OWNER_ENDED), so a new owner can be bound."""
        need(c, "operator")
        async with a.tx() as atx:
            index = await flows.end_period(atx, "ownerships", c.thumbprint, vehicle_id, owner,
                                           body.end_ns, time.time_ns())  # fmt: skip
        return {"log_index": index}

    @api.post("/vehicles/{vehicle_id}/devices/{device_id}/end", tags=["registry"])
    async def end_install(
        vehicle_id: str, device_id: str, body: EndIn, c: CallerDep, a: AccessDep
    ) -> Any:
        """The device leaves the vehicle (DEVICE_REMOVED): it may then be installed elsewhere."""
        need(c, "operator")
        async with a.tx() as atx:
            index = await flows.end_period(atx, "installs", c.thumbprint, vehicle_id, device_id,
                                           body.end_ns, time.time_ns())  # fmt: skip
        return {"log_index": index}

    @api.post("/vehicles/{vehicle_id}/requests", status_code=201, tags=["grants"])
    async def ask(vehicle_id: str, body: AccessRequestIn, c: CallerDep, a: AccessDep) -> Any:
        need(c, *PARTIES)
        _period(body.window_start_ns, body.window_end_ns)
        assert c.party is not None
        async with a.tx() as atx:
            r = await flows.ask(atx, c.party, vehicle_id, body.model_dump(), time.time_ns())
        return _request(r)

    @api.get("/vehicles/{vehicle_id}/requests", tags=["grants"])
    async def pending(vehicle_id: str, c: CallerDep, a: AccessDep) -> list[dict[str, Any]]:
        need(c, "owner")
        async with a.tx() as atx:
            owners = await atx.periods("ownerships", vehicle_id)
            if not any(p.who == c.thumbprint for p in owners):
                raise Forbidden(Reason.NOT_OWNER, "you never owned this vehicle")
            rows = await atx.requests("vehicle_id = ?", (vehicle_id,))
        return [_request(r) for r in rows]

    @api.get("/requests/{rid}", tags=["grants"])
    async def show_request(rid: str, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        async with a.tx() as atx:
            r = await flows.request(atx, rid)
            if c.thumbprint != r.party:
                await flows.owner_of(atx, c.thumbprint, r)
        return _request(r)

    @api.post("/requests/{rid}/grant", status_code=201, tags=["grants"])
    async def approve(rid: str, body: GrantIn, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        need(c, "owner")
        async with a.tx() as atx:
            await flows.owner_of(atx, c.thumbprint, await flows.request(atx, rid))
            g, index = await flows.add_grant(atx, c.thumbprint, body.token, time.time_ns(), rid)
        return {"jti": g.jti, "log_index": index}

    @api.post("/requests/{rid}/deny", tags=["grants"])
    async def deny(rid: str, body: DenyIn, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        need(c, "owner")
        async with a.tx() as atx:
            index = await flows.deny(atx, c.thumbprint, rid, time.time_ns())
        return {"status": "denied", "log_index": index}

    @api.post("/grants", status_code=201, tags=["grants"])
    async def add_grant(body: GrantIn, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        need(c, "owner", *PARTIES)
        async with a.tx() as atx:
            g, index = await flows.add_grant(atx, c.thumbprint, body.token, time.time_ns())
        return {"jti": g.jti, "log_index": index}

    @api.post("/grants/{jti}/revoke", tags=["grants"])
    async def revoke(jti: str, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        need(c, "owner", *PARTIES)
        async with a.tx() as atx:
            indices = await flows.revoke(atx, c.thumbprint, jti, time.time_ns())
        return {"revoked": len(indices), "log_indices": indices}

    @api.get("/grants/{jti}", tags=["grants"])
    async def show_grant(jti: str, c: CallerDep, a: AccessDep) -> dict[str, Any]:
        async with a.tx() as atx:
            chain = await flows.chain_of(atx, jti)
        g = chain[-1]
        if c.thumbprint not in (chain[0].issuer, g.issuer, g.grantee):
            raise Forbidden(Reason.OUTSIDE_GRANT, "not your grant")
        return {"jti": g.jti, "issuer": g.issuer, "grantee": g.grantee, "parent": g.parent,
                "revoked": any(r.revoked_utc_ns is not None for r in chain),
                "log_index": g.log_index, "token": g.token}  # fmt: skip

    @api.get("/vehicles/{vehicle_id}/access-log", tags=["grants"])
    async def access_log(
        vehicle_id: str, c: CallerDep, a: AccessDep, request: Request,
        cursor: str | None = None, limit: int = 200,
    ) -> Any:  # fmt: skip
        """The vehicle's entries newest first, a page at a time (`next_cursor`), each with its
        inclusion proof, and the index proof of the vehicle's head at the checkpoint: the
        owner's client proves the list complete (notary_core.history)."""
        need(c, "owner")
        if cursor is None:  # a fresh checkpoint, so the list ends at the newest entry
            await _checkpoint(request)
        async with a.tx() as atx:
            return await history.page(atx, c.thumbprint, vehicle_id, cursor, limit)

    @api.post("/evidence", tags=["evidence"], response_class=Response,
              responses={200: {"content": {BUNDLE_CONTENT_TYPE: {}}}})  # fmt: skip
    async def evidence(body: EvidenceIn, c: CallerDep, a: AccessDep, request: Request) -> Any:
        need(c, *PARTIES)
        window = _period(body.window_start_ns, body.window_end_ns)
        event = None if body.event_utc_ns is None else (body.event_utc_ns, body.event_label)
        ask = evidence_build.Ask(body.vehicle_id, window, tuple(body.scope), body.grant, event)
        issuer: evidence_build.Issuer = request.app.state.issuer
        try:
            async with a.tx() as atx:
                data = await evidence_build.build(atx, c.thumbprint, ask, issuer, time.time_ns())
        except Forbidden as exc:
            await _refused(a, c.thumbprint, ask, "export", exc)
            raise
        except NotAnchored:
            # Sign a checkpoint now so the witnesses' and the anchorer's next rounds cover
            # these entries.
            await _checkpoint(request)
            raise
        return Response(data, media_type=BUNDLE_CONTENT_TYPE)

    @api.post("/records", tags=["evidence"])
    async def records(body: RecordsIn, c: CallerDep, a: AccessDep, request: Request) -> Any:
        """Read a window's records in the granted scope (grant action "read"), a page at a
        time (`next_cursor`); logged as a READ. A read proves nothing: see /v1/evidence."""
        need(c, *PARTIES)
        window = _period(body.window_start_ns, body.window_end_ns)
        ask = evidence_build.Ask(body.vehicle_id, window, tuple(body.scope), body.grant)
        issuer: evidence_build.Issuer = request.app.state.issuer
        after = records_read.Cursor.parse(body.cursor)
        try:
            return await records_read.read(a, c.thumbprint, ask, issuer.decoder,
                                           time.time_ns(), body.limit, after)  # fmt: skip
        except Forbidden as exc:
            await _refused(a, c.thumbprint, ask, "read", exc)
            raise

    return api


async def _refused(
    a: AccessStore, party: str, ask: evidence_build.Ask, action: str, exc: BadData
) -> None:
    """A refused attempt on a vehicle is an entry of its chain, so its owner sees it (§7.1.1
    REFUSED). The refusal itself is raised by the caller whatever happens here."""
    async with a.tx() as atx:
        if not await atx.vehicle_exists(ask.vehicle_id):
            return
        await atx.log(AccessEvent(
            AccessAction.REFUSED, ask.vehicle_id, party, ask.grant or "-", *ask.window,
            time.time_ns(), f"{action}: {exc.reason}; {','.join(ask.scope)}"[:1000]))  # fmt: skip


async def _checkpoint(request: Request) -> None:
    """Sign a checkpoint of what is logged, through the signer guard. A refusal is logged
    and reported by /readyz; the request goes on with the latest published checkpoint."""
    signer: CheckpointSigner = request.app.state.checkpoint_signer
    try:
        await signer.sign_if_grown(time.time_ns())
    except SignerRefused as exc:
        log.critical("checkpoint refused: %s", exc.message)
