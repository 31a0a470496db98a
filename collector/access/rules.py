"""Access rules (pure): who may grant, delegate, revoke and use a grant, and the errors that
become HTTP statuses. Grants themselves are notary_core.grant; this module decides whether
one is acceptable here and now, given the registry (ownership periods, parties).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from notary_core.errors import BadData, Reason, Unreachable
from notary_core.grant import Grant, check_narrower, in_scope

PARTY_ROLES = frozenset({"owner", "insurer", "adjuster", "court", "expert"})


class AccessReason(StrEnum):
    """Collector-side reasons; proposed for notary_core.errors.Reason (same strings)."""

    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"  # the signer's role may not call this endpoint
    NOT_ANCHORED = "NOT_ANCHORED"  # the entries a bundle needs are not anchored yet
    RATE_LIMITED = "RATE_LIMITED"  # the party sent more signed requests than its bucket holds
    KEY_ROTATED = "KEY_ROTATED"  # the operator rotated the signing party's key to another one


class _Coded(BadData):
    def __init__(self, reason: Reason | AccessReason, message: str, **fields: Any) -> None:
        super().__init__(Reason.MALFORMED, message, **fields)
        self.reason = reason  # type: ignore[assignment]


class Forbidden(_Coded):
    """Authenticated, but not allowed: HTTP 403."""


class NotFound(_Coded):
    """HTTP 404."""


class Conflict(_Coded):
    """The request clashes with the registry's state (duplicate, already decided): 409."""


class RateLimited(_Coded):
    """Too many signed requests from one party: HTTP 429 with Retry-After."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(AccessReason.RATE_LIMITED, message)
        self.retry_after_s = retry_after_s


class NotAnchored(Unreachable):
    """The bundle would need a checkpoint that is not anchored yet: 503 with Retry-After."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.reason = AccessReason.NOT_ANCHORED  # type: ignore[assignment]
        self.retry_after_s = retry_after_s


def owner_for(owners: Sequence[Any], owner: str, start_ns: int, end_ns: int) -> Any | None:
    """The ownership period of `owner` covering the whole [start, end], if any."""
    for p in owners:
        if p.who == owner and p.start_ns <= start_ns and end_ns <= p.end_ns:
            return p
    return None


def check_root_grant(g: Grant, vehicle_id: str, owners: Sequence[Any], now_s: int) -> Any:
    """An owner's grant: for this vehicle, by the owner bound for the whole data window."""
    if g.vehicle != vehicle_id:
        raise BadData(Reason.WRONG_VEHICLE, "the grant names another vehicle")
    if g.parent is not None:
        raise BadData(Reason.GRANT_INVALID, "an owner's grant has no parent")
    period = owner_for(owners, g.iss, g.window_start_ns, g.window_end_ns)
    if period is None:
        raise Forbidden(Reason.NOT_OWNER, "the issuer did not own the vehicle for the window")
    check_live(g, now_s)
    return period


def check_live(g: Grant, now_s: int) -> None:
    if g.exp <= now_s:
        raise Forbidden(Reason.GRANT_EXPIRED, f"grant {g.jti} has expired")
    if g.exp - g.iat > 366 * 86400 or g.iat > now_s + 300:
        raise BadData(Reason.GRANT_INVALID, "grants last at most a year and are not post-dated")


def check_chain(chain: Sequence[Grant], revoked: Sequence[bool], now_s: int) -> None:
    """At use: every grant of the chain live and unrevoked, each narrower than its parent."""
    for i, (g, gone) in enumerate(zip(chain, revoked, strict=True)):
        if gone:
            raise Forbidden(Reason.GRANT_REVOKED, f"grant {g.jti} is revoked")
        if not g.nbf <= now_s:
            raise Forbidden(Reason.GRANT_EXPIRED, f"grant {g.jti} is not valid yet")
        if g.exp <= now_s:
            raise Forbidden(Reason.GRANT_EXPIRED, f"grant {g.jti} has expired")
        if i:
            try:
                check_narrower(g, chain[i - 1])
            except BadData as exc:
                raise Forbidden(exc.reason, exc.message) from None


def check_use(
    g: Grant, party: str, vehicle_id: str, window: tuple[int, int], scope: Sequence[str],
    action: str,
) -> None:  # fmt: skip
    """The last grant of a chain allows this party this action on this window and scope."""
    if g.sub != party:
        raise Forbidden(Reason.OUTSIDE_GRANT, "the grant was issued to another party")
    if g.vehicle != vehicle_id:
        raise Forbidden(Reason.WRONG_VEHICLE, "the grant is for another vehicle")
    if action not in g.actions:
        raise Forbidden(Reason.OUTSIDE_GRANT, f"the grant does not allow {action}")
    if window[0] < g.window_start_ns or window[1] > g.window_end_ns:
        raise Forbidden(Reason.OUTSIDE_GRANT, "the window is outside the granted window")
    if not all(in_scope(g.scope, s) for s in scope):
        raise Forbidden(Reason.OUTSIDE_GRANT, "a requested stream is not granted")


def delegate(child: Grant, parent: Grant, now_s: int) -> None:
    """At issue: a sub-grant narrower on every axis than a live parent."""
    try:
        check_narrower(child, parent)
    except BadData as exc:
        raise Forbidden(exc.reason, exc.message) from None
    check_live(child, now_s)
