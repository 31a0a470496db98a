"""A collector with its access API in-process (ASGI, real HTTP semantics through httpx), a real
SQLite store, batches of real RAV4 CAN frames ingested by the real Ingestor, and anchoring by
the real Anchorer over an in-memory chain (the fake: unit tests only; the demo uses anvil)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI

from collector.api.app import create_app
from collector.api.signatures import sign_request
from collector.ingest.pipeline import Ingestor
from collector.log.anchor import Anchor, Anchorer, Found, Head, Mined
from collector.log.witnesses import Witnessing
from collector.settings import AccessSettings, Settings, WitnessSettings, write_key
from collector.store.base import Store
from notary_core import anchoring, grant
from notary_core.checkpoint import NoteSigner
from notary_core.records import decode
from tests.collector.fleet import Device, load_can_records

SEC = 1_000_000_000
VEHICLE = "vin-2T3RFREV7HW000001"
DBC = "dbc/toyota_rav4_2017_pt_generated.dbc"


class MemoryChain(Anchor):
    """Mines every anchor at once, by the version-2 rules (a head, extended only);
    N confirmations come from advancing `latest`."""

    chain_id = 31337
    contract = "0x" + "ab" * 20

    def __init__(self) -> None:
        self.latest = 100
        self.sent: dict[bytes, Mined | str] = {}
        self.events: dict[bytes, Found] = {}
        self.head_ = anchoring.GENESIS

    async def send(self, size: int, root: bytes, prev_size: int, prev_root: bytes) -> bytes:
        tx = bytes([len(self.sent) + 1]) * 32
        self.latest += 1
        mined = Mined(self.latest, bytes([0xCC]) * 31 + bytes([len(self.sent)]))
        if (prev_size, prev_root) != (self.head_.size, self.head_.root) or size <= prev_size:
            self.sent[tx] = "reverted"
            return tx
        self.head_ = anchoring.Head(size, root)
        self.sent[tx] = mined
        self.events[root] = Found(tx, mined, prev_root)
        return tx

    async def status(self, tx_hash: bytes) -> Mined | str:
        return self.sent.get(tx_hash, "unknown")

    async def find(self, root: bytes) -> Found | None:
        return self.events.get(root)

    async def anchored(self) -> anchoring.Head:
        return self.head_

    async def head(self) -> Head:
        return Head(self.latest, None)


def raw_pub(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def tp(key: ed25519.Ed25519PrivateKey) -> str:
    return grant.thumbprint(key.public_key())


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    keys: dict[str, ed25519.Ed25519PrivateKey]
    device: Device
    chain: MemoryChain = field(default_factory=MemoryChain)
    batches: list[tuple[int, int]] = field(default_factory=list)  # (first, last utc) ingested

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store
        return store

    async def call(
        self, who: str | None, method: str, path: str, body: Any = None, **headers: str
    ) -> httpx.Response:
        data = b"" if body is None else json.dumps(body).encode()
        h = {"content-type": "application/json"} if body is not None else {}
        if who is not None:
            url = f"http://collector.test{path}"
            h |= sign_request(method, url, self.keys[who], int(time.time()), data)
        h |= headers
        return await self.client.request(method, path, content=data, headers=h)

    async def ok(self, who: str, method: str, path: str, body: Any = None) -> Any:
        r = await self.call(who, method, path, body)
        assert r.status_code in (200, 201), (r.status_code, r.text)
        return r.json()

    async def anchor(self) -> None:
        """Publish a checkpoint of the log (`publish`) and anchor it: sent, mined and final
        (1 confirmation)."""
        await self.publish()
        anchorer = Anchorer(self.store, self.chain, confirmations=1)
        await anchorer.tick(time.time_ns())
        await anchorer.tick(time.time_ns())

    async def publish(self) -> None:
        """Sign a checkpoint, and have the witnesses cosign it if any are configured."""
        await self.app.state.checkpoint_signer.sign_if_grown(time.time_ns())
        if self.settings.witness:
            clients = self.settings.witness_clients()
            try:
                rounds = Witnessing(self.store, clients, self.settings.witness_quorum)
                assert await rounds.tick(time.time_ns()) is not None, "not witnessed"
            finally:
                for client in clients:
                    await client.close()

    def grant(self, issuer: str, grantee: str, **changes: Any) -> grant.Grant:
        now = int(time.time())
        first, last = self.batches[1][0], self.batches[-1][1]
        g = grant.Grant(
            jti=f"g-{issuer}-{grantee}-{time.time_ns()}", iss=tp(self.keys[issuer]),
            sub=tp(self.keys[grantee]), vehicle=VEHICLE, window_start_ns=first,
            window_end_ns=last, scope=("can0#0aa", "can0#0b4", "can0#224"),
            signals=("WHEEL_SPEED_FL", "SPEED", "BRAKE_PRESSED"), actions=("read", "export"),
            purpose="claim 42", nbf=now - 60, exp=now + 3600, iat=now - 60, depth=1,
        )  # fmt: skip
        return replace(g, **changes)

    def token(self, issuer: str, g: grant.Grant) -> str:
        return grant.issue(g, self.keys[issuer])

    def evidence_body(self, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "vehicle_id": VEHICLE, "window_start_ns": self.batches[1][0] + SEC // 4,
            "window_end_ns": self.batches[2][1], "scope": ["can0#0aa", "can0#224"],
            "event_utc_ns": self.batches[2][0], "event_label": "hard brake",
        }  # fmt: skip
        return body | changes


ROLES = ("operator", "owner", "other_owner", "insurer", "adjuster", "court")
ORIGIN = "collector.test/vnotary/log"


def log_key(tmp: Path, name: str = "collector.key") -> str:
    """The log's verifier key of the world that `world(tmp, ...)` will build (made now;
    `name="log.key"` for a world with `separate_keys`)."""
    if not (tmp / name).exists():
        write_key(tmp / name)
    key = serialization.load_pem_private_key((tmp / name).read_bytes(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return NoteSigner(ORIGIN.split("/", maxsplit=1)[0], key).verifier.vkey


@asynccontextmanager
async def world(
    tmp: Path, shared_data: Path, n_batches: int = 4, store: str | None = None,
    witnesses: tuple[WitnessSettings, ...] = (), separate_keys: bool = False,
) -> AsyncIterator[World]:  # fmt: skip
    """Vehicle, device, owner (for all time), other owner (no binding), parties registered;
    `n_batches` one-second batches of the real trace ingested; SQLite unless `store` says;
    checkpoints published by a quorum of all `witnesses` if any (their key: `log_key`); one
    key per statement with `separate_keys` (log.key, receipt.key, bundle.key)."""
    files = ("log", "receipt", "bundle") if separate_keys else ("collector",)
    for name in files:
        if not (tmp / f"{name}.key").exists():
            write_key(tmp / f"{name}.key")
    key_files = ({f"{n}_key_file": str(tmp / f"{n}.key") for n in files} if separate_keys
                 else {"key_file": str(tmp / "collector.key")})  # fmt: skip
    keys = {r: ed25519.Ed25519PrivateKey.generate() for r in ROLES}
    settings = Settings(
        store=store or f"sqlite:///{tmp / 'c.db'}", **key_files, origin=ORIGIN,
        access=AccessSettings(operator_keys=(raw_pub(keys["operator"]),),
                              dbc=str(shared_data / DBC), retry_after_s=1),
        witness=witnesses, witness_quorum=len(witnesses),
    )  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector.test") as c:
            w = World(app, c, settings, keys, Device("veh-0001"))
            await _register(w)
            await _ingest(w, shared_data, n_batches)
            yield w


async def _register(w: World) -> None:
    await w.ok("operator", "POST", "/v1/vehicles", {"vehicle_id": VEHICLE, "label": "RAV4"})
    spki = base64.b64encode(w.device.spki).decode()
    await w.ok(
        "operator",
        "POST",
        "/v1/devices",
        {"device_id": w.device.device_id, "public_key": spki, "not_before_ns": 0},
    )
    await w.ok("operator", "POST", f"/v1/vehicles/{VEHICLE}/devices",
               {"device_id": w.device.device_id, "start_ns": 0})  # fmt: skip
    for role in ROLES[1:]:
        kind = "owner" if "owner" in role else role
        await w.ok(
            "operator",
            "POST",
            "/v1/parties",
            {"role": kind, "name": role, "public_key": raw_pub(w.keys[role])},
        )
    await w.ok("operator", "POST", f"/v1/vehicles/{VEHICLE}/owners",
               {"owner": tp(w.keys["owner"]), "start_ns": 0})  # fmt: skip


async def _ingest(w: World, shared_data: Path, n_batches: int) -> None:
    records = load_can_records(shared_data, 2300 * n_batches)
    start = decode(records[0]).utc_ns // SEC * SEC
    ingestor = Ingestor(w.store, w.settings.receipt_signer())
    for i in range(n_batches):
        lo, hi = start + i * SEC, start + (i + 1) * SEC
        chunk = [r for r in records if lo <= decode(r).utc_ns < hi]
        sealed = w.device.seal(chunk, utc_ns=lo)
        out = await ingestor.ingest(f"vn/v1/dev/{w.device.device_id}/batch", sealed.to_bytes(),
                                    time.time_ns())  # fmt: skip
        assert out.status == "stored", out
        w.batches.append((lo, lo + 999_000_000))
