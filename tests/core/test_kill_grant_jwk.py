"""A grant's key, header and claims refused by their exact words (mutation run, docs/testing.md).

The `jwk` a grant carries must be an Ed25519 OKP key of 32 bytes, each condition alone; the
JWS header must say EdDSA and the grant type, and its claims be an object, each alone; the
key it carries must be its issuer's. A claim of the wrong type, a number that is not JSON,
names what is wrong. The field bounds (depth, scope size) hold at their value and one past,
several bad fields are all named, and base64url strips only its padding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from notary_core import grant
from notary_core.errors import Reason
from tests.core.test_grant_rules import INSURER, OWNER, TP, _refused, _root
from tests.core.test_grant_types import GOOD, _token

JWK = grant.public_jwk(OWNER.public_key())
NOT_OKP = (Reason.UNSUPPORTED_ALGORITHM, "grant keys must be Ed25519 OKP JWKs")
NOT_32 = (Reason.BAD_KEY, "Ed25519 key must be 32 bytes")


def _why(fn: object) -> tuple[Reason, str]:
    err = _refused(fn)
    return err.reason, err.message


def _header(**changes: Any) -> str:
    return json.dumps({"alg": "EdDSA", "typ": grant.GRANT_TYP, "jwk": JWK, **changes})


def test_base64url_strips_only_the_padding() -> None:
    assert grant.b64url(b"\x00\x00\x17") == "AAAX"  # X is a base64url digit, kept
    assert grant.b64url(b"\x00") == "AA"
    assert grant.b64url_decode("AAAX") == b"\x00\x00\x17"


def test_the_good_jwk_is_the_owners_key() -> None:
    key = grant.key_from_jwk(dict(JWK))
    assert grant.thumbprint(key) == TP[OWNER]


@pytest.mark.parametrize(
    "jwk",
    [
        None, [JWK], "OKP",  # not an object
        {**JWK, "kty": "EC"},  # the key type alone is wrong
        {**JWK, "crv": "X25519"},  # the curve alone is wrong
        {"crv": "Ed25519", "x": JWK["x"]},  # no key type
        {"kty": "OKP", "x": JWK["x"]},  # no curve
    ],
)  # fmt: skip
def test_a_key_that_is_not_an_ed25519_okp_jwk(jwk: Any) -> None:
    assert _why(lambda: grant.key_from_jwk(jwk)) == NOT_OKP


@pytest.mark.parametrize("x", [None, "", grant.b64url(bytes(31)), grant.b64url(bytes(33))])
def test_a_key_that_is_not_32_bytes(x: str | None) -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519"} if x is None else {**JWK, "x": x}
    assert _why(lambda: grant.key_from_jwk(jwk)) == NOT_32


def test_a_grant_carrying_a_key_of_another_type_or_length() -> None:
    body = json.dumps(GOOD)
    for jwk, why in (({**JWK, "kty": "EC"}, NOT_OKP), ({**JWK, "x": "AAAA"}, NOT_32)):
        assert _why(lambda j=jwk: grant.open_grant(_token(body, _header(jwk=j)))) == why


@pytest.mark.parametrize("header", [_header(alg="ES256"), _header(alg=None), "[]", '"EdDSA"'])
def test_a_header_that_is_not_eddsa(header: str) -> None:
    token = _token(json.dumps(GOOD), header)
    assert _why(lambda: grant.open_grant(token)) == (
        Reason.UNSUPPORTED_ALGORITHM, "grants are signed with EdDSA only")  # fmt: skip


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        (_header(typ="JWT"), json.dumps(GOOD)),  # the type alone is wrong
        (_header(typ=None), json.dumps(GOOD)),
        (_header(), json.dumps([GOOD])),  # the claims alone are not an object
        (_header(), '"grant"'),
    ],
)  # fmt: skip
def test_a_token_that_is_not_a_grant(header: str, claims: str) -> None:
    token = _token(claims, header)
    assert _why(lambda: grant.open_grant(token)) == (
        Reason.GRANT_INVALID, "not a vnotary-grant+jwt")  # fmt: skip


def test_a_grant_signed_by_a_key_that_is_not_its_issuer() -> None:
    token = _token(json.dumps({**GOOD, "iss": TP[INSURER]}))  # signed, and carried, by OWNER
    assert _why(lambda: grant.open_grant(token)) == (
        Reason.GRANT_INVALID, "grant is not signed by its issuer")  # fmt: skip


@pytest.mark.parametrize(
    ("claim", "value", "words"),
    [
        ("win", "0-1", "win is not [start_ns, end_ns]"),
        ("win", GOOD["win"] + [0], "win is not [start_ns, end_ns]"),
        ("depth", True, "True is not an integer"),
        ("nbf", 100.0, "100.0 is not an integer"),
        ("jti", 1, "1 is not a string"),
        ("parent", 5, "5 is not a string"),
        ("scope", "gnss", "'gnss' is not an array"),
        ("sig", {"a": 1}, "{'a': 1} is not an array"),
        ("act", ["read", True], "True is not a string"),
    ],
)
def test_a_claim_of_the_wrong_type_is_named(claim: str, value: Any, words: str) -> None:
    token = _token(json.dumps({**GOOD, claim: value}))
    assert _why(lambda: grant.open_grant(token)) == (
        Reason.GRANT_INVALID, f"grant claim missing or wrong: {words}")  # fmt: skip


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_json(number: str) -> None:
    text = json.dumps({**GOOD, "depth": 0}).replace('"depth": 0', f'"depth": {number}')
    assert _why(lambda: grant.open_grant(_token(text))) == (
        Reason.GRANT_INVALID, "grant header or claims are not JSON")  # fmt: skip


def test_the_depth_bound_at_its_value_and_one_past() -> None:
    _root(depth=grant.MAX_CHAIN).validate()
    _root(depth=0).validate()
    assert _why(lambda: _root(depth=grant.MAX_CHAIN + 1).validate()) == (
        Reason.GRANT_INVALID, "invalid grant fields: depth")  # fmt: skip


def test_the_scope_size_bound_at_its_value_and_one_past() -> None:
    items = tuple(f"s{i}" for i in range(grant.MAX_SCOPE_ITEMS + 1))
    _root(scope=items[:-1]).validate()
    assert _why(lambda: _root(scope=items).validate()) == (
        Reason.GRANT_INVALID, "invalid grant fields: scope size")  # fmt: skip


def test_every_invalid_field_is_named_in_order() -> None:
    g = _root(window_start_ns=-1, exp=100, depth=-1, actions=(), scope=("CAN0",))
    assert _why(g.validate) == (
        Reason.GRANT_INVALID,
        "invalid grant fields: window, validity, depth, actions, scope item",
    )
