"""The grant rules, each refusal by its reason and its words (mutation run, docs/testing.md).

A check whose message nobody reads can be broken silently: every axis of a sub-grant is
widened alone and must be named alone; the boundaries (equal windows, equal validity) are
allowed; a chain's length, its root's issuer and parent are each refused with their reason;
the JWS a grant is issued as is byte-exact; and the v2 scope rule is held to its edges.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from notary_core import grant
from notary_core.errors import BadData, Reason
from tests.core.bundle_factory import SEC, T0, _key

OWNER, INSURER, ADJUSTER = _key(4), _key(5), _key(6)
TP = {k: grant.thumbprint(k.public_key()) for k in (OWNER, INSURER, ADJUSTER)}


def _root(**changes: object) -> grant.Grant:
    g = grant.Grant(
        jti="g-1", iss=TP[OWNER], sub=TP[INSURER], vehicle="vin-1",
        window_start_ns=T0, window_end_ns=T0 + 10 * SEC, scope=("can0#0aa", "gnss"),
        signals=("SPEED", "BRAKE"), actions=("read", "export"), purpose="claim", nbf=100,
        exp=10_000, iat=100, depth=2,
    )  # fmt: skip
    return replace(g, **changes)  # type: ignore[arg-type]


def _sub(**changes: object) -> grant.Grant:
    g = replace(_root(), jti="g-2", iss=TP[INSURER], sub=TP[ADJUSTER], parent="g-1", depth=1)
    return replace(g, **changes)  # type: ignore[arg-type]


def _refused(fn: object) -> BadData:
    with pytest.raises(BadData) as err:
        fn()  # type: ignore[operator]
    return err.value


WIDER: dict[str, list[dict[str, object]]] = {
    "not delegated from this parent by its grantee": [{"parent": "g-9"}, {"iss": TP[OWNER]}],
    "vehicle": [{"vehicle": "vin-2"}],
    "data window": [{"window_start_ns": T0 - 1}, {"window_end_ns": T0 + 10 * SEC + 1}],
    "streams": [{"scope": ("can0",)}, {"scope": ("can0#0aa", "imu")}],
    "signals": [{"signals": ("SPEED", "YAW")}],
    "validity": [{"nbf": 99}, {"exp": 10_001}],
    "delegation depth": [{"depth": 2}, {"depth": 3}],
}


@pytest.mark.parametrize("axis", list(WIDER))
def test_each_widened_axis_is_refused_and_named_alone(axis: str) -> None:
    for change in WIDER[axis]:
        child = _sub(**change)
        err = _refused(lambda c=child: grant.check_narrower(c, _root()))
        assert err.reason is Reason.DELEGATION_WIDENS
        assert err.message == f"sub-grant widens its parent: {axis}", change


def test_wider_actions_are_refused() -> None:
    parent = _root(actions=("read",))
    err = _refused(lambda: grant.check_narrower(_sub(actions=("read", "export")), parent))
    assert err.message == "sub-grant widens its parent: actions"


def test_every_widened_axis_is_named_in_order() -> None:
    child = _sub(parent="g-9", vehicle="vin-2", window_end_ns=T0 + 11 * SEC, scope=("imu",),
                 signals=("YAW",), actions=("read",), exp=20_000, depth=5)  # fmt: skip
    err = _refused(lambda: grant.check_narrower(child, _root(actions=("export",))))
    assert err.message == (
        "sub-grant widens its parent: not delegated from this parent by its grantee, vehicle, "
        "data window, streams, signals, actions, validity, delegation depth"
    )


def test_the_boundaries_are_narrow_enough() -> None:
    grant.check_narrower(_sub(), _root())  # equal on every axis but depth
    grant.check_narrower(_sub(window_start_ns=T0 + SEC, window_end_ns=T0 + 2 * SEC,
                              scope=("can0#0aa",), signals=(), actions=("read",), nbf=101,
                              exp=9_999, depth=0), _root())  # fmt: skip
    grant.check_narrower(_sub(scope=("can0#0aa",)), _root(scope=("can0",)))  # id under stream


def test_a_chain_is_one_to_max_grants_rooted_at_the_owner() -> None:
    err = _refused(lambda: grant.verify_chain([], TP[OWNER]))
    assert (err.reason, err.message) == (
        Reason.GRANT_INVALID, f"a grant chain has 1..{grant.MAX_CHAIN} grants")  # fmt: skip
    root = grant.issue(_root(), OWNER)
    err = _refused(lambda: grant.verify_chain([root] * (grant.MAX_CHAIN + 1), TP[OWNER]))
    assert err.reason is Reason.GRANT_INVALID and "1..8" in err.message
    assert [g.jti for g in grant.verify_chain([root], TP[OWNER])] == ["g-1"]
    sub = grant.issue(_sub(), INSURER)
    assert [g.jti for g in grant.verify_chain([root, sub], TP[OWNER])] == ["g-1", "g-2"]
    for tokens in ([root], [grant.issue(_root(parent="g-0"), OWNER)]):
        owner = TP[INSURER] if tokens == [root] else TP[OWNER]
        err = _refused(lambda t=tokens, o=owner: grant.verify_chain(t, o))
        assert (err.reason, err.message) == (
            Reason.NOT_OWNER, "the first grant is not issued by the vehicle's owner")  # fmt: skip


def test_a_chain_of_exactly_max_grants_is_verified() -> None:
    keys = [_key(20 + i) for i in range(grant.MAX_CHAIN + 1)]
    tokens, prev = [], None
    for i in range(grant.MAX_CHAIN):
        g = replace(_root(), jti=f"g-{i}", iss=grant.thumbprint(keys[i].public_key()),
                    sub=grant.thumbprint(keys[i + 1].public_key()), parent=prev,
                    depth=grant.MAX_CHAIN - 1 - i)  # fmt: skip
        tokens.append(grant.issue(g, keys[i]))
        prev = g.jti
    got = grant.verify_chain(tokens, grant.thumbprint(keys[0].public_key()))
    assert len(got) == grant.MAX_CHAIN


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_grant_is_issued_as_this_exact_compact_jws() -> None:
    g = _root()
    token = grant.issue(g, OWNER)
    raw = OWNER.public_key().public_bytes_raw()
    header = ('{"alg":"EdDSA","jwk":{"crv":"Ed25519","kty":"OKP","x":"' + _b64(raw)
              + '"},"typ":"vnotary-grant+jwt"}')  # fmt: skip
    claims = json.dumps(g.claims(), separators=(",", ":"), sort_keys=True)
    assert claims.startswith('{"act":["read","export"],"depth":2,"exp":10000,"iat":100,')
    h, p, s = token.split(".")
    assert (h, p) == (_b64(header.encode()), _b64(claims.encode()))
    assert s == _b64(OWNER.sign(f"{h}.{p}".encode()))  # Ed25519 is deterministic
    err = _refused(lambda: grant.issue(g, INSURER))
    assert (err.reason, err.message) == (
        Reason.KEY_MISMATCH, "the signing key is not the grant's issuer")  # fmt: skip
    err = _refused(lambda: grant.issue(_root(depth=-1), OWNER))
    assert err.reason is Reason.GRANT_INVALID  # validated before it is signed


def test_record_scope_items_are_written_exactly() -> None:
    assert grant.record_scope_item("can0") == "can0"
    assert grant.record_scope_item("can0", 0xAA) == "can0#0aa"
    assert grant.record_scope_item("can0", 0) == "can0#000"
    assert grant.record_scope_item("can0", 0x18DAF110, True) == "can0#18daf110"
    assert grant.record_scope_item("can0", 0xAA, True) == "can0#000000aa"


EFF, ERR = 0x8000_0000, 0x2000_0000


@pytest.mark.parametrize(
    ("scope", "stream", "key", "covered"),
    [
        (["can0"], "can0", 0xAA, True),
        (["can0"], "can0", -1, True),  # a non-CAN record of the stream
        (["can0"], "can0", 0xAA | ERR, True),
        (["can0#0aa"], "can0", 0xAA, True),
        (["can0#0aa"], "can0", 0xAB, False),
        (["can0#0aa"], "can0", 0xAA | EFF, False),  # an 11-bit item is not the 29-bit id
        (["can0#000000aa"], "can0", 0xAA | EFF, True),
        (["can0#000000aa"], "can0", 0xAA, False),
        (["can0#0aa"], "can0", 0xAA | ERR, False),  # error frames: only the whole stream
        (["can0#0aa"], "can0", -1, False),
        (["can1#0aa"], "can0", 0xAA, False),  # another stream's id
        (["can0#0aa"], "can", 0xAA, False),  # a stream that is a prefix of the item's
        (["can00#0aa"], "can0", 0xAA, False),
        (["gnss", "can0#0aa"], "can0", 0xAA, True),  # any item of the scope
        ([], "can0", 0xAA, False),
    ],
)
def test_the_v2_scope_rule_at_its_edges(
    scope: list[str], stream: str, key: int, covered: bool
) -> None:
    assert grant.covers_item(scope, stream, key) is covered


def test_the_lowest_ids_and_times_are_in_range() -> None:
    assert grant.covers_item(["can0#000"], "can0", 0)  # id 0 is an id
    assert grant.covers_item(["can0#00000000"], "can0", EFF)
    _root(window_start_ns=0).validate()  # the epoch is a time


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"window_end_ns": T0}, "window"),  # empty: start == end
        ({"window_start_ns": -1}, "window"),
        ({"exp": 100}, "validity"),  # nbf == exp
        ({"depth": grant.MAX_CHAIN + 1}, "depth"),
        ({"actions": ()}, "actions"),
        ({"actions": ("read", "delete")}, "actions"),
        ({"scope": ()}, "scope size"),
        ({"scope": ("CAN0",)}, "scope item"),
    ],
)
def test_each_invalid_field_is_named(change: dict[str, object], named: str) -> None:
    err = _refused(lambda: _root(**change).validate())
    assert (err.reason, err.message) == (Reason.GRANT_INVALID, f"invalid grant fields: {named}")


def test_a_grant_opens_to_exactly_what_was_issued() -> None:
    for g in (_root(), _sub(), _root(purpose="another claim", iat=123, signals=())):
        key = {TP[OWNER]: OWNER, TP[INSURER]: INSURER}[g.iss]
        opened, public = grant.open_grant(grant.issue(g, key))
        assert opened == g and grant.thumbprint(public) == g.iss


def test_a_missing_claim_is_named() -> None:
    token = grant.issue(_root(), OWNER)
    p = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    del claims["purpose"]
    err = _refused(lambda: grant._claims_to_grant(claims))
    assert err.reason is Reason.GRANT_INVALID
    assert err.message == "grant claim missing or wrong: 'purpose'"
