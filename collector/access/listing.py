"""Read-only listings the consent portal shows: who a key is, an owner's vehicles, a party's
own requests, a vehicle's grants. Each runs in the caller's transaction; none logs (they
disclose nothing the caller could not already read one item at a time)."""

from __future__ import annotations

from typing import Any

from collector.access.store import AccessRequest, AccessTx, GrantRow

MAX_GRANTS = 1000  # a vehicle's grants over its life: a page bound, not a real limit


async def owned_vehicles(atx: AccessTx, owner: str) -> list[dict[str, Any]]:
    """The vehicles `owner` is or was bound to, with each ownership period."""
    rows = await atx.tx.all(
        "SELECT o.vehicle_id, v.label, o.start_ns, o.end_ns FROM ownerships o "
        "JOIN vehicles v ON v.vehicle_id = o.vehicle_id WHERE o.owner = ? "
        "ORDER BY o.start_ns DESC",
        (owner,),
    )
    return [{"vehicle_id": r[0], "label": r[1], "start_ns": int(r[2]), "end_ns": int(r[3])}
            for r in rows]  # fmt: skip


async def requests_of(atx: AccessTx, party: str) -> list[AccessRequest]:
    """A party's own requests, newest first."""
    return list(reversed(await atx.requests("party = ?", (party,))))


async def grants_of_vehicle(atx: AccessTx, vehicle_id: str, owner: str) -> list[GrantRow]:
    """The grants `owner` issued on a vehicle and every sub-grant under them, in log order
    (another owner's grants, before a sale or after it, are theirs)."""
    rows = await atx.tx.all(
        "SELECT jti FROM grants WHERE vehicle_id = ? ORDER BY log_index LIMIT ?",
        (vehicle_id, MAX_GRANTS),
    )
    found = [await atx.grant(str(r[0])) for r in rows]
    grants = {g.jti: g for g in found if g is not None}

    def root(g: GrantRow) -> GrantRow:
        for _ in range(8):  # a chain is at most 8 grants (notary_core.grant.MAX_CHAIN)
            parent = grants.get(g.parent) if g.parent else None
            if parent is None:
                break
            g = parent
        return g

    return [g for g in grants.values() if root(g).issuer == owner and root(g).parent is None]
