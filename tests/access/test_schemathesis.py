"""Schemathesis against the OpenAPI schema, in-process: no input gets a server error (5xx).

Each generated request is signed (RFC 9421) by a registered key, rotating through the
roles, so generation reaches the routes' validation and flows, not only the 401 gate.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, settings

from collector.api.app import create_app
from collector.api.signatures import sign_request
from collector.settings import AccessSettings, Settings, write_key
from tests.access.world import DBC, ROLES, VEHICLE, raw_pub, tp

_DUMMY = Settings(store="sqlite:///:memory:", key_file="-", origin="o")
schema = schemathesis.openapi.from_dict(create_app(_DUMMY).openapi())


class Signed:
    def __init__(
        self, portal: anyio.from_thread.BlockingPortal, client: httpx.AsyncClient,
        keys: dict[str, ed25519.Ed25519PrivateKey],
    ) -> None:  # fmt: skip
        self.portal = portal
        self.client = client
        self.keys = keys
        self.turn = 0

    def send(self, method: str, path: str, body: Any = None, role: str | None = None,
             params: dict[str, Any] | None = None) -> Any:  # fmt: skip
        if role is None:
            role = ROLES[self.turn % len(ROLES)]
            self.turn += 1
        data = b"" if body is None else json.dumps(body).encode()
        query = str(
            httpx.QueryParams({k: "" if v is None else v for k, v in (params or {}).items()})
        )
        url = path + (f"?{query}" if query else "")
        h = sign_request(method, "http://testserver" + url, self.keys[role], int(time.time()), data)
        h["content-type"] = "application/json"
        go = functools.partial(self.client.request, method, url, content=data, headers=h)
        return self.portal.call(go)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Signed]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    write_key(tmp / "collector.key")
    keys = {r: ed25519.Ed25519PrivateKey.generate() for r in ROLES}
    s = Settings(store=f"sqlite:///{tmp / 'c.db'}", key_file=str(tmp / "collector.key"),
                 origin="collector.test/log",
                 access=AccessSettings(operator_keys=(raw_pub(keys["operator"]),),
                                       dbc=str(shared_data / DBC)))  # fmt: skip
    app = create_app(s)
    with anyio.from_thread.start_blocking_portal() as portal, ExitStack() as stack:
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        stack.enter_context(portal.wrap_async_context_manager(client))
        c = Signed(portal, client, keys)
        assert (
            c.send("POST", "/v1/vehicles", {"vehicle_id": VEHICLE}, "operator").status_code == 201
        )
        for role in ROLES[1:]:
            body = {"role": "owner" if "owner" in role else role, "name": role,
                    "public_key": raw_pub(keys[role])}  # fmt: skip
            assert c.send("POST", "/v1/parties", body, "operator").status_code == 201
        owner = {"owner": tp(keys["owner"]), "start_ns": 0}
        assert (
            c.send("POST", f"/v1/vehicles/{VEHICLE}/owners", owner, "operator").status_code == 201
        )
        yield c


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case: schemathesis.Case, signed: Signed) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    path = kwargs["url"].removeprefix("http://testserver")
    body = kwargs.get("json")
    r = signed.send(case.method.upper(), path, body, params=kwargs.get("params"))
    assert r.status_code < 500, (case.method, path, body, r.status_code, r.text)
    if r.status_code >= 400:
        assert set(r.json()) == {"reason", "message"}, r.text
