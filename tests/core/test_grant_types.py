"""A grant's claims have exact JSON types (§11): Python's json gives `true` for 1, `1.0` for a
float, reads `NaN`, and keeps the last of a duplicate member, and a coercing reader would
take each of them for a grant another implementation refuses. Each is signed by its issuer,
so only the type, never the signature, can refuse it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from notary_core import grant
from notary_core.errors import BadData, Reason
from tests.core.test_grant_rules import OWNER, _root

GOOD = _root().claims()


def _token(claims: str, header: str | None = None) -> str:
    public = OWNER.public_key()
    head = header or json.dumps(
        {"alg": "EdDSA", "typ": grant.GRANT_TYP, "jwk": grant.public_jwk(public)}
    )
    signing_input = f"{grant.b64url(head.encode())}.{grant.b64url(claims.encode())}"
    return f"{signing_input}.{grant.b64url(OWNER.sign(signing_input.encode('ascii')))}"


def _refusal(token: str) -> BadData:
    with pytest.raises(BadData) as e:
        grant.open_grant(token)
    assert e.value.reason is Reason.GRANT_INVALID
    return e.value


def test_the_good_claims_open() -> None:
    g, _ = grant.open_grant(_token(json.dumps(GOOD)))
    assert g == _root()


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("depth", True), ("depth", 1.0), ("depth", "1"), ("nbf", 100.0), ("exp", None),
        ("iat", False), ("win", [GOOD["win"][0], float(GOOD["win"][1])]),
        ("win", [True, GOOD["win"][1]]), ("win", GOOD["win"] + [0]), ("win", "0-1"),
        ("jti", 1), ("iss", None), ("sub", ["x"]), ("veh", 7), ("purpose", True),
        ("parent", 5), ("scope", "gnss"), ("scope", ["gnss", 1]), ("sig", {"a": 1}),
        ("act", ["read", True]),
    ],
)  # fmt: skip
def test_a_claim_of_the_wrong_type(claim: str, value: Any) -> None:
    why = _refusal(_token(json.dumps({**GOOD, claim: value})))
    assert why.message.startswith("grant claim missing or wrong: ")


def test_a_missing_claim() -> None:
    claims = {k: v for k, v in GOOD.items() if k != "purpose"}
    assert _refusal(_token(json.dumps(claims))).message == "grant claim missing or wrong: 'purpose'"


@pytest.mark.parametrize("number", ["1e0", "1.0", "NaN", "Infinity", "-Infinity"])
def test_numbers_that_are_not_integers(number: str) -> None:
    text = json.dumps({**GOOD, "depth": 0}).replace('"depth": 0', f'"depth": {number}')
    assert f'"depth": {number}' in text
    _refusal(_token(text))


def test_a_duplicate_member() -> None:
    body = json.dumps(GOOD)
    twice = body[:-1] + ', "depth": 0}'  # the last "depth" would win in Python's json
    assert json.loads(twice)["depth"] == 0
    assert _refusal(_token(twice)).message == "grant header or claims are not JSON"
    head = '{"alg": "EdDSA", "alg": "EdDSA", "typ": "' + grant.GRANT_TYP + '"}'
    assert _refusal(_token(body, head)).message == "grant header or claims are not JSON"
