"""The trust file (docs/protocol.md §13, schema docs/trust.schema.json): what a verifier pins
from outside any bundle, validated before anything is verified.

Validated by hand, with exactly the schema's rules (tests/verifier/test_trust_file.py holds
the two equal on a corpus), rather than with the `jsonschema` package: the offline verifier
needs only the core's two dependencies, so a court's expert installs and audits the least.
Beyond the schema, every key must parse and `witness_quorum` may not exceed the witnesses.
Every refusal names the JSON path of the bad field (`$.collector_keys[1]`).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from cryptography import x509

from notary_core import checkpoint, cose, witness
from notary_core.errors import NotaryError
from notary_core.evidence import Trust

VERSION = 1
KEYS = ("version", "log_vkeys", "collector_keys", "anchor_contracts", "witnesses",
        "witness_quorum", "tsa_certs")  # fmt: skip
MAX_TRUST_FILE = 1024 * 1024
"""A few keys and certificates: 1 MiB is far more than any real trust file holds."""
_VKEY = re.compile(r"[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_PEM = "-----BEGIN CERTIFICATE-----"


class TrustFileError(ValueError):
    """A trust file refused: `path` is the JSON path of the bad field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _is_b64(s: str) -> bool:
    return len(s) >= 4 and _B64.fullmatch(s) is not None


def _integer(v: Any) -> bool:
    """JSON Schema's integer: a number with no fractional part, never a boolean."""
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()
    )


def _strings(doc: dict[str, Any], key: str, ok: Callable[[str], Any], what: str) -> list[str]:
    v = doc.get(key, [])
    if not isinstance(v, list):
        raise TrustFileError(f"$.{key}", "must be an array")
    for i, s in enumerate(v):
        if not isinstance(s, str):
            raise TrustFileError(f"$.{key}[{i}]", "must be a string")
        if not ok(s):
            raise TrustFileError(f"$.{key}[{i}]", f"is not {what}")
    if len(set(v)) != len(v):
        raise TrustFileError(f"$.{key}", "holds the same entry twice")
    return v


def _contracts(doc: dict[str, Any]) -> frozenset[tuple[int, bytes]]:
    v = doc.get("anchor_contracts", [])
    if not isinstance(v, list):
        raise TrustFileError("$.anchor_contracts", "must be an array")
    out: list[tuple[int, bytes]] = []
    for i, c in enumerate(v):
        at = f"$.anchor_contracts[{i}]"
        if not isinstance(c, dict):
            raise TrustFileError(at, 'must be an object {"chain_id": ..., "address": ...}')
        for k in c:
            if k not in ("chain_id", "address"):
                raise TrustFileError(f"{at}.{k}", "unknown key")
        for k in ("chain_id", "address"):
            if k not in c:
                raise TrustFileError(f"{at}.{k}", "is required")
        if not _integer(c["chain_id"]) or c["chain_id"] < 1:
            raise TrustFileError(f"{at}.chain_id", "must be an integer >= 1")
        a = c["address"]
        if not isinstance(a, str) or not _ADDRESS.fullmatch(a):
            raise TrustFileError(f"{at}.address", 'must be "0x" and 40 hex digits')
        out.append((int(c["chain_id"]), bytes.fromhex(a[2:])))
    if len({json.dumps(c, sort_keys=True) for c in v}) != len(v):  # JSON Schema uniqueItems
        raise TrustFileError("$.anchor_contracts", "holds the same entry twice")
    return frozenset(out)


def parse_trust(doc: Any) -> Trust:
    """A trust document (parsed JSON) as a `Trust`; TrustFileError names what is wrong."""
    if not isinstance(doc, dict):
        raise TrustFileError("$", "a trust file is a JSON object")
    for k in doc:
        if k not in KEYS:
            near = difflib.get_close_matches(k, KEYS, n=1)
            raise TrustFileError(f"$.{k}", "unknown key" + (f" (did you mean {near[0]!r}?)"
                                                            if near else ""))  # fmt: skip
    if "version" not in doc:
        raise TrustFileError("$.version", "is required (1)")
    if not _integer(doc["version"]) or doc["version"] != VERSION:
        raise TrustFileError("$.version", f"must be {VERSION}")
    vkeys = _strings(doc, "log_vkeys", _VKEY.fullmatch, "a signed-note verifier key")
    collector = _strings(doc, "collector_keys", _is_b64, "standard base64")
    contracts = _contracts(doc)
    witnesses = _strings(doc, "witnesses", _VKEY.fullmatch, "a signed-note verifier key")
    quorum: Any = doc.get("witness_quorum")
    if quorum is not None and "witnesses" not in doc:
        raise TrustFileError("$.witness_quorum", "needs witnesses")
    if "witness_quorum" in doc and (not _integer(quorum) or quorum < 1):
        raise TrustFileError("$.witness_quorum", "must be an integer >= 1")
    tsa = _strings(doc, "tsa_certs", lambda s: s.startswith(_PEM), "a PEM certificate")
    if not vkeys and not collector:
        raise TrustFileError("$", "pins nothing: give log_vkeys or collector_keys")
    # Beyond the schema: what the strings say must be keys, and the quorum reachable.
    for i, s in enumerate(vkeys):
        _vkey(s, f"$.log_vkeys[{i}]")
    for i, s in enumerate(witnesses):
        _witness_vkey(s, f"$.witnesses[{i}]")
    spkis = [_spki(s, f"$.collector_keys[{i}]") for i, s in enumerate(collector)]
    if quorum is not None and quorum > len(witnesses):
        raise TrustFileError("$.witness_quorum", f"{quorum} of {len(witnesses)} witnesses")
    for i, pem in enumerate(tsa):
        try:
            x509.load_pem_x509_certificate(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise TrustFileError(f"$.tsa_certs[{i}]", f"not a certificate: {exc}") from None
    return Trust(
        log_vkeys=frozenset(vkeys), collector_keys=frozenset(spkis), anchor_contracts=contracts,
        witnesses=frozenset(witnesses), witness_quorum=None if quorum is None else int(quorum),
        tsa_certs=tuple(tsa),
    )  # fmt: skip


def _vkey(s: str, path: str) -> None:
    try:
        checkpoint.NoteVerifier.from_vkey(s)
    except (NotaryError, ValueError) as exc:
        raise TrustFileError(path, f"not a signed-note verifier key: {exc}") from None


def _witness_vkey(s: str, path: str) -> None:
    try:
        witness.WitnessVerifier.from_vkey(s)
    except (NotaryError, ValueError) as exc:
        raise TrustFileError(
            path, f"not a witness (tlog-cosignature) verifier key: {exc}"
        ) from None


def _spki(s: str, path: str) -> bytes:
    try:
        der = base64.b64decode(s, validate=True)
        cose.PublicKey.from_spki(der)
    except (binascii.Error, NotaryError) as exc:
        raise TrustFileError(path, f"not a base64 SPKI public key: {exc}") from None
    return der


def load_trust_bytes(data: bytes) -> Trust:
    """A trust file's bytes: UTF-8 JSON, at most 1 MiB, validated (§13)."""
    if len(data) > MAX_TRUST_FILE:
        raise TrustFileError("$", f"a trust file is at most {MAX_TRUST_FILE} bytes")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustFileError("$", f"not JSON: {exc}") from None
    return parse_trust(doc)
