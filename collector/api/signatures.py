"""Signed requests: HTTP Message Signatures (RFC 9421) with Ed25519, no bearer tokens.

Every owner, party and operator request carries one signature, label `vn`, over
`"@method" "@path" "@query"` and, when there is a body, `"content-digest"` (RFC 9530
`sha-256`), with `created`, `expires` (short-lived), `keyid` (the RFC 7638 thumbprint of
the signer's key), `nonce` (replay protection) and `alg="ed25519"`. `sign_request` is the
client half (any HTTP library: it returns headers); `parse_signature` + `verify` the server
half. Pure: time is passed in, the nonce cache lives in the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core.errors import BadData, Reason
from notary_core.grant import thumbprint

LABEL = "vn"
MAX_HEADER = 1024  # a Signature-Input of ours is ~200 bytes; bound what we parse
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# RFC 8941 inner list of component names, then parameters (the subset we emit).
_INPUT_RE = re.compile(
    r'vn=(\((?:"[@a-z-]{1,32}"(?: "[@a-z-]{1,32}")*)?\)'
    r'((?:;[a-z]{1,16}=(?:[0-9]{1,16}|"[A-Za-z0-9_.:-]{0,128}"))*))'
)
_PARAM_RE = re.compile(r';([a-z]+)=(?:([0-9]+)|"([^"]*)")')
_SIG_RE = re.compile(r"vn=:([A-Za-z0-9+/]{86}==):")


class Unauthorized(BadData):
    """The request is not signed, or not validly, or replayed: HTTP 401."""


def content_digest(body: bytes) -> str:
    """RFC 9530 §2: `Content-Digest: sha-256=:<base64>:`."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def _base(values: Mapping[str, str], components: tuple[str, ...], params: str) -> bytes:
    """RFC 9421 §2.5 signature base."""
    lines = [f'"{c}": {values[c]}' for c in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def _components(has_body: bool) -> tuple[str, ...]:
    return ("@method", "@path", "@query", "content-digest") if has_body else (
        "@method", "@path", "@query")  # fmt: skip


def sign_request(
    method: str,
    url: str,
    key: ed25519.Ed25519PrivateKey,
    now_s: int,
    body: bytes = b"",
    ttl_s: int = 60,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign one request (add them to httpx, requests or urllib)."""
    parts = urlsplit(url)
    headers: dict[str, str] = {}
    values = {
        "@method": method.upper(),
        "@path": parts.path or "/",
        "@query": "?" + parts.query,  # RFC 9421 §2.2.7: "?" alone when there is none
    }
    if body:
        headers["Content-Digest"] = values["content-digest"] = content_digest(body)
    comps = _components(bool(body))
    params = (
        "(" + " ".join(f'"{c}"' for c in comps) + ")"
        f";created={now_s};expires={now_s + ttl_s}"
        f';keyid="{thumbprint(key.public_key())}"'
        f';nonce="{nonce or secrets.token_urlsafe(18)}";alg="ed25519"'
    )
    signature = base64.b64encode(key.sign(_base(values, comps, params))).decode()
    headers["Signature-Input"] = f"{LABEL}={params}"
    headers["Signature"] = f"{LABEL}=:{signature}:"
    return headers


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A parsed (not yet verified) signature: who claims to sign, and for how long."""

    keyid: str
    nonce: str
    created: int
    expires: int
    components: tuple[str, ...]
    params: str
    signature: bytes

    def verify(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        key: ed25519.Ed25519PublicKey,
        now_s: int,
        max_age_s: int,
    ) -> None:
        if self.expires - self.created > max_age_s or self.expires <= self.created:
            raise Unauthorized(Reason.BAD_SIGNATURE, f"signature lifetime over {max_age_s} s")
        if not self.created - 30 <= now_s < self.expires:  # 30 s of clock skew, no more
            raise Unauthorized(Reason.BAD_SIGNATURE, "signature expired or not yet valid")
        if thumbprint(key) != self.keyid:
            raise Unauthorized(Reason.KEY_MISMATCH, "keyid is not the key's thumbprint")
        values = {"@method": method.upper(), "@path": path or "/", "@query": "?" + query}
        if body or "content-digest" in self.components:
            if self.components != _components(True):
                raise Unauthorized(Reason.BAD_SIGNATURE, "the signature does not cover the body")
            if headers.get("content-digest") != content_digest(body):
                raise Unauthorized(Reason.BAD_SIGNATURE, "Content-Digest does not match the body")
            values["content-digest"] = content_digest(body)
        try:
            key.verify(self.signature, _base(values, self.components, self.params))
        except InvalidSignature:
            raise Unauthorized(Reason.BAD_SIGNATURE, "signature does not verify") from None


def parse_signature(headers: Mapping[str, str]) -> SignedRequest:
    """Parse the `vn` signature of a request; raises Unauthorized when absent or malformed."""
    raw_input = headers.get("signature-input", "")
    raw_sig = headers.get("signature", "")
    if not raw_input or not raw_sig:
        raise Unauthorized(Reason.BAD_SIGNATURE, "the request is not signed (RFC 9421)")
    if len(raw_input) > MAX_HEADER or len(raw_sig) > MAX_HEADER:
        raise Unauthorized(Reason.TOO_LARGE, "signature headers too large")
    m = _INPUT_RE.fullmatch(raw_input.strip())
    s = _SIG_RE.fullmatch(raw_sig.strip())
    if m is None or s is None:
        raise Unauthorized(Reason.MALFORMED, "Signature-Input or Signature is not ours")
    components = tuple(re.findall(r'"([^"]+)"', m.group(1).split(")")[0]))
    params: dict[str, str] = {}
    for name, number, text in _PARAM_RE.findall(m.group(2)):
        if name in params:
            raise Unauthorized(Reason.MALFORMED, f"signature parameter {name} repeated")
        params[name] = number or text
    if params.get("alg", "ed25519") != "ed25519":
        raise Unauthorized(Reason.UNSUPPORTED_ALGORITHM, "only alg=ed25519 is accepted")
    if components not in (_components(True), _components(False)):
        raise Unauthorized(Reason.BAD_SIGNATURE, "the signature must cover method, path, query")
    try:
        created, expires = int(params["created"]), int(params["expires"])
        keyid, nonce = params["keyid"], params["nonce"]
        signature = base64.b64decode(s.group(1), validate=True)
    except (KeyError, ValueError, binascii.Error):
        raise Unauthorized(
            Reason.MALFORMED, "created, expires, keyid and nonce are required"
        ) from None
    if not _NONCE_RE.fullmatch(nonce) or not re.fullmatch(r"[A-Za-z0-9_-]{43}", keyid):
        raise Unauthorized(Reason.MALFORMED, "nonce or keyid malformed")
    return SignedRequest(keyid, nonce, created, expires, components, m.group(1), signature)
