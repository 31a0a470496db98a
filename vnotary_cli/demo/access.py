"""The demo's people: an operator, an owner and an insurer talking to the collector's API.

Every call is an HTTP request signed with the caller's own Ed25519 key (RFC 9421 through
collector.api.signatures); nobody holds a bearer token. The owner signs the grant (a compact
JWS) with their key; the insurer downloads the bundle under it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.access.signals import SignalDecoder
from collector.api.signatures import sign_request
from collector.settings import Settings
from collector.store.open import open_store
from notary_core import batch
from notary_core import grant as g
from vnotary_cli.demo.stack import DemoError

SEC = 1_000_000_000
DAY = 86_400 * SEC
HALF_WINDOW = 30 * SEC  # the insurer asks for the 60 s around the event


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(
        self, method: str, path: str, key: ed25519.Ed25519PrivateKey | None, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        url = self.base + path
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        if key is not None:
            headers |= sign_request(method, url, key, int(time.time()), data)
        req = urllib.request.Request(url, data or None, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (local API)
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def ok(self, method: str, path: str, key: ed25519.Ed25519PrivateKey, body: Any = None) -> Any:
        status, _, data = self.call(method, path, key, body)
        if status >= 300:
            raise DemoError(f"{method} {path}: HTTP {status}: {data.decode(errors='replace')}")
        return json.loads(data) if data else None

    def get(self, path: str) -> Any:
        status, _, data = self.call("GET", path, None)
        if status != 200:
            raise DemoError(f"GET {path}: HTTP {status}: {data.decode(errors='replace')}")
        return json.loads(data)


def _raw_b64url(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return g.b64url(raw)


def key_backup(key: ed25519.Ed25519PrivateKey, path: Path, passphrase: str) -> None:
    """The key as a portal backup file: encrypted PKCS#8 PEM (cryptography writes PBES2 with
    PBKDF2-HMAC-SHA256, 2,048 rounds, and AES-256-CBC; the portal writes 600,000 rounds and
    reads both). For the demo's throwaway keys, whose passphrase it prints."""
    enc = serialization.BestAvailableEncryption(passphrase.encode())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, enc))  # fmt: skip
    path.chmod(0o600)


def find_hardest_braking(config: Path, device: str, dbc: Path) -> tuple[int, float, int]:
    """The time of the strongest 1-second deceleration in the stored SPEED signal (0x0B4),
    decoded with the DBC, its deceleration, and the end of the drive (the last stored
    batch's last record); the collector operator's incident finder."""
    settings = Settings.load(config)

    end = 0

    async def speeds() -> tuple[list[int], list[float]]:
        nonlocal end
        async with await open_store(settings.store_url()) as store:
            rows = await store.batches_between(device, 0, 2**62)
        end = max((row.last_utc_ns for row in rows), default=0)
        records = [r for row in rows for r in batch.split_records_block(row.records_block)]
        view = SignalDecoder(str(dbc)).views(records, ["SPEED"])
        sig = view["signals"].get("SPEED")
        if not sig or len(sig["t"]) < 10:
            raise DemoError("no SPEED signal was stored: did the CAN trace reach the collector?")
        return list(sig["t"]), list(sig["v"])

    t, v = asyncio.run(speeds())
    best, at, j = 0.0, t[0], 0
    for i in range(len(t)):
        while j < len(t) and t[j] < t[i] + SEC:
            j += 1
        if j == len(t):
            break
        decel = (v[i] - v[j]) / 3.6 / ((t[j] - t[i]) / SEC)  # km/h -> m/s per second
        if decel > best:
            best, at = decel, (t[i] + t[j]) // 2
    return at, best, end


