"""Typed dependencies of the API: the store, the access store, and the signed-request caller.

`caller` verifies the RFC 9421 signature over method, path, query and body digest with the
key its keyid names (an operator key from settings, or a registered party's key), refuses a
party key the operator revoked or rotated out (401 REVOKED_KEY, KEY_ROTATED), then spends
the nonce: a replayed request is refused with 401 REPLAY.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, Request

from collector.access.rules import AccessReason, Forbidden, RateLimited
from collector.access.store import AccessStore, Party
from collector.api.signatures import Unauthorized, parse_signature
from collector.settings import Settings
from collector.store.base import Store
from notary_core.errors import Reason
from notary_core.grant import thumbprint


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_access(request: Request) -> AccessStore:
    return AccessStore(get_store(request))


def raw_key(b64url: str) -> ed25519.Ed25519PublicKey:
    raw = base64.urlsafe_b64decode(b64url + "=" * (-len(b64url) % 4))
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


class PartyBuckets:
    """Token buckets of signed requests per party key (one per API process)."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate, self.burst = rate_per_s, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # keyid -> (tokens, at)

    def take(self, keyid: str, now: float) -> None:
        tokens, at = self._buckets.get(keyid, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[keyid] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self.rate)
            raise RateLimited(f"more than {self.burst} requests, then {self.rate:g}/s: "
                              f"retry in {wait} s", wait)  # fmt: skip
        self._buckets[keyid] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:  # bounded: forget full buckets
            full = [
                k for k, (t, a) in self._buckets.items() if t + (now - a) * self.rate >= self.burst
            ]
            for k in full:
                del self._buckets[k]


class KeyRetired(Unauthorized):
    """A registered party key the operator revoked (REVOKED_KEY) or rotated out
    (KEY_ROTATED, naming its successor): every request it signs since then, HTTP 401."""

    def __init__(self, party: Party) -> None:
        when = f"at {party.revoked_utc_ns} (log#{party.revoke_index})"
        if party.successor is None:
            super().__init__(Reason.REVOKED_KEY, f"this key was revoked by the operator {when}")
        else:
            super().__init__(Reason.REVOKED_KEY, f"this key was rotated out by the operator "
                             f"{when}: sign with its successor {party.successor}")  # fmt: skip
            self.reason = AccessReason.KEY_ROTATED  # type: ignore[assignment]


@dataclass(frozen=True)
class Caller:
    thumbprint: str
    role: str  # operator | owner | insurer | adjuster | court | expert
    party: Party | None


async def caller(request: Request) -> Caller:
    settings: Settings = request.app.state.settings
    operators: dict[str, ed25519.Ed25519PublicKey] = request.app.state.operators
    body = await request.body()
    sig = parse_signature(request.headers)
    now_ns = time.time_ns()
    access = get_access(request)
    party: Party | None = None
    key = operators.get(sig.keyid)
    if key is None:
        async with access.tx() as atx:
            party = await atx.party(sig.keyid)
        if party is None:
            raise Unauthorized(Reason.UNKNOWN_KEY, "the signing key is not registered")
        key = ed25519.Ed25519PublicKey.from_public_bytes(party.public_key)
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    sig.verify(request.method, path, query, request.headers, body, key, now_ns // 10**9,
               settings.access.max_signature_age_s)  # fmt: skip
    if party is not None and not party.live:  # read in this request: effective at once
        raise KeyRetired(party)
    if party is not None:  # a party's requests may each add an access-log entry
        buckets: PartyBuckets = request.app.state.party_buckets
        buckets.take(sig.keyid, time.monotonic())
    async with access.tx() as atx:
        await atx.consume_nonce(sig.keyid, sig.nonce, sig.expires, now_ns)
    return Caller(thumbprint(key), "operator" if party is None else party.role, party)


CallerDep = Annotated[Caller, Depends(caller)]
StoreDep = Annotated[Store, Depends(get_store)]
AccessDep = Annotated[AccessStore, Depends(get_access)]


def need(c: Caller, *roles: str) -> Caller:
    if c.role not in roles:
        raise Forbidden(AccessReason.FORBIDDEN, f"a {c.role} may not do this")
    return c
