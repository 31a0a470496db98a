"""Reading records under a grant: POST /v1/records pages through the granted scope, needs
the "read" action, is logged as READ, and its records are exactly those a bundle proves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from notary_core.bundle import parse_bundle
from notary_core.records import decode
from tests.access.world import VEHICLE, World, world

pytestmark = pytest.mark.anyio


async def _grant(w: World, actions: tuple[str, ...]) -> str:
    g = w.grant("owner", "insurer", actions=actions, jti=f"g-read-{'-'.join(actions)}")
    await w.ok("owner", "POST", "/v1/grants", {"token": w.token("owner", g)})
    return g.jti


def _body(w: World, **changes: Any) -> dict[str, Any]:
    body = w.evidence_body()
    for k in ("event_utc_ns", "event_label"):
        body.pop(k)
    return {**body, **changes}


async def test_pages_cover_the_window_once_and_match_the_bundle(
    tmp_path: Path, shared_data: Path, store_url: str
) -> None:
    async with world(tmp_path, shared_data, store=store_url) as w:
        await _grant(w, ("read", "export"))
        pages, cursor = [], None
        while True:
            page = await w.ok("insurer", "POST", "/v1/records", _body(w, limit=97, cursor=cursor))
            pages.append(page)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        got = [r for p in pages for r in p["records"]]
        assert len(pages) > 2 and all(len(p["records"]) == 97 for p in pages[:-1])
        keys = [(r["batch_seq"], r["leaf_index"]) for r in got]
        assert keys == sorted(set(keys))  # each record once, in log order
        assert {r["can"]["id"] for r in got} == {0x0AA, 0x224}  # the granted scope only
        body = _body(w)
        assert all(body["window_start_ns"] <= r["utc_ns"] <= body["window_end_ns"] for r in got)
        assert set(pages[0]["signals"]["signals"]) == {"WHEEL_SPEED_FL", "BRAKE_PRESSED"}
        # The records read are exactly those the bundle of the same window proves.
        await w.anchor()
        b = parse_bundle(await _bundle(w, body)).bundle
        start, end = body["window_start_ns"], body["window_end_ns"]
        # the bundle also proves its boundary records (protocol §12.3): compare the window
        proven = [(decode(d.record).seq, d.leaf_index) for x in b.batches for d in x.disclosed
                  if start <= decode(d.record).utc_ns <= end]  # fmt: skip
        assert [(r["seq"], r["leaf_index"]) for r in got] == proven
        # Every page is a READ entry in the owner's access log.
        log = await w.ok("owner", "GET", f"/v1/vehicles/{VEHICLE}/access-log")
        reads = [e for e in log["entries"] if e["action"] == "READ"]
        assert [e["index"] for e in reads] == [p["access_log_index"] for p in pages][::-1]
        assert reads[-1]["detail"].startswith("97 records;")  # newest first: the first page last


async def _bundle(w: World, body: dict[str, Any]) -> bytes:
    r = await w.call("insurer", "POST", "/v1/evidence", body)
    assert r.status_code == 200, r.text
    return r.content


async def test_read_needs_the_read_action_and_a_live_grant(
    tmp_path: Path, shared_data: Path
) -> None:
    async with world(tmp_path, shared_data) as w:
        jti = await _grant(w, ("export",))
        r = await w.call("insurer", "POST", "/v1/records", _body(w, grant=jti))
        assert r.status_code == 403 and r.json()["reason"] == "OUTSIDE_GRANT", r.text
        jti = await _grant(w, ("read",))
        assert (await w.call("insurer", "POST", "/v1/records", _body(w, grant=jti))).is_success
        r = await w.call("insurer", "POST", "/v1/evidence", {**w.evidence_body(), "grant": jti})
        assert r.status_code == 403, r.text  # read does not allow export
        wide = _body(w, grant=jti, scope=["can0"])
        r = await w.call("insurer", "POST", "/v1/records", wide)
        assert r.status_code == 403 and r.json()["reason"] == "OUTSIDE_GRANT"
        await w.ok("owner", "POST", f"/v1/grants/{jti}/revoke")
        r = await w.call("insurer", "POST", "/v1/records", _body(w, grant=jti))
        assert r.status_code == 403 and r.json()["reason"] == "GRANT_REVOKED", r.text
        for bad in ({"limit": 0}, {"limit": 5001}, {"cursor": "x.1"}, {"cursor": "-1.2"}):
            r = await w.call("insurer", "POST", "/v1/records", _body(w, **bad))
            assert r.status_code == 422, (bad, r.text)
        log = await w.ok("owner", "GET", f"/v1/vehicles/{VEHICLE}/access-log")
        actions = [e["action"] for e in log["entries"]]
        assert actions.count("READ") == 1  # a refusal reads nothing...
        assert "REFUSED" in actions  # ...and the owner sees it
