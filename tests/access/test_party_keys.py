"""The operator revokes or rotates a party's key (issue 16 §3, docs/access.md § Party keys):
an operator-signed request or the CLI, logged as a registry event on the chain
party:<thumbprint>, and every request the old key signs is refused from that moment (401
REVOKED_KEY or KEY_ROTATED), even one it signed before. Real store, the app over HTTP."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.api.signatures import sign_request
from notary_core import heads
from notary_core.logleaf import RegistryAction, RegistryEvent, parse_leaf
from tests.access.world import VEHICLE, World, raw_pub, tp, world

VNOTARY = Path(sys.executable).parent / "vnotary"

pytestmark = pytest.mark.anyio
URL = "http://collector.test"


def _spki(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def _event(w: World, index: int) -> RegistryEvent:
    e = parse_leaf(await w.store.leaf(index))
    assert isinstance(e, RegistryEvent)
    return e


def _ask(w: World) -> dict[str, object]:
    first, last = w.batches[0][0], w.batches[-1][1]
    return {"window_start_ns": first, "window_end_ns": last, "scope": ["can0#0aa"],
            "actions": ["read"], "purpose": "claim 7"}  # fmt: skip


async def _reason(w: World, who: str, method: str, path: str, body: object = None) -> tuple:
    r = await w.call(who, method, path, body)
    return r.status_code, r.json().get("reason")


async def test_the_operator_revokes_a_party_key(
    tmp_path: Path, shared_data: Path, store_url: str
) -> None:
    async with world(tmp_path, shared_data, n_batches=2, store=store_url) as w:
        insurer = tp(w.keys["insurer"])
        await w.ok("insurer", "POST", f"/v1/vehicles/{VEHICLE}/requests", _ask(w))
        # signed before the revocation, sent after: refused all the same
        early = sign_request("GET", f"{URL}/v1/me/requests", w.keys["insurer"], int(time.time()))
        # only an operator may revoke
        assert await _reason(w, "owner", "POST", f"/v1/parties/{insurer}/revoke", {}) == (
            403, "FORBIDDEN")  # fmt: skip
        out = await w.ok("operator", "POST", f"/v1/parties/{insurer}/revoke", {})
        e = await _event(w, out["log_index"])
        assert e.action is RegistryAction.REVOKE and e.device_id == f"party:{insurer}"
        assert e.key_spki == _spki(w.keys["insurer"]) and e.link is not None
        r = await w.client.get("/v1/me/requests", headers=early)
        assert (r.status_code, r.json()["reason"]) == (401, "REVOKED_KEY")
        assert await _reason(w, "insurer", "POST", f"/v1/vehicles/{VEHICLE}/requests",
                             _ask(w)) == (401, "REVOKED_KEY")  # fmt: skip
        assert "revoked by the operator" in (await w.call("insurer", "GET", "/v1/me/requests")
                                             ).json()["message"]  # fmt: skip
        # a grant to the revoked key is refused
        g = w.grant("owner", "insurer")
        assert await _reason(w, "owner", "POST", "/v1/grants", {"token": w.token("owner", g)}) == (
            409, "CONFLICT")  # fmt: skip
        # revoked once: a second revocation is a conflict, an unknown key not found
        assert await _reason(w, "operator", "POST", f"/v1/parties/{insurer}/revoke", {}) == (
            409, "CONFLICT")  # fmt: skip
        stranger = tp(ed25519.Ed25519PrivateKey.generate())
        assert await _reason(w, "operator", "POST", f"/v1/parties/{stranger}/revoke", {}) == (
            404, "NOT_FOUND")  # fmt: skip
        shown = await w.ok("owner", "GET", f"/v1/parties/{insurer}")
        assert shown["revoked_utc_ns"] is not None and shown["successor"] is None
        assert shown["revoke_log_index"] == out["log_index"]
        # the others are untouched
        await w.ok("adjuster", "GET", "/v1/me/requests")
        # the next checkpoint's index proves the party chain's head: the revocation
        await w.publish()
        cp = await w.store.latest_checkpoint()
        assert cp is not None and cp.size > out["log_index"]
        async with w.store.transaction() as tx:
            keeper = await w.store.index_at(tx, cp.size)
            value, _ = keeper.prove(cp.size - 1, heads.device_key(f"party:{insurer}"))
        head = heads.DeviceHead.parse(value).chain
        assert (head.count, head.last_index) == (1, out["log_index"])


async def test_the_operator_rotates_a_party_key(tmp_path: Path, shared_data: Path) -> None:
    async with world(tmp_path, shared_data, n_batches=2) as w:
        old = tp(w.keys["insurer"])
        new_key = ed25519.Ed25519PrivateKey.generate()
        new = tp(new_key)
        path = f"/v1/parties/{old}/rotate"
        bad = {"public_key": raw_pub(w.keys["adjuster"])}  # someone else's registered key
        assert await _reason(w, "operator", "POST", path, bad) == (409, "CONFLICT")
        assert await _reason(w, "insurer", "POST", path, {"public_key": raw_pub(new_key)}) == (
            403, "FORBIDDEN")  # fmt: skip
        out = await w.ok("operator", "POST", path, {"public_key": raw_pub(new_key)})
        assert out["successor"] == new
        e = await _event(w, out["log_index"])
        assert e.action is RegistryAction.ROTATE and e.device_id == f"party:{old}"
        assert e.key_spki == _spki(new_key) and e.not_after_ns is None
        r = await w.call("insurer", "GET", "/v1/me/requests")
        assert (r.status_code, r.json()["reason"]) == (401, "KEY_ROTATED")
        assert new in r.json()["message"]
        w.keys["insurer-new"] = new_key
        shown = await w.ok("insurer-new", "GET", f"/v1/parties/{new}")
        assert (shown["role"], shown["name"], shown["successor"]) == ("insurer", "insurer", None)
        await w.ok("insurer-new", "POST", f"/v1/vehicles/{VEHICLE}/requests", _ask(w))
        # the owner re-grants to the new key; the old key's grant is refused
        g_old = w.grant("owner", "insurer")
        assert await _reason(w, "owner", "POST", "/v1/grants",
                             {"token": w.token("owner", g_old)}) == (409, "CONFLICT")  # fmt: skip
        g_new = w.grant("owner", "insurer-new")
        await w.ok("owner", "POST", "/v1/grants", {"token": w.token("owner", g_new)})
        # a rotated-out key cannot be rotated again
        again = {"public_key": raw_pub(ed25519.Ed25519PrivateKey.generate())}
        assert await _reason(w, "operator", "POST", path, again) == (409, "CONFLICT")


async def _vnotary(*argv: str) -> tuple[int, str]:
    """`vnotary ...` as its own process (the operator's shell on the collector host)."""
    proc = await asyncio.create_subprocess_exec(
        str(VNOTARY), *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_the_cli_revokes_and_rotates_for_the_running_api(
    tmp_path: Path, shared_data: Path
) -> None:
    async with world(tmp_path, shared_data, n_batches=2) as w:
        cfg = tmp_path / "collector.toml"
        cfg.write_text(f'store = "{w.settings.store}"\nkey_file = "{w.settings.key_file}"\n'
                       f'origin = "{w.settings.origin}"\n')  # fmt: skip
        court, adjuster = tp(w.keys["court"]), tp(w.keys["adjuster"])
        code, out = await _vnotary("collector", "party-revoke", "--config", str(cfg), "--", court)
        assert code == 0 and f"revoked party key {court}: log#" in out, out
        assert await _reason(w, "court", "GET", "/v1/me/requests") == (401, "REVOKED_KEY")
        new_key = ed25519.Ed25519PrivateKey.generate()
        code, out = await _vnotary("collector", "party-rotate", "--config", str(cfg),
                                   f"--public-key={raw_pub(new_key)}", "--", adjuster)  # fmt: skip
        assert code == 0 and f"to {tp(new_key)}" in out, out
        assert await _reason(w, "adjuster", "GET", "/v1/me/requests") == (401, "KEY_ROTATED")
        w.keys["adjuster-new"] = new_key
        await w.ok("adjuster-new", "GET", "/v1/me/requests")
        code, out = await _vnotary("collector", "party-revoke", "--config", str(cfg), "--", court)
        assert code == 2 and "CONFLICT" in out and "already revoked" in out, out
