"""The pure access rules (collector/access/rules.py), each refusal by its reason and words.

Unit tests, no I/O: grants are built as values (no signatures: the rules decide on grants
already opened), ownership periods as plain records. Every check is reached by an input it
must refuse and by its edge that it must allow (time windows at the exact second or
nanosecond, the year limit, the post-dating tolerance, delegation depth, scope subsets), so
the mutation run (docs/testing.md) notices a rule weakened, inverted or moved by one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from collector.access.rules import (
    AccessReason,
    Conflict,
    Forbidden,
    NotAnchored,
    NotFound,
    RateLimited,
    check_chain,
    check_live,
    check_root_grant,
    check_use,
    delegate,
    owner_for,
)
from notary_core.errors import BadData, Reason, Unreachable
from notary_core.grant import Grant

DAY = 86400
NOW = 1_000_000
S, E = 5_000, 9_000  # the root grant's data window, ns


@dataclass(frozen=True)
class Period:
    who: str
    start_ns: int
    end_ns: int


def _root(**changes: object) -> Grant:
    g = Grant(
        jti="g-1", iss="owner", sub="insurer", vehicle="vin-1", window_start_ns=S,
        window_end_ns=E, scope=("can0#0aa", "gnss"), signals=("SPEED", "BRAKE"),
        actions=("read", "export"), purpose="claim", nbf=NOW - 100, exp=NOW + 1000,
        iat=NOW - 100, depth=2,
    )  # fmt: skip
    return replace(g, **changes)  # type: ignore[arg-type]


def _child(**changes: object) -> Grant:
    g = _root(jti="g-2", iss="insurer", sub="adjuster", parent="g-1", depth=1)
    return replace(g, **changes)  # type: ignore[arg-type]


def _refused(exc: pytest.ExceptionInfo[BadData], kind: type, reason: str, message: str) -> None:
    assert type(exc.value) is kind
    assert exc.value.reason == reason
    assert exc.value.message == message
    assert str(exc.value) == f"{reason}: {message}"


# The errors and their codes


def test_coded_errors_keep_their_reason_message_and_fields() -> None:
    for kind in (Forbidden, NotFound, Conflict):
        err = kind(AccessReason.CONFLICT, "clash", row=3, raw=b"\x01")
        assert isinstance(err, BadData)
        assert err.reason is AccessReason.CONFLICT
        assert err.message == "clash"
        assert err.fields == {"row": 3, "raw": b"\x01"}
        assert err.to_dict() == {"reason": "CONFLICT", "message": "clash", "row": 3, "raw": "01"}
        assert str(err) == "CONFLICT: clash"
    assert Forbidden(Reason.NOT_OWNER, "m").reason is Reason.NOT_OWNER
    assert Forbidden(Reason.NOT_OWNER, "m").fields == {}


def test_rate_limited_carries_its_code_and_retry_after() -> None:
    err = RateLimited("slow down", retry_after_s=7)
    assert isinstance(err, BadData)
    assert err.reason is AccessReason.RATE_LIMITED
    assert err.message == "slow down"
    assert err.retry_after_s == 7
    assert err.to_dict() == {"reason": "RATE_LIMITED", "message": "slow down"}
    assert str(err) == "RATE_LIMITED: slow down"


def test_not_anchored_is_unreachable_with_its_code_and_retry_after() -> None:
    err = NotAnchored("wait for the anchor", retry_after_s=30)
    assert isinstance(err, Unreachable)
    assert not isinstance(err, BadData)
    assert err.reason is AccessReason.NOT_ANCHORED
    assert err.message == "wait for the anchor"
    assert err.retry_after_s == 30
    assert err.fields == {"retry_after_s": 30}
    assert err.to_dict() == {
        "reason": "NOT_ANCHORED", "message": "wait for the anchor", "retry_after_s": 30,
    }  # fmt: skip


# owner_for: the period covering the whole window, of that owner


def test_owner_for_finds_the_period_covering_the_window_to_its_edges() -> None:
    mine = Period("owner", 100, 200)
    owners = [Period("other", 0, 1000), Period("owner", 0, 150), mine]
    assert owner_for(owners, "owner", 100, 200) is mine
    assert owner_for(owners, "owner", 150, 160) is mine
    assert owner_for(owners, "other", 100, 200) is owners[0]


@pytest.mark.parametrize(
    ("who", "start", "end"),
    [("owner", 99, 200), ("owner", 100, 201), ("owner", 99, 201), ("nobody", 100, 200)],
)
def test_owner_for_refuses_a_window_not_wholly_owned(who: str, start: int, end: int) -> None:
    owners = [Period("owner", 100, 200), Period("other", 0, 1000)]
    assert owner_for(owners, who, start, end) is None
    assert owner_for([], "owner", 100, 200) is None


# check_live: expiry, the year limit, post-dating


def test_check_live_allows_the_last_second_and_refuses_the_expiry_second() -> None:
    check_live(_root(exp=NOW + 1), NOW)
    with pytest.raises(Forbidden) as exc:
        check_live(_root(exp=NOW), NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-1 has expired")
    with pytest.raises(Forbidden) as exc:
        check_live(_root(jti="g-9", exp=NOW - 1), NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-9 has expired")


_LONG = "grants last at most a year and are not post-dated"


def test_check_live_allows_exactly_366_days_and_refuses_one_second_more() -> None:
    check_live(_root(iat=NOW - 10, exp=NOW - 10 + 366 * DAY), NOW)
    with pytest.raises(BadData) as exc:
        check_live(_root(iat=NOW - 10, exp=NOW - 9 + 366 * DAY), NOW)
    _refused(exc, BadData, Reason.GRANT_INVALID, _LONG)
    # measured from iat, not from zero nor added to it
    check_live(_root(iat=NOW + 300, exp=NOW + 300 + 366 * DAY), NOW)


def test_check_live_allows_iat_300_s_ahead_and_refuses_301() -> None:
    check_live(_root(iat=NOW + 300, exp=NOW + 1000), NOW)
    with pytest.raises(BadData) as exc:
        check_live(_root(iat=NOW + 301, exp=NOW + 1000), NOW)
    _refused(exc, BadData, Reason.GRANT_INVALID, _LONG)
    check_live(_root(iat=NOW - 5 * DAY, exp=NOW + 1), NOW)


# check_root_grant: vehicle, no parent, ownership, liveness


def test_root_grant_of_the_owner_returns_its_period() -> None:
    period = Period("owner", S, E)
    owners = [Period("owner", S + 1, E), Period("other", 0, E), period]
    assert check_root_grant(_root(), "vin-1", owners, NOW) is period


def test_root_grant_for_another_vehicle_is_refused() -> None:
    with pytest.raises(BadData) as exc:
        check_root_grant(_root(), "vin-2", [Period("owner", S, E)], NOW)
    _refused(exc, BadData, Reason.WRONG_VEHICLE, "the grant names another vehicle")


def test_root_grant_with_a_parent_is_refused() -> None:
    with pytest.raises(BadData) as exc:
        check_root_grant(_root(parent="g-0"), "vin-1", [Period("owner", S, E)], NOW)
    _refused(exc, BadData, Reason.GRANT_INVALID, "an owner's grant has no parent")


@pytest.mark.parametrize(
    "owners",
    [[], [Period("other", S, E)], [Period("owner", S + 1, E)], [Period("owner", S, E - 1)]],
)
def test_root_grant_by_a_non_owner_for_the_window_is_refused(owners: list[Period]) -> None:
    with pytest.raises(Forbidden) as exc:
        check_root_grant(_root(), "vin-1", owners, NOW)
    _refused(exc, Forbidden, Reason.NOT_OWNER, "the issuer did not own the vehicle for the window")


def test_root_grant_must_be_live() -> None:
    with pytest.raises(Forbidden) as exc:
        check_root_grant(_root(exp=NOW), "vin-1", [Period("owner", S, E)], NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-1 has expired")
    with pytest.raises(BadData) as exc2:
        check_root_grant(_root(iat=NOW + 301), "vin-1", [Period("owner", S, E)], NOW)
    _refused(exc2, BadData, Reason.GRANT_INVALID, _LONG)


# check_chain: at use, every grant live, unrevoked, each narrower than its parent


def test_a_live_chain_is_allowed_at_its_edges() -> None:
    root, child = _root(nbf=NOW), _child(nbf=NOW, exp=NOW + 1)
    check_chain([root, child], [False, False], NOW)
    check_chain([root], [False], NOW)
    check_chain([], [], NOW)
    grandchild = _child(jti="g-3", iss="adjuster", sub="expert", parent="g-2", depth=0)
    check_chain([_root(), _child(), grandchild], [False, False, False], NOW)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_revoked_grant_anywhere_in_the_chain_is_refused(which: int) -> None:
    grandchild = _child(jti="g-3", iss="adjuster", sub="expert", parent="g-2", depth=0)
    chain = [_root(), _child(), grandchild]
    revoked = [i == which for i in range(3)]
    with pytest.raises(Forbidden) as exc:
        check_chain(chain, revoked, NOW)
    _refused(exc, Forbidden, Reason.GRANT_REVOKED, f"grant {chain[which].jti} is revoked")


def test_revocation_is_reported_before_expiry() -> None:
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(exp=NOW)], [True], NOW)
    _refused(exc, Forbidden, Reason.GRANT_REVOKED, "grant g-1 is revoked")


def test_a_grant_not_yet_valid_is_refused_one_second_early() -> None:
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(nbf=NOW + 1)], [False], NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-1 is not valid yet")
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(), _child(nbf=NOW + 1)], [False, False], NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-2 is not valid yet")


def test_an_expired_grant_in_the_chain_is_refused_at_its_expiry_second() -> None:
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(exp=NOW)], [False], NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-1 has expired")
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(), _child(exp=NOW)], [False, False], NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-2 has expired")


_WIDENS = "sub-grant widens its parent: "


@pytest.mark.parametrize(
    ("child", "why"),
    [
        (_child(parent="g-0"), "not delegated from this parent by its grantee"),
        (_child(iss="owner"), "not delegated from this parent by its grantee"),
        (_child(window_start_ns=S - 1), "data window"),
        (_child(window_end_ns=E + 1), "data window"),
        (_child(scope=("can0",)), "streams"),
        (_child(actions=("read", "export", "delete")), "actions"),
        (_child(depth=2), "delegation depth"),
    ],
)
def test_a_chain_whose_delegation_widens_is_refused(child: Grant, why: str) -> None:
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(), child], [False, False], NOW)
    _refused(exc, Forbidden, Reason.DELEGATION_WIDENS, _WIDENS + why)
    assert exc.value.__cause__ is None
    assert exc.value.__suppress_context__


def test_each_grant_is_checked_against_its_own_parent() -> None:
    grandchild = _child(jti="g-3", iss="adjuster", sub="expert", parent="g-2", depth=0)
    # narrower than the root but not than its parent (g-2's window)
    narrow = _child(window_start_ns=S + 10)
    with pytest.raises(Forbidden) as exc:
        check_chain([_root(), narrow, grandchild], [False, False, False], NOW)
    _refused(exc, Forbidden, Reason.DELEGATION_WIDENS, _WIDENS + "data window")
    # the root is not checked against anything
    check_chain([_root(depth=0, parent=None)], [False], NOW)


def test_the_chain_and_its_revocations_must_have_the_same_length() -> None:
    with pytest.raises(ValueError, match="zip"):
        check_chain([_root(), _child()], [False], NOW)
    with pytest.raises(ValueError, match="zip"):
        check_chain([_root()], [False, False], NOW)


# check_use: the last grant allows this party this action on this window and scope


def _use(g: Grant | None = None, **kw: object) -> None:
    args: dict[str, object] = {
        "party": "insurer", "vehicle_id": "vin-1", "window": (S, E), "scope": ["gnss"],
        "action": "read",
    }  # fmt: skip
    args.update(kw)
    check_use(_root() if g is None else g, **args)  # type: ignore[arg-type]


def test_use_within_the_grant_is_allowed_to_its_edges() -> None:
    _use()
    _use(window=(S, S + 1), action="export", scope=["can0#0aa", "gnss"])
    _use(window=(E - 1, E), scope=[])
    _use(window=(S + 1, E - 1), scope=["gnss", "gnss"])


def test_use_by_another_party_is_refused() -> None:
    with pytest.raises(Forbidden) as exc:
        _use(party="adjuster")
    _refused(exc, Forbidden, Reason.OUTSIDE_GRANT, "the grant was issued to another party")


def test_use_on_another_vehicle_is_refused() -> None:
    with pytest.raises(Forbidden) as exc:
        _use(vehicle_id="vin-2")
    _refused(exc, Forbidden, Reason.WRONG_VEHICLE, "the grant is for another vehicle")


def test_use_for_an_action_not_granted_is_refused() -> None:
    with pytest.raises(Forbidden) as exc:
        _use(_root(actions=("read",)), action="export")
    _refused(exc, Forbidden, Reason.OUTSIDE_GRANT, "the grant does not allow export")
    with pytest.raises(Forbidden) as exc:
        _use(action="rea")  # membership, not a substring
    _refused(exc, Forbidden, Reason.OUTSIDE_GRANT, "the grant does not allow rea")


@pytest.mark.parametrize("window", [(S - 1, E), (S, E + 1), (S - 1, E + 1), (0, S - 1)])
def test_use_outside_the_granted_window_is_refused_by_one_ns(window: tuple[int, int]) -> None:
    with pytest.raises(Forbidden) as exc:
        _use(window=window)
    _refused(exc, Forbidden, Reason.OUTSIDE_GRANT, "the window is outside the granted window")


@pytest.mark.parametrize("scope", [["can0"], ["gnss", "imu"], ["imu", "gnss"], ["can0#0ab"]])
def test_use_of_a_stream_not_granted_is_refused(scope: list[str]) -> None:
    with pytest.raises(Forbidden) as exc:
        _use(scope=scope)
    _refused(exc, Forbidden, Reason.OUTSIDE_GRANT, "a requested stream is not granted")


def test_use_checks_in_order_party_vehicle_action_window_scope() -> None:
    with pytest.raises(Forbidden, match="another party"):
        _use(party="x", vehicle_id="x", action="x", window=(0, 1), scope=["x"])
    with pytest.raises(Forbidden, match="another vehicle"):
        _use(vehicle_id="x", action="x", window=(0, 1), scope=["x"])
    with pytest.raises(Forbidden, match="does not allow"):
        _use(action="x", window=(0, 1), scope=["x"])
    with pytest.raises(Forbidden, match="granted window"):
        _use(window=(0, 1), scope=["x"])


# delegate: at issue, a sub-grant narrower than its parent, and live itself


def test_delegating_a_narrower_live_grant_is_allowed() -> None:
    delegate(_child(), _root(), NOW)
    delegate(_child(exp=NOW + 1, depth=1, window_start_ns=S, window_end_ns=E), _root(), NOW)


@pytest.mark.parametrize(
    ("child", "why"),
    [
        (_child(vehicle="vin-2"), "vehicle"),
        (_child(signals=("SPEED", "RPM")), "signals"),
        (_child(nbf=NOW - 101), "validity"),
        (_child(exp=NOW + 1001), "validity"),
        (_child(depth=2), "delegation depth"),
    ],
)
def test_delegating_a_wider_grant_is_forbidden(child: Grant, why: str) -> None:
    with pytest.raises(Forbidden) as exc:
        delegate(child, _root(), NOW)
    _refused(exc, Forbidden, Reason.DELEGATION_WIDENS, _WIDENS + why)
    assert exc.value.__cause__ is None
    assert exc.value.__suppress_context__


def test_delegating_an_expired_or_post_dated_grant_is_refused() -> None:
    with pytest.raises(Forbidden) as exc:
        delegate(_child(exp=NOW), _root(), NOW)
    _refused(exc, Forbidden, Reason.GRANT_EXPIRED, "grant g-2 has expired")
    with pytest.raises(BadData) as exc2:
        delegate(_child(iat=NOW + 301), _root(), NOW)
    _refused(exc2, BadData, Reason.GRANT_INVALID, _LONG)
