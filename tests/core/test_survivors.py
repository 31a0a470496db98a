"""Negative tests for the mutants that survived a sample run of the core (issue 19).

Each test names the check it kills: a grant with a garbage signature, a sub-grant from
someone other than its parent's grantee, a wider data window, an invalid grant, the pinned
log and collector keys, the pinned anchor contracts, the "export" action, and an ES256
signature with a padding byte. Each input must be refused with its reason.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from notary_core import cose, grant
from notary_core.errors import BadData, Reason
from notary_core.evidence import Trust, Verdict, verify_bundle
from tests.core.bundle_factory import SEC, T0, _key
from tests.core.bundle_v2_factory import build2, log_grant, make_world2, owner_grant

OWNER, INSURER, ADJUSTER = _key(4), _key(5), _key(6)


def _root(**changes: object) -> grant.Grant:
    g = grant.Grant(
        jti="g-1", iss=grant.thumbprint(OWNER.public_key()),
        sub=grant.thumbprint(INSURER.public_key()), vehicle="vin-1",
        window_start_ns=T0, window_end_ns=T0 + 10 * SEC, scope=("can0#0aa", "gnss"),
        signals=("SPEED",), actions=("read", "export"), purpose="claim", nbf=100, exp=10_000,
        iat=100, depth=1,
    )  # fmt: skip
    return replace(g, **changes)  # type: ignore[arg-type]


def _sub(**changes: object) -> grant.Grant:
    g = replace(_root(), jti="g-2", iss=grant.thumbprint(INSURER.public_key()),
                sub=grant.thumbprint(ADJUSTER.public_key()), parent="g-1", depth=0,
                scope=("can0#0aa",))  # fmt: skip
    return replace(g, **changes)  # type: ignore[arg-type]


def _reason(fn: object) -> str:
    with pytest.raises(BadData) as err:
        fn()  # type: ignore[operator]
    return str(err.value.reason)


def test_survivor_grant_with_a_garbage_signature_is_refused() -> None:
    token = grant.issue(_root(), OWNER)
    head, body, sig = token.split(".")
    other = grant.b64url(bytes(64))
    assert _reason(lambda: grant.open_grant(f"{head}.{body}.{other}")) == "GRANT_INVALID"
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    assert _reason(lambda: grant.open_grant(f"{head}.{body}.{flipped}")) == "GRANT_INVALID"


def test_survivor_sub_grant_must_come_from_its_parents_grantee() -> None:
    stranger = replace(_sub(), iss=grant.thumbprint(ADJUSTER.public_key()))
    assert _reason(lambda: grant.check_narrower(stranger, _root())) == "DELEGATION_WIDENS"
    orphan = replace(_sub(), parent="g-other")
    assert _reason(lambda: grant.check_narrower(orphan, _root())) == "DELEGATION_WIDENS"
    grant.check_narrower(_sub(), _root())  # the honest one passes


@pytest.mark.parametrize(
    "window", [(T0 - 1, T0 + 5 * SEC), (T0 + SEC, T0 + 10 * SEC + 1), (T0 - 1, T0 + 11 * SEC)]
)
def test_survivor_a_sub_grant_may_not_widen_the_data_window(window: tuple[int, int]) -> None:
    wider = _sub(window_start_ns=window[0], window_end_ns=window[1])
    assert _reason(lambda: grant.check_narrower(wider, _root())) == "DELEGATION_WIDENS"


@pytest.mark.parametrize(
    "changes",
    [
        {"window_start_ns": T0 + 10 * SEC, "window_end_ns": T0},  # inverted window
        {"window_start_ns": T0, "window_end_ns": T0},  # empty window
        {"actions": ("read", "delete")},  # unknown action
        {"actions": ()},
        {"depth": 9},  # deeper than any chain
        {"depth": -1},
        {"nbf": 10_000, "exp": 100},  # inverted validity
        {"scope": ()},
        {"scope": ("can0#0AA",)},  # upper-case hex
    ],
)
def test_survivor_grant_validate_refuses_every_invalid_field(changes: dict[str, object]) -> None:
    assert _reason(lambda: _root(**changes).validate()) == "GRANT_INVALID"


def test_survivor_a_depth_zero_grant_cannot_be_delegated() -> None:
    leaf = _root(depth=0)
    child = _sub(depth=0)
    assert _reason(lambda: grant.check_narrower(child, leaf)) == "DELEGATION_WIDENS"


def test_survivor_the_pinned_log_and_collector_keys_are_each_checked() -> None:
    w = make_world2()
    data = build2(w)
    good = w.trust()
    assert verify_bundle(data, good).verdict is Verdict.OK
    other_log = replace(good, log_vkeys=frozenset({"collector.example+00000000+AQ=="}))
    other_collector = replace(good, collector_keys=frozenset({b"not the collector's key"}))
    for trust in (other_log, other_collector):  # either one wrong is enough to refuse
        t = verify_bundle(data, trust)
        assert t.verdict is Verdict.FAIL and "UNTRUSTED" in t.reasons, t.to_dict()


def test_survivor_the_pinned_anchor_contracts_are_consulted() -> None:
    w = make_world2()
    data = build2(w)
    mine = replace(w.trust(), anchor_contracts=frozenset({(31337, bytes([0xAA]) * 20)}))
    assert verify_bundle(data, mine).verdict is Verdict.OK
    other = replace(w.trust(), anchor_contracts=frozenset({(31337, bytes([0xAB]) * 20)}))
    t = verify_bundle(data, other)
    assert t.verdict is Verdict.FAIL and t.reasons == ["UNTRUSTED"]
    other_chain = replace(w.trust(), anchor_contracts=frozenset({(1, bytes([0xAA]) * 20)}))
    assert verify_bundle(data, other_chain).reasons == ["UNTRUSTED"]


def test_survivor_a_read_only_grant_gives_no_bundle() -> None:
    w = make_world2()
    token = grant.issue(owner_grant(w, actions=("read",)), w.owner)
    log_grant(w, token)
    t = verify_bundle(build2(w, grants=[token]), w.trust())
    assert t.verdict is Verdict.FAIL and t.reasons == ["OUTSIDE_GRANT"], t.to_dict()


def test_survivor_es256_with_a_padding_byte_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = cose.Signer.from_key(key)
    message = b"to be signed"
    sig = signer.sign_raw(message)
    signer.public.verify_raw(sig, message)
    for bad in (sig[:32] + b"\x00" + sig[32:], b"\x00" + sig, sig + b"\x00", sig[:63]):
        with pytest.raises(BadData) as err:
            signer.public.verify_raw(bad, message)
        assert err.value.reason is Reason.BAD_SIGNATURE


def test_survivor_trust_pins_at_least_something_for_ok() -> None:
    w = make_world2()
    assert verify_bundle(build2(w), Trust()).verdict is Verdict.INCONCLUSIVE
