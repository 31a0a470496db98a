"""Access grants: compact JWS (RFC 7515) signed with EdDSA/Ed25519 (docs/protocol.md §Grants).

An owner grants a party access to a window of a vehicle's data, for some streams and
actions, for a while; a party may delegate a strictly narrower grant. Every grant carries
its signer's public key (`jwk` header) and names it by RFC 7638 thumbprint (`iss`), so a
chain of grants verifies offline, from the owner's key down.

Scope items: a stream name (`gnss`, `imu`, `can0`) covers all its records; `can0#0aa`
covers one CAN identifier (candump style: lower-case hex, 3 digits for 11-bit ids, 8 for
29-bit ids).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.errors import BadData, Reason, too_large

GRANT_TYP = "vnotary-grant+jwt"
MAX_GRANT_SIZE = 8192
MAX_CHAIN = 8
MAX_SCOPE_ITEMS = 256
ACTIONS = frozenset({"read", "export"})
_SCOPE_RE = re.compile(r"[a-z0-9][a-z0-9:._-]{0,31}(#[0-9a-f]{3}|#[0-9a-f]{8})?")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise BadData(Reason.GRANT_INVALID, "not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadData(Reason.GRANT_INVALID, "not base64url") from None


def public_jwk(public: ed25519.Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}


def thumbprint(public: ed25519.Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an Ed25519 key: its stable, public id."""
    canonical = json.dumps(public_jwk(public), separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def key_from_jwk(jwk: Any) -> ed25519.Ed25519PublicKey:
    if not (isinstance(jwk, dict) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519"):
        raise BadData(Reason.UNSUPPORTED_ALGORITHM, "grant keys must be Ed25519 OKP JWKs")
    raw = b64url_decode(str(jwk.get("x", "")))
    if len(raw) != 32:
        raise BadData(Reason.BAD_KEY, "Ed25519 key must be 32 bytes")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def scope_covers(parent: str, child: str) -> bool:
    """`can0` covers `can0` and `can0#0aa`; `can0#0aa` covers only itself."""
    return child == parent or child.startswith(parent + "#")


def record_scope_item(stream: str, can_id: int | None = None, extended: bool = False) -> str:
    """The scope item a record falls under: its stream, or for CAN its stream#id."""
    if can_id is None:
        return stream
    return f"{stream}#{can_id:08x}" if extended else f"{stream}#{can_id:03x}"


def is_scope_item(item: str) -> bool:
    """A scope item as §11 and §12.3 write it (`can0`, `can0#0aa`, lower-case hex only)."""
    return _SCOPE_RE.fullmatch(item) is not None


def in_scope(scope: Iterable[str], item: str) -> bool:
    return any(scope_covers(s, item) for s in scope)


_EFF, _ERR = 0x8000_0000, 0x2000_0000


def covers_item(scope: Iterable[str], stream: str, key: int) -> bool:
    """Version-2 scope rule (docs/protocol.md §12.3) over a header item key (§4.3): a
    stream item covers every key of its stream; `s#hhh` the 11-bit id, `s#hhhhhhhh` the
    29-bit id; error frames and non-CAN records (key -1) only a whole-stream item."""
    for s in scope:
        if s == stream:
            return True
        if (
            key >= 0
            and not key & _ERR
            and s.startswith(stream)
            and s[len(stream) : len(stream) + 1] == "#"
        ):
            digits = s[len(stream) + 1 :]
            if key == int(digits, 16) | (_EFF if len(digits) == 8 else 0):
                return True
    return False


@dataclass(frozen=True, slots=True)
class Grant:
    jti: str  # grant id
    iss: str  # thumbprint of the signer (owner, or the delegating party)
    sub: str  # thumbprint of the grantee
    vehicle: str
    window_start_ns: int
    window_end_ns: int
    scope: tuple[str, ...]  # stream / stream:canid items
    signals: tuple[str, ...]  # DBC signal names, for decoding and the report
    actions: tuple[str, ...]
    purpose: str
    nbf: int  # seconds since the epoch (RFC 7519 NumericDate)
    exp: int
    iat: int
    depth: int  # how many further delegations are allowed
    parent: str | None = None  # jti of the grant this one narrows

    def claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "jti": self.jti, "iss": self.iss, "sub": self.sub, "veh": self.vehicle,
            "win": [self.window_start_ns, self.window_end_ns], "scope": list(self.scope),
            "sig": list(self.signals), "act": list(self.actions), "purpose": self.purpose,
            "nbf": self.nbf, "exp": self.exp, "iat": self.iat, "depth": self.depth,
        }  # fmt: skip
        if self.parent is not None:
            out["parent"] = self.parent
        return out

    def validate(self) -> None:
        problems = []
        if not (0 <= self.window_start_ns < self.window_end_ns):
            problems.append("window")
        if not (self.nbf < self.exp):
            problems.append("validity")
        if not (0 <= self.depth <= MAX_CHAIN):
            problems.append("depth")
        if not self.actions or not set(self.actions) <= ACTIONS:
            problems.append("actions")
        if not self.scope or len(self.scope) > MAX_SCOPE_ITEMS:
            problems.append("scope size")
        if any(not _SCOPE_RE.fullmatch(s) for s in self.scope):
            problems.append("scope item")
        if problems:
            raise BadData(Reason.GRANT_INVALID, f"invalid grant fields: {', '.join(problems)}")


def _str(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"{value!r} is not a string")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:  # JSON true, 1.0 and "1" are not integers (§11)
        raise TypeError(f"{value!r} is not an integer")
    return value


def _strs(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
        raise TypeError(f"{value!r} is not an array")
    return tuple(_str(x) for x in value)


def _claims_to_grant(c: dict[str, Any]) -> Grant:
    try:
        win = c["win"]
        if type(win) is not list or len(win) != 2:
            raise TypeError("win is not [start_ns, end_ns]")
        parent = c.get("parent")
        g = Grant(
            jti=_str(c["jti"]), iss=_str(c["iss"]), sub=_str(c["sub"]), vehicle=_str(c["veh"]),
            window_start_ns=_int(win[0]), window_end_ns=_int(win[1]),
            scope=_strs(c["scope"]), signals=_strs(c["sig"]), actions=_strs(c["act"]),
            purpose=_str(c["purpose"]), nbf=_int(c["nbf"]), exp=_int(c["exp"]),
            iat=_int(c["iat"]), depth=_int(c["depth"]),
            parent=None if parent is None else _str(parent),
        )  # fmt: skip
    except (KeyError, TypeError) as exc:
        raise BadData(Reason.GRANT_INVALID, f"grant claim missing or wrong: {exc}") from None
    g.validate()
    return g


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # RFC 7515 §5.2: a duplicate member is refused
        raise ValueError("duplicate member")
    return out


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity


def _json(part: str) -> Any:
    return json.loads(
        b64url_decode(part), object_pairs_hook=_no_duplicates, parse_constant=_not_a_number
    )


def issue(grant: Grant, key: ed25519.Ed25519PrivateKey) -> str:
    """Sign a grant as a compact JWS; the signer must be the grant's issuer."""
    grant.validate()
    public = key.public_key()
    if thumbprint(public) != grant.iss:
        raise BadData(Reason.KEY_MISMATCH, "the signing key is not the grant's issuer")
    header = {"alg": "EdDSA", "typ": GRANT_TYP, "jwk": public_jwk(public)}
    h = b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    p = b64url(json.dumps(grant.claims(), separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{h}.{p}".encode("ascii")
    return f"{h}.{p}.{b64url(key.sign(signing_input))}"


def open_grant(token: str) -> tuple[Grant, ed25519.Ed25519PublicKey]:
    """Verify a grant's signature by the key it carries and that key being its issuer."""
    if len(token) > MAX_GRANT_SIZE:
        raise too_large("grant", len(token), MAX_GRANT_SIZE)
    parts = token.split(".")
    if len(parts) != 3:
        raise BadData(Reason.GRANT_INVALID, "a compact JWS has three parts")
    try:
        header = _json(parts[0])
        claims = _json(parts[1])
    except (ValueError, UnicodeDecodeError):
        raise BadData(Reason.GRANT_INVALID, "grant header or claims are not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise BadData(Reason.UNSUPPORTED_ALGORITHM, "grants are signed with EdDSA only")
    if header.get("typ") != GRANT_TYP or not isinstance(claims, dict):
        raise BadData(Reason.GRANT_INVALID, f"not a {GRANT_TYP}")
    public = key_from_jwk(header.get("jwk"))
    try:
        public.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature:
        raise BadData(Reason.GRANT_INVALID, "grant signature does not verify") from None
    grant = _claims_to_grant(claims)
    if thumbprint(public) != grant.iss:
        raise BadData(Reason.GRANT_INVALID, "grant is not signed by its issuer")
    return grant, public


def check_narrower(child: Grant, parent: Grant) -> None:
    """A delegated grant must be narrower on every axis (and name its parent)."""
    why = []
    if child.parent != parent.jti or child.iss != parent.sub:
        why.append("not delegated from this parent by its grantee")
    if child.vehicle != parent.vehicle:
        why.append("vehicle")
    if child.window_start_ns < parent.window_start_ns or child.window_end_ns > parent.window_end_ns:
        why.append("data window")
    if not all(any(scope_covers(p, c) for p in parent.scope) for c in child.scope):
        why.append("streams")
    if not set(child.signals) <= set(parent.signals):
        why.append("signals")
    if not set(child.actions) <= set(parent.actions):
        why.append("actions")
    if child.nbf < parent.nbf or child.exp > parent.exp:
        why.append("validity")
    if not child.depth < parent.depth:
        why.append("delegation depth")
    if why:
        raise BadData(Reason.DELEGATION_WIDENS, f"sub-grant widens its parent: {', '.join(why)}")


def verify_chain(tokens: Sequence[str], owner: str) -> list[Grant]:
    """Verify a grant chain [owner's grant, delegations...]; return the grants, root first."""
    if not tokens or len(tokens) > MAX_CHAIN:
        raise BadData(Reason.GRANT_INVALID, f"a grant chain has 1..{MAX_CHAIN} grants")
    grants = [open_grant(t)[0] for t in tokens]
    if grants[0].iss != owner or grants[0].parent is not None:
        raise BadData(Reason.NOT_OWNER, "the first grant is not issued by the vehicle's owner")
    for parent, child in pairwise(grants):
        check_narrower(child, parent)
    return grants
