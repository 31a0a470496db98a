"""Argument types of the command line: each parses or fails as a usage error (exit 2).

Times are exact integers of nanoseconds: `datetime.timestamp()` is a float, which rounds a
2020s instant by up to ~256 ns, and an absent value is None, never 0, because 0 is the
epoch (1970-01-01T00:00:00Z), a valid start for a replayed recording's key.
"""

from __future__ import annotations

import argparse
import base64
import binascii
from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_ns(text: str) -> int:
    """ISO 8601 with an explicit UTC offset (`Z` or `+02:00`) -> ns since the epoch."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add Z or +HH:MM")
    delta = when - EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
    if ns < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is before the epoch (1970-01-01T00:00:00Z)")
    return ns


def ed25519_b64url(text: str) -> bytes:
    """A raw Ed25519 public key, base64url (padding optional) -> its 32 bytes."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not base64url") from None
    if len(raw) != 32:
        raise argparse.ArgumentTypeError(f"an Ed25519 key is 32 bytes, this is {len(raw)}")
    return raw
