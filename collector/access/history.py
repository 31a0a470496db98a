"""An owner's access history: the vehicle's entries newest first, provably complete (§14).

A page is walked back along the vehicle chain's links from the head that the index at a
signed checkpoint proves (or from the cursor of the previous page, which names the same
checkpoint), each entry with its inclusion proof. notary_core.history.verify_history is the
client's check; `vnotary owner log --verify` runs it. An owner sees every entry of the
chain, because a proof of completeness cannot skip one; entries outside the caller's own
ownership periods are marked `mine: false` and shown by the portal and the CLI without
their details (docs/access.md says what that does and does not hide).
"""

from __future__ import annotations

import re
from typing import Any

from collector.access.rules import AccessReason, Forbidden, NotFound
from collector.access.store import AccessTx, Period
from collector.log import tree as tlog
from notary_core import heads
from notary_core.errors import BadData, Reason
from notary_core.logleaf import AccessEvent, IndexLeaf

MAX_PAGE = 1000
_CURSOR = re.compile(r"([0-9]{1,19}):([0-9]{1,19})")


def _mine(e: AccessEvent, periods: list[Period]) -> bool:
    return any(e.window_start_ns < p.end_ns and p.start_ns < e.window_end_ns for p in periods)


def _entry(
    i: int, leaf: bytes, e: AccessEvent, periods: list[Period], proof: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"index": i, "action": e.action.name, "at_utc_ns": e.at_utc_ns,
                           "mine": _mine(e, periods), "leaf": leaf.hex(),
                           "proof": proof}  # fmt: skip
    if out["mine"]:
        out |= {"actor": e.actor, "subject": e.subject, "detail": e.detail,
                "window": [e.window_start_ns, e.window_end_ns]}  # fmt: skip
    return out


async def page(
    atx: AccessTx, owner: str, vehicle_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    mine = [p for p in await atx.periods("ownerships", vehicle_id) if p.who == owner]
    if not mine:
        raise Forbidden(Reason.NOT_OWNER, "you never owned this vehicle")
    if not 1 <= limit <= MAX_PAGE:
        raise BadData(Reason.TOO_LARGE, f"limit must be 1..{MAX_PAGE}")
    if cursor is None:
        row = await atx.tx.one(
            "SELECT size FROM checkpoints WHERE cosigned_note IS NOT NULL "
            "ORDER BY size DESC LIMIT 1"
        )  # the latest published one
        if row is None:
            raise NotFound(AccessReason.NOT_FOUND, "no published checkpoint yet")
        size, start = int(row[0]), None
    else:
        m = _CURSOR.fullmatch(cursor)
        if m is None:
            raise BadData(Reason.MALFORMED, "the cursor is <size>:<log index>")
        size, start = int(m.group(1)), int(m.group(2))
    cp = await atx.tx.one(
        "SELECT cosigned_note FROM checkpoints WHERE size = ? AND cosigned_note IS NOT NULL",
        (size,),
    )
    if cp is None:
        raise NotFound(AccessReason.NOT_FOUND, f"no published checkpoint of size {size}")
    keeper = await atx.store.index_at(atx.tx, size)
    value, siblings = keeper.prove(size - 1, heads.vehicle_key(vehicle_id))
    head = heads.VehicleHead.parse(value).entries
    index = head.last_index if start is None else start
    out: list[tuple[int, bytes, AccessEvent]] = []
    while index is not None and len(out) < limit:
        if index >= size - 1:
            raise BadData(Reason.BAD_INDEX, f"log entry {index} is not below checkpoint {size}")
        row = await atx.tx.one("SELECT leaf FROM tlog_leaves WHERE idx = ?", (index,))
        leaf = bytes(row[0]) if row else b""
        e = AccessEvent.from_leaf(leaf)
        if e.vehicle_id != vehicle_id or e.vehicle_link is None:
            raise BadData(Reason.INDEX_MISMATCH, f"log entry {index} is not on the vehicle chain")
        out.append((index, leaf, e))
        index = e.vehicle_link.prev_index
    plans = {i: tlog.inclusion_plan(i, size) for i in [size - 1, *(i for i, _, _ in out)]}
    nodes = await atx.store._nodes(
        atx.tx, set().union(*(tlog.plan_nodes(p) for p in plans.values()))
    )
    proof = {i: [h.hex() for h in tlog.resolve(p, nodes)] for i, p in plans.items()}
    ileaf = await atx.tx.one("SELECT leaf FROM tlog_leaves WHERE idx = ?", (size - 1,))
    index_leaf = bytes(ileaf[0]) if ileaf else b""
    IndexLeaf.from_leaf(index_leaf)
    return {
        "checkpoint": bytes(cp[0]).decode(),
        "size": size,
        "count": head.count,
        "index": {"leaf": index_leaf.hex(), "proof": proof[size - 1], "value": value.hex(),
                  "siblings": [s.hex() for s in siblings]},
        "entries": [_entry(i, leaf, e, mine, proof[i]) for i, leaf, e in out],
        "next_cursor": None if index is None else f"{size}:{index}",
    }  # fmt: skip