def grant_and_download(
    api: Api,
    operator: ed25519.Ed25519PrivateKey,
    collector_pub: Path,
    vehicle: str,
    device: str,
    event_ns: int,
    drive_end_ns: int,
    scope: Sequence[str],
    signals: Sequence[str],
    out: Path,
    note: Callable[[str], None],
) -> tuple[Path, str, ed25519.Ed25519PrivateKey, ed25519.Ed25519PrivateKey]:
    """Register, ask, grant, read and download; return the bundle, the grant id and the
    owner's and the insurer's keys (for the portal, `vnotary demo --serve`)."""
    owner, insurer = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    since = event_ns - DAY  # the car was bought, and the device installed, a day ago
    api.ok("POST", "/v1/vehicles", operator, {"vehicle_id": vehicle, "label": "RAV4 2017"})
    api.ok("POST", f"/v1/vehicles/{vehicle}/devices", operator,
           {"device_id": device, "start_ns": since})  # fmt: skip
    for role, name, key in (("owner", "A. Owner", owner), ("insurer", "Example Mutual", insurer)):
        api.ok("POST", "/v1/parties", operator,
               {"role": role, "name": name, "public_key": _raw_b64url(key)})  # fmt: skip
    owner_id, insurer_id = g.thumbprint(owner.public_key()), g.thumbprint(insurer.public_key())
    api.ok(
        "POST", f"/v1/vehicles/{vehicle}/owners", operator, {"owner": owner_id, "start_ns": since}
    )
    note(f"registered {vehicle} with {device}; owner {owner_id[:12]}…, insurer {insurer_id[:12]}…")

    # Within the drive: past its last batch, no proof could say that nothing more will come
    # (the verifier's WINDOW_OPEN), so the insurer asks up to where the drive ended.
    window = (event_ns - HALF_WINDOW, min(event_ns + HALF_WINDOW, drive_end_ns))
    purpose = "claim 2026-0042: braking event"
    ask = {"window_start_ns": window[0], "window_end_ns": window[1], "scope": list(scope),
           "signals": list(signals), "actions": ["read", "export"],
           "purpose": purpose}  # fmt: skip
    request = api.ok("POST", f"/v1/vehicles/{vehicle}/requests", insurer, ask)
    span = (window[1] - window[0]) / SEC
    note(f"insurer asked ({request['id']}): {span:.0f} s around the event, {', '.join(scope)}")

    now = int(time.time())
    grant = g.Grant(
        jti="g-" + secrets.token_urlsafe(9), iss=owner_id, sub=insurer_id, vehicle=vehicle,
        window_start_ns=window[0], window_end_ns=window[1], scope=tuple(scope),
        signals=tuple(signals), actions=("read", "export"), purpose=purpose,
        nbf=now - 60, exp=now + 30 * 86_400, iat=now, depth=0,
    )  # fmt: skip
    api.ok("POST", f"/v1/requests/{request['id']}/grant", owner, {"token": g.issue(grant, owner)})
    note(f"owner granted it ({grant.jti}, read + export, 30 days, no delegation)")

    body = {"vehicle_id": vehicle, "window_start_ns": window[0], "window_end_ns": window[1],
            "scope": list(scope)}  # fmt: skip
    page = api.ok("POST", "/v1/records", insurer, {**body, "limit": 100})
    more = "" if page["next_cursor"] is None else ", more behind next_cursor"
    note(f"insurer read {len(page['records'])} records{more} (logged as READ, "
         f"entry {page['access_log_index']}); now the evidence")  # fmt: skip
    body |= {"event_utc_ns": event_ns, "event_label": "hardest braking"}
    deadline = time.monotonic() + 90
    while True:
        status, headers, data = api.call("POST", "/v1/evidence", insurer, body)
        if status == 200:
            out.write_bytes(data)
            return out, grant.jti, owner, insurer
        if status != 503 or time.monotonic() > deadline:
            raise DemoError(f"POST /v1/evidence: HTTP {status}: {data.decode(errors='replace')}")
        note("waiting for the checkpoint with the grant to be anchored …")
        time.sleep(float(headers.get("Retry-After", "1")))
