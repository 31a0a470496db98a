"""The registry and grant flows: each runs inside one AccessTx and logs what it does.

Operator: vehicles, device installations (DEVICE_INSTALLED), owner bindings (OWNER_BOUND),
parties. Party: access requests (REQUEST). Owner: grant (GRANT) or deny (DENY), revoke with
cascade (REVOKE). Grantee: delegate a narrower sub-grant (GRANT). `usable_chain` is the
check made at every use, in the transaction of the read.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.access import rules as access
from collector.access.rules import AccessReason, Conflict, Forbidden, NotFound
from collector.access.store import AccessRequest, AccessTx, GrantRow, Party, Period
from notary_core.errors import BadData, Reason
from notary_core.grant import Grant, open_grant, thumbprint
from notary_core.logleaf import AccessAction, AccessEvent, RegistryAction, RegistryEvent


def _overlaps(a: Period, start: int, end: int) -> bool:
    return a.start_ns < end and start < a.end_ns


async def add_party(atx: AccessTx, p: Party, now_ns: int) -> None:
    if await atx.party(p.thumbprint) is not None:
        raise Conflict(AccessReason.CONFLICT, "this key is already registered")
    await atx.add_party(p, now_ns)


PARTY_CHAIN = "party:"
"""A party key's registry events are on the chain `party:<thumbprint>` (protocol §7.1.2):
never a device id, which has no ':'."""


def _spki(raw: bytes) -> bytes:
    return ed25519.Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _kid(tp: str) -> bytes:
    return base64.urlsafe_b64decode(tp + "=" * (-len(tp) % 4))


async def _live_party(atx: AccessTx, tp: str) -> Party:
    p = await atx.party(tp)
    if p is None:
        raise NotFound(AccessReason.NOT_FOUND, "no party with this key")
    if not p.live:
        raise Conflict(AccessReason.CONFLICT, f"this key was already {_retired(p)} at "
                       f"log#{p.revoke_index}")  # fmt: skip
    return p


def _retired(p: Party) -> str:
    return "revoked" if p.successor is None else f"rotated to {p.successor}"


async def revoke_party(atx: AccessTx, tp: str, now_ns: int) -> int:
    """The operator revokes a party's key: requests it signs are refused from this
    transaction on (REVOKED_KEY). Logged as a REVOKE registry event on the party's chain."""
    p = await _live_party(atx, tp)
    event = RegistryEvent(RegistryAction.REVOKE, PARTY_CHAIN + tp, _spki(p.public_key),
                          _kid(tp), now_ns, now_ns, now_ns)  # fmt: skip
    return await atx.retire_party(tp, None, event)


async def rotate_party(atx: AccessTx, tp: str, new_raw: bytes, now_ns: int) -> tuple[str, int]:
    """The operator rotates a party's key: the new key is registered with the same role
    and name, the old one is refused from this transaction on (KEY_ROTATED). Logged as a
    ROTATE registry event on the old key's chain naming the new key. Grants name their
    grantee's key and are signed by the owner: they are not re-addressed (docs/access.md)."""
    p = await _live_party(atx, tp)
    new_tp = thumbprint(ed25519.Ed25519PublicKey.from_public_bytes(new_raw))
    if await atx.party(new_tp) is not None:
        raise Conflict(AccessReason.CONFLICT, "the new key is already registered")
    await atx.add_party(Party(new_tp, p.role, p.name, new_raw), now_ns)
    event = RegistryEvent(RegistryAction.ROTATE, PARTY_CHAIN + tp, _spki(new_raw),
                          _kid(new_tp), now_ns, None, now_ns)  # fmt: skip
    return new_tp, await atx.retire_party(tp, new_tp, event)


async def add_vehicle(atx: AccessTx, vehicle_id: str, label: str, now_ns: int) -> None:
    if await atx.vehicle_exists(vehicle_id):
        raise Conflict(AccessReason.CONFLICT, f"vehicle {vehicle_id} is already registered")
    await atx.add_vehicle(vehicle_id, label, now_ns)


async def _vehicle(atx: AccessTx, vehicle_id: str) -> None:
    if not await atx.vehicle_exists(vehicle_id):
        raise NotFound(AccessReason.NOT_FOUND, f"no vehicle {vehicle_id}")


