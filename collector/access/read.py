"""Read records under a grant (action "read"): a window's records in the granted scope,
as JSON, a page at a time, each read logged as a READ entry the owner sees in the access log.

A read is for looking (a claims handler's screen, an expert's first pass); it proves
nothing by itself. Evidence is the signed bundle (`POST /v1/evidence`, action "export").
So a read does not wait for an anchor, and its records carry their batch and leaf index,
from which a bundle of the same window proves each one.

In ONE transaction, as an export: the grant chain is checked (revocation is effective on
the next request), the batches of the window are read, and the READ is logged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from collector.access import flows as access_flows
from collector.access.evidence import Ask
from collector.access.signals import SignalDecoder
from collector.access.store import AccessStore
from collector.store.base import BatchRow
from notary_core import batch, grant, logleaf
from notary_core import records as rec
from notary_core.errors import BadData, Reason

MAX_PAGE = 5000
"""Records per page at most; the default page is this size too."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: resume after this batch and leaf (stable as batches arrive)."""

    batch_seq: int
    leaf_index: int

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        if not text:
            return None
        try:
            seq, index = (int(x) for x in text.split(".", 1))
        except ValueError:
            raise BadData(Reason.MALFORMED, "cursor is <batch_seq>.<leaf_index>") from None
        if seq < 0 or index < 0:
            raise BadData(Reason.MALFORMED, "cursor is <batch_seq>.<leaf_index>")
        return cls(seq, index)

    def __str__(self) -> str:
        return f"{self.batch_seq}.{self.leaf_index}"


def record_json(r: rec.Record) -> dict[str, Any]:
    """One record as JSON: its envelope and its body by kind (bytes as hex)."""
    out: dict[str, Any] = {"stream": r.stream, "seq": r.seq, "utc_ns": r.utc_ns,
                           "mono_ns": r.mono_ns, "clock": r.clock.name}  # fmt: skip
    body = r.body
    if isinstance(body, rec.CanFrame):
        out["can"] = {"id": body.can_id, "flags": int(body.flags), "dlc": body.dlc,
                      "data": body.data.hex()}  # fmt: skip
    elif isinstance(body, rec.NmeaSentence):
        out["nmea"] = {"status": body.status.name,
                       "sentence": body.raw.decode("ascii", "replace")}  # fmt: skip
    elif isinstance(body, rec.ImuSample):
        out["imu"] = {"accel": list(body.accel), "gyro": list(body.gyro)}
    elif isinstance(body, rec.BridgeFrame):
        out["bridge"] = {"status": body.status.name, "frame": body.frame.hex()}
    else:
        out["event"] = {"type": body.event.name, "a": body.a, "b": body.b, "detail": body.detail}
    return out


def _scope_item(r: rec.Record) -> str:
    body = r.body
    if isinstance(body, rec.CanFrame):
        return grant.record_scope_item(r.stream, body.can_id, bool(body.flags & rec.CanFlags.EXT))
    return r.stream


def _select(
    rows: list[BatchRow], ask: Ask, limit: int, after: Cursor | None
) -> tuple[list[dict[str, Any]], list[bytes], Cursor | None]:
    """The page of records in the window and scope after the cursor (CPU only)."""
    start, end = ask.window
    page: list[dict[str, Any]] = []
    shown: list[bytes] = []
    more: Cursor | None = None
    for b in rows:
        if after is not None and b.batch_seq < after.batch_seq:
            continue
        for i, raw in enumerate(batch.split_records_block(b.records_block)):
            if after is not None and (b.batch_seq, i) <= (after.batch_seq, after.leaf_index):
                continue
            r = rec.decode(raw)
            if not start <= r.utc_ns <= end or not grant.in_scope(ask.scope, _scope_item(r)):
                continue
            if len(page) == limit:
                more = Cursor(page[-1]["batch_seq"], page[-1]["leaf_index"])
                break
            page.append({"batch_seq": b.batch_seq, "leaf_index": i, **record_json(r)})
            shown.append(raw)
        if more is not None:
            break
    return page, shown, more


async def read(
    access: AccessStore,
    party: str,
    ask: Ask,
    decoder: SignalDecoder | None,
    now_ns: int,
    limit: int = MAX_PAGE,
    after: Cursor | None = None,
) -> dict[str, Any]:
    """One page. The grant is checked and the batches fetched in one transaction, the page
    is decoded outside any (seconds of CPU for hundreds of batches, in a worker thread: the
    store and the event loop keep serving others, issue 16 §2), and the READ is logged in a
    second transaction that checks the grant again: no page leaves unlogged, nor under a
    grant revoked meanwhile."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadData(Reason.TOO_LARGE, f"a page holds 1..{MAX_PAGE} records")
    start, end = ask.window
    async with access.tx() as atx:
        _chain, grants = await access_flows.usable_chain(
            atx, party, ask.vehicle_id, ask.window, ask.scope, "read", ask.grant, now_ns
        )
        device = (await access_flows.installation(atx, ask.vehicle_id, ask.window)).who
        rows = await atx.batches(device, start, end)
    page, shown, more = await asyncio.to_thread(_select, rows, ask, limit, after)
    signals = grants[-1].signals
    views = {} if decoder is None else await asyncio.to_thread(decoder.views, shown, signals)
    async with access.tx() as atx:
        _chain, grants = await access_flows.usable_chain(
            atx, party, ask.vehicle_id, ask.window, ask.scope, "read", ask.grant, now_ns
        )
        last = grants[-1]
        index = await atx.log(logleaf.AccessEvent(
            logleaf.AccessAction.READ, ask.vehicle_id, party, last.jti, start, end, now_ns,
            f"{len(page)} records; {','.join(ask.scope)}"[:2000]))  # fmt: skip
    return {
        "vehicle_id": ask.vehicle_id, "device_id": device, "window": [start, end],
        "scope": list(ask.scope), "grant": last.jti, "purpose": last.purpose,
        "records": page, "signals": views, "next_cursor": None if more is None else str(more),
        "access_log_index": index,
        "note": "a read proves nothing by itself: ask for an evidence bundle to prove records",
    }  # fmt: skip
