"""Authorization matrix: every endpoint x every role x grant state, exact status codes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.access.world import VEHICLE, World, raw_pub, world

pytestmark = pytest.mark.anyio
STATES = ("none", "pending", "valid", "expired", "revoked", "delegated")
# owner last: its successful deny/revoke changes the state the others are checked in
ROLES = ("anonymous", "operator", "other_owner", "insurer", "adjuster", "court", "owner")
PARTIES = ("insurer", "adjuster", "court")


async def _setup(w: World, state: str) -> dict[str, str]:
    ids = {"rid": "r-none", "jti": "g-none"}
    if state == "none":
        return ids
    g = w.grant("owner", "insurer", exp=int(time.time()) + 2 if state == "expired" else None)
    if state != "expired":
        g = w.grant("owner", "insurer")
    r = await w.ok("insurer", "POST", f"/v1/vehicles/{VEHICLE}/requests", {
        "window_start_ns": g.window_start_ns, "window_end_ns": g.window_end_ns,
        "scope": list(g.scope), "actions": ["export"], "purpose": "claim"})  # fmt: skip
    ids["rid"] = r["id"]
    if state == "pending":
        return ids
    await w.ok("owner", "POST", f"/v1/requests/{r['id']}/grant", {"token": w.token("owner", g)})
    ids["jti"] = g.jti
    if state == "delegated":
        sub = w.grant("insurer", "adjuster", parent=g.jti, depth=0, nbf=g.nbf, exp=g.exp)
        await w.ok("insurer", "POST", "/v1/grants", {"token": w.token("insurer", sub)})
    if state == "revoked":
        await w.ok("owner", "POST", f"/v1/grants/{g.jti}/revoke")
    await w.anchor()
    if state == "expired":
        await asyncio.sleep(max(0.0, g.exp - time.time() + 0.2))
    return ids


def _only(role: str, ok: int, allowed: tuple[str, ...], denied: int = 403) -> int:
    return 401 if role == "anonymous" else ok if role in allowed else denied


Expect = Callable[[str, str], int]


def _endpoints(w: World, ids: dict[str, str]) -> list[tuple[str, str, Callable[[], Any], Expect]]:
    has_grant = ids["jti"] != "g-none"
    fresh = ed25519.Ed25519PrivateKey.generate

    def evidence(role: str, state: str) -> int:
        ok = {"insurer": ("valid", "delegated"), "adjuster": ("delegated",)}.get(role, ())
        return 401 if role == "anonymous" else 200 if state in ok else 403

    def show_grant(role: str, state: str) -> int:
        if role == "anonymous":
            return 401
        return _only(role, 200, ("owner", "insurer")) if has_grant else 404

    def deny(role: str, state: str) -> int:
        if role in ("anonymous",):
            return 401
        if role not in ("owner", "other_owner"):
            return 403
        if state == "none":
            return 404
        return 403 if role == "other_owner" else 200 if state == "pending" else 409

    def revoke(role: str, state: str) -> int:
        if role in ("anonymous",):
            return 401
        if role == "operator":
            return 403
        if not has_grant:
            return 404
        if role != "owner":
            return 403
        return 409 if state == "revoked" else 200

    read = {k: v for k, v in w.evidence_body(scope=["can0#0aa"]).items()
            if not k.startswith("event")}  # fmt: skip
    ask = {"window_start_ns": 1, "window_end_ns": 2, "scope": ["gnss"], "actions": ["read"],
           "purpose": "p"}  # fmt: skip
    return [
        ("POST", "/v1/vehicles", lambda: {"vehicle_id": f"v-{time.time_ns()}"},
         lambda r, s: _only(r, 201, ("operator",))),
        ("POST", "/v1/parties", lambda: {"role": "court", "name": "c",
                                         "public_key": raw_pub(fresh())},
         lambda r, s: _only(r, 201, ("operator",))),
        ("POST", f"/v1/vehicles/{VEHICLE}/requests", lambda: ask,
         lambda r, s: _only(r, 201, PARTIES)),
        ("GET", f"/v1/vehicles/{VEHICLE}/requests", lambda: None,
         lambda r, s: _only(r, 200, ("owner",))),
        ("GET", f"/v1/vehicles/{VEHICLE}/access-log", lambda: None,
         lambda r, s: _only(r, 200, ("owner",))),
        ("POST", "/v1/evidence", lambda: w.evidence_body(scope=["can0#0aa"]), evidence),
        ("POST", "/v1/records", lambda: read, evidence),
        ("GET", f"/v1/grants/{ids['jti']}", lambda: None, show_grant),
        ("POST", f"/v1/requests/{ids['rid']}/deny", lambda: {}, deny),
        ("POST", f"/v1/grants/{ids['jti']}/revoke", lambda: None, revoke),
    ]  # fmt: skip


async def _direct_grant(w: World, role: str) -> int:
    """POST /v1/grants: a grant to the court signed by the caller, as its issuer."""
    if role in ("anonymous", "operator"):
        r = await w.call(None if role == "anonymous" else role, "POST", "/v1/grants",
                         {"token": w.token("owner", w.grant("owner", "court"))})  # fmt: skip
        return r.status_code
    g = w.grant(role, "court", jti=f"g-direct-{role}-{time.time_ns()}")
    return (await w.call(role, "POST", "/v1/grants", {"token": w.token(role, g)})).status_code


@pytest.mark.parametrize("state", STATES)
async def test_matrix(state: str, tmp_path: Path, shared_data: Path) -> None:
    async with world(tmp_path, shared_data, n_batches=4) as w:
        ids = await _setup(w, state)
        got: dict[tuple[str, str, str], int] = {}
        want: dict[tuple[str, str, str], int] = {}
        for method, path, body, expect in _endpoints(w, ids):
            for role in ROLES:
                who = None if role == "anonymous" else role
                r = await w.call(who, method, path, body())
                got[(method, path, role)] = r.status_code
                want[(method, path, role)] = expect(role, state)
        for role in ROLES:
            got[("POST", "/v1/grants", role)] = await _direct_grant(w, role)
            want[("POST", "/v1/grants", role)] = _only(role, 201, ("owner",))
        assert got == want