async def install(
    atx: AccessTx, actor: str, vehicle_id: str, device_id: str, start: int, end: int, now: int
) -> int:
    await _vehicle(atx, vehicle_id)
    if not await atx.device_keys(device_id):
        raise NotFound(AccessReason.NOT_FOUND, f"device {device_id} has no enrolled key")
    # One device records one vehicle at a time, whichever vehicle (else a second vehicle's
    # owner could grant what the device captured in the first).
    for other in await atx.installs_of(device_id):
        if _overlaps(other, start, end):
            where = other.vehicle_id
            raise Conflict(
                AccessReason.CONFLICT, f"the device is in {where} for part of this period"
            )
    event = AccessEvent(
        AccessAction.DEVICE_INSTALLED, vehicle_id, actor, device_id, start, end, now
    )
    index = await atx.log(event)
    await atx.add_period("installs", Period(vehicle_id, device_id, start, end, index))
    return index


async def bind_owner(
    atx: AccessTx, actor: str, vehicle_id: str, owner: str, start: int, end: int, now: int
) -> int:
    """An owner for a period; periods of one vehicle never overlap (one owner at a time)."""
    await _vehicle(atx, vehicle_id)
    party = await atx.party(owner)
    if party is None or party.role != "owner":
        raise NotFound(AccessReason.NOT_FOUND, "no owner registered with this key")
    if any(_overlaps(p, start, end) for p in await atx.periods("ownerships", vehicle_id)):
        raise Conflict(AccessReason.CONFLICT, "another owner is bound for part of this period")
    index = await atx.log(AccessEvent(AccessAction.OWNER_BOUND, vehicle_id, actor, owner, start,
                                      end, now))  # fmt: skip
    await atx.add_period("ownerships", Period(vehicle_id, owner, start, end, index))
    return index


async def end_period(
    atx: AccessTx, table: str, actor: str, vehicle_id: str, who: str, end: int, now: int
) -> int:
    """End a running ownership or installation at `end` (a sale, a device moved): logged
    as OWNER_ENDED or DEVICE_REMOVED with the period as it now stands (§7.1.1)."""
    await _vehicle(atx, vehicle_id)
    running = [p for p in await atx.periods(table, vehicle_id)
               if p.who == who and p.start_ns < end < p.end_ns]  # fmt: skip
    if not running:
        raise NotFound(AccessReason.NOT_FOUND, f"no period of {who} in {vehicle_id} runs then")
    p = running[0]
    action = AccessAction.OWNER_ENDED if table == "ownerships" else AccessAction.DEVICE_REMOVED
    index = await atx.log(AccessEvent(action, vehicle_id, actor, who, p.start_ns, end, now))
    await atx.end_period(table, p, end)
    return index


async def ask(
    atx: AccessTx, party: Party, vehicle_id: str, body: dict[str, Any], now: int
) -> AccessRequest:
    await _vehicle(atx, vehicle_id)
    rid = "r-" + secrets.token_urlsafe(12)
    start, end = int(body["window_start_ns"]), int(body["window_end_ns"])
    detail = f"{body.get('purpose', '')[:200]}; {','.join(body.get('scope', []))[:1000]}"
    index = await atx.log(AccessEvent(AccessAction.REQUEST, vehicle_id, party.thumbprint, rid,
                                      start, end, now, detail))  # fmt: skip
    r = AccessRequest(rid, vehicle_id, party.thumbprint, body, "pending", now, index, None)
    await atx.add_request(r)
    return r


async def request(atx: AccessTx, rid: str) -> AccessRequest:
    found = await atx.requests("id = ?", (rid,))
    if not found:
        raise NotFound(AccessReason.NOT_FOUND, f"no request {rid}")
    return found[0]


async def owner_of(atx: AccessTx, signer: str, r: AccessRequest) -> None:
    owners = await atx.periods("ownerships", r.vehicle_id)
    w = r.body["window_start_ns"], r.body["window_end_ns"]
    if access.owner_for(owners, signer, *w) is None:
        raise Forbidden(Reason.NOT_OWNER, "you did not own the vehicle for the asked window")


async def deny(atx: AccessTx, signer: str, rid: str, now: int) -> int:
    r = await request(atx, rid)
    await owner_of(atx, signer, r)
    if r.status != "pending":
        raise Conflict(AccessReason.CONFLICT, f"request {rid} is already {r.status}")
    w = r.body["window_start_ns"], r.body["window_end_ns"]
    index = await atx.log(AccessEvent(AccessAction.DENY, r.vehicle_id, signer, rid, *w, now))
    await atx.set_request(rid, "denied", None)
    return index


