"""RFC 9421 signed requests: replayed, tampered, expired, unknown or missing signatures -> 401."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from collector.api.signatures import sign_request
from tests.access.world import VEHICLE, world

pytestmark = pytest.mark.anyio
URL = "http://collector.test"


async def test_signature_attacks(tmp_path: Path, shared_data: Path) -> None:
    async with world(tmp_path, shared_data, n_batches=2) as w:
        body = json.dumps({"vehicle_id": "vin-2", "label": "x"}).encode()
        key = w.keys["operator"]
        now = int(time.time())
        h = sign_request("POST", URL + "/v1/vehicles", key, now, body)
        h["content-type"] = "application/json"
        first = await w.client.post("/v1/vehicles", content=body, headers=h)
        assert first.status_code == 201
        replay = await w.client.post("/v1/vehicles", content=body, headers=h)
        assert (replay.status_code, replay.json()["reason"]) == (401, "REPLAY")

        def fresh(path: str = "/v1/vehicles", data: bytes = body, t: int = now) -> dict[str, str]:
            return sign_request("POST", URL + path, key, t, data) | {
                "content-type": "application/json"}  # fmt: skip

        tampered = body.replace(b"vin-2", b"vin-3")
        r = await w.client.post("/v1/vehicles", content=tampered, headers=fresh())
        assert (r.status_code, r.json()["reason"]) == (401, "BAD_SIGNATURE")
        # the digest recomputed for the new body, the signature not: still refused
        h2 = fresh() | {"Content-Digest": sign_request("POST", URL, key, now, tampered)[
            "Content-Digest"]}  # fmt: skip
        r = await w.client.post("/v1/vehicles", content=tampered, headers=h2)
        assert (r.status_code, r.json()["reason"]) == (401, "BAD_SIGNATURE")
        r = await w.client.post("/v1/parties", content=body, headers=fresh())  # other path
        assert (r.status_code, r.json()["reason"]) == (401, "BAD_SIGNATURE")
        r = await w.client.post("/v1/vehicles?x=1", content=body, headers=fresh())  # query
        assert (r.status_code, r.json()["reason"]) == (401, "BAD_SIGNATURE")
        old = fresh(t=now - 3600)
        r = await w.client.post("/v1/vehicles", content=body, headers=old)
        assert (r.status_code, r.json()["reason"]) == (401, "BAD_SIGNATURE")
        long_lived = sign_request("POST", URL + "/v1/vehicles", key, now, body, ttl_s=3600)
        r = await w.client.post("/v1/vehicles", content=body, headers=long_lived)
        assert r.status_code == 401
        r = await w.client.post("/v1/vehicles", content=body,
                                headers={"content-type": "application/json"})  # fmt: skip
        assert (r.status_code, r.json()["reason"]) == (401, "BAD_SIGNATURE")
        from cryptography.hazmat.primitives.asymmetric import ed25519

        stranger = sign_request("POST", URL + "/v1/vehicles", ed25519.Ed25519PrivateKey.generate(),
                                now, body)  # fmt: skip
        r = await w.client.post("/v1/vehicles", content=body, headers=stranger)
        assert (r.status_code, r.json()["reason"]) == (401, "UNKNOWN_KEY")
        garbage = fresh() | {
            "Signature-Input": 'vn=("@method");created=x',
            "Signature": "vn=:AA==:",
        }
        r = await w.client.post("/v1/vehicles", content=body, headers=garbage)
        assert (r.status_code, r.json()["reason"]) == (401, "MALFORMED")
        big = b"{" + b" " * 70_000 + b"}"
        r = await w.client.post("/v1/vehicles", content=big, headers=fresh(data=big))
        assert (r.status_code, r.json()["reason"]) == (413, "TOO_LARGE")
        # a GET is signed too: method + path + query, no body
        r = await w.call("owner", "GET", f"/v1/vehicles/{VEHICLE}/requests")
        assert r.status_code == 200
