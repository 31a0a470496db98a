"""Delegation is narrower on every axis, enforced at issue (POST /v1/grants) and at use
(POST /v1/evidence), property-tested with Hypothesis over a real store."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.access.store import AccessStore, GrantRow
from notary_core.grant import Grant
from notary_core.logleaf import AccessAction, AccessEvent
from tests.access.world import SEC, World, world

AXES = ("start", "end", "scope", "signals", "actions", "nbf", "exp", "depth")


class Live:
    def __init__(self, portal: anyio.from_thread.BlockingPortal, w: World, parent: Grant) -> None:
        self.portal, self.w, self.parent = portal, w, parent

    def run(self, fn: Any, *args: Any, **kw: Any) -> Any:
        return self.portal.call(functools.partial(fn, *args, **kw))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("delegation")
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(world(tmp, shared_data, n_batches=4)) as w,
    ):
        parent = w.grant(
            "owner",
            "insurer",
            actions=("export",),
            depth=1,
            scope=("can0#0aa", "can0#224"),
            signals=("SPEED", "BRAKE_PRESSED"),
        )
        portal.call(functools.partial(w.ok, "owner", "POST", "/v1/grants",
                                      {"token": w.token("owner", parent)}))  # fmt: skip
        yield Live(portal, w, parent)


def _child(p: Grant, widen: frozenset[str], scope: list[str], n: int) -> Grant:
    """A sub-grant of `p` to the adjuster: wider on the `widen` axes, narrower or equal else."""
    w = lambda axis, wide, narrow: wide if axis in widen else narrow  # noqa: E731
    return replace(
        p, jti=f"g-d{n}-{time.time_ns()}", iss=p.sub, sub=p.sub, parent=p.jti,
        window_start_ns=p.window_start_ns + w("start", -SEC, SEC // 4),
        window_end_ns=p.window_end_ns + w("end", SEC, -SEC // 4),
        scope=tuple(scope) + w("scope", ("gnss",), ()),
        signals=p.signals[:1] + w("signals", ("RPM",), ()),
        actions=w("actions", ("read", "export"), ("export",)),
        nbf=p.nbf + w("nbf", -60, 0), exp=p.exp + w("exp", 60, -60),
        depth=w("depth", 1, 0),
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    widen=st.frozensets(st.sampled_from(AXES), max_size=3),
    scope=st.lists(st.sampled_from(["can0#0aa", "can0#224"]), min_size=1, max_size=2, unique=True),
)
def test_narrower_at_issue_and_at_use(live: Live, widen: frozenset[str], scope: list[str]) -> None:
    w, p = live.w, live.parent
    live.n = getattr(live, "n", 0) + 1
    child = _child(p, widen, scope, live.n)
    child = replace(child, sub=w.grant("owner", "adjuster").sub)
    r = live.run(w.call, "insurer", "POST", "/v1/grants", {"token": w.token("insurer", child)})
    window = (max(child.window_start_ns, p.window_start_ns) + SEC // 4,
              min(child.window_end_ns, p.window_end_ns) - SEC // 4)  # fmt: skip
    body = w.evidence_body(window_start_ns=window[0], window_end_ns=window[1],
                           scope=[scope[0]], grant=child.jti)  # fmt: skip
    if not widen:
        assert r.status_code == 201, r.text
        live.run(w.anchor)
        use = live.run(w.call, "adjuster", "POST", "/v1/evidence", body)
        assert use.status_code == 200, use.text
        outside = {"can0#0aa", "can0#224"} - set(scope)
        if outside:  # what the parent gives but the child does not
            body = body | {"scope": sorted(outside)}
            use = live.run(w.call, "adjuster", "POST", "/v1/evidence", body)
            assert (use.status_code, use.json()["reason"]) == (403, "OUTSIDE_GRANT")
        return
    assert (r.status_code, r.json()["reason"]) == (403, "DELEGATION_WIDENS"), (widen, r.text)
    # At use: a widened sub-grant that got into the store anyway (a bug, a restored backup)
    # is still refused, because every use re-checks the chain.
    live.run(_smuggle, w, child, w.token("insurer", child))
    use = live.run(w.call, "adjuster", "POST", "/v1/evidence", body)
    assert (use.status_code, use.json()["reason"]) == (403, "DELEGATION_WIDENS"), widen


async def _smuggle(w: World, g: Grant, token: str) -> None:
    async with AccessStore(w.store).tx() as atx:
        e = AccessEvent(AccessAction.GRANT, g.vehicle, g.iss, g.jti, g.window_start_ns,
                        g.window_end_ns, time.time_ns())  # fmt: skip
        index = await atx.log(e)
        await atx.add_grant(GrantRow(g.jti, g.vehicle, g.iss, g.sub, g.parent, token, index,
                                     None, None))  # fmt: skip