async def add_grant(
    atx: AccessTx, signer: str, token: str, now_ns: int, rid: str | None = None
) -> tuple[Grant, int]:
    """Validate and log a grant: the owner's (optionally answering a request) or a
    delegation by the parent's grantee, narrower on every axis."""
    g, _ = open_grant(token)
    now_s = now_ns // 1_000_000_000
    if g.iss != signer:
        raise Forbidden(Reason.KEY_MISMATCH, "the grant must be signed by the request's signer")
    grantee = await atx.party(g.sub)
    if grantee is None:
        raise NotFound(AccessReason.NOT_FOUND, "the grantee is not a registered party")
    if not grantee.live:
        raise Conflict(AccessReason.CONFLICT, f"the grantee's key was {_retired(grantee)}")
    if await atx.grant(g.jti) is not None:
        raise Conflict(AccessReason.CONFLICT, f"grant {g.jti} exists")
    if rid is not None:
        r = await request(atx, rid)
        if r.status != "pending":
            raise Conflict(AccessReason.CONFLICT, f"request {rid} is already {r.status}")
        if g.sub != r.party or g.vehicle != r.vehicle_id:
            raise BadData(Reason.OUTSIDE_GRANT, "the grant is not for the requesting party")
    await _vehicle(atx, g.vehicle)
    if g.parent is None:
        access.check_root_grant(g, g.vehicle, await atx.periods("ownerships", g.vehicle), now_s)
    else:
        chain = await chain_of(atx, g.parent)
        grants = [open_grant(row.token)[0] for row in chain]
        access.check_chain(grants, [row.revoked_utc_ns is not None for row in chain], now_s)
        access.delegate(g, grants[-1], now_s)
    detail = f"to {g.sub}; {','.join(g.actions)}; {','.join(g.scope)}"[:2000]
    w = g.window_start_ns, g.window_end_ns
    index = await atx.log(AccessEvent(AccessAction.GRANT, g.vehicle, g.iss, g.jti, *w, now_ns,
                                      detail))  # fmt: skip
    await atx.add_grant(GrantRow(g.jti, g.vehicle, g.iss, g.sub, g.parent, token, index, None,
                                 None))  # fmt: skip
    if rid is not None:
        await atx.set_request(rid, "granted", g.jti)
    return g, index


async def chain_of(atx: AccessTx, jti: str) -> list[GrantRow]:
    """The grants from the owner's down to `jti`."""
    out: list[GrantRow] = []
    current: str | None = jti
    while current is not None:
        row = await atx.grant(current)
        if row is None or len(out) >= 8:
            raise NotFound(AccessReason.NOT_FOUND, f"no grant {current}")
        out.append(row)
        current = row.parent
    return out[::-1]


async def revoke(atx: AccessTx, signer: str, jti: str, now_ns: int) -> list[int]:
    """Owner-signed (or by the grant's own issuer): the grant and all its descendants."""
    chain = await chain_of(atx, jti)
    if signer not in (chain[0].issuer, chain[-1].issuer):
        raise Forbidden(Reason.NOT_OWNER, "only the owner or the grant's issuer may revoke it")
    if chain[-1].revoked_utc_ns is not None:
        raise Conflict(AccessReason.CONFLICT, f"grant {jti} is already revoked")
    indices: list[int] = []
    todo = [chain[-1]]
    while todo:
        row = todo.pop()
        if row.revoked_utc_ns is None:
            g, _ = open_grant(row.token)
            w = g.window_start_ns, g.window_end_ns
            event = AccessEvent(AccessAction.REVOKE, row.vehicle_id, signer, row.jti, *w, now_ns)
            index = await atx.log(event)
            await atx.revoke(row.jti, now_ns, index)
            indices.append(index)
        todo.extend(await atx.children(row.jti))
    return indices


async def usable_chain(
    atx: AccessTx, party: str, vehicle_id: str, window: tuple[int, int], scope: Sequence[str],
    action: str, jti: str | None, now_ns: int,
) -> tuple[list[GrantRow], list[Grant]]:  # fmt: skip
    """The chain of a live grant of `party` that allows this use; checked at every use."""
    rows = [await atx.grant(jti)] if jti else await atx.grants_of(party, vehicle_id)
    first: BadData | None = None
    for row in rows:
        if row is None:
            continue
        try:
            chain = await chain_of(atx, row.jti)
            grants = [open_grant(r.token)[0] for r in chain]
            access.check_chain(grants, [r.revoked_utc_ns is not None for r in chain],
                               now_ns // 1_000_000_000)  # fmt: skip
            access.check_use(grants[-1], party, vehicle_id, window, scope, action)
        except BadData as exc:
            first = first or exc
            continue
        return chain, grants
    raise first or Forbidden(Reason.OUTSIDE_GRANT, "no grant of yours covers this request")


async def installation(atx: AccessTx, vehicle_id: str, window: tuple[int, int]) -> Period:
    """The installation of the device that recorded the vehicle for the whole window."""
    start, end = window
    for p in await atx.periods("installs", vehicle_id):
        if p.start_ns <= start and end <= p.end_ns:
            return p
    raise NotFound(AccessReason.NOT_FOUND, "no device recorded this vehicle in the window")
