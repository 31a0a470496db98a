"""A grant's encodings refused by their words (mutation run, docs/testing.md): base64url that
does not decode, and a token over the size bound, at the bound and one past."""

from __future__ import annotations

import pytest

from notary_core import grant
from notary_core.errors import BadData, Reason


def test_base64url_that_does_not_decode() -> None:
    assert grant.b64url_decode("AA") == b"\x00"
    for text in ("A", "AAAAA", "A+", "A="):  # a lone 6 bits, then characters outside the alphabet
        with pytest.raises(BadData) as e:
            grant.b64url_decode(text)
        assert (e.value.reason, e.value.message) == (Reason.GRANT_INVALID, "not base64url")


def test_a_token_over_the_size_bound() -> None:
    n = grant.MAX_GRANT_SIZE
    with pytest.raises(BadData) as e:
        grant.open_grant("a" * (n + 1))
    assert (e.value.reason, e.value.message) == (Reason.TOO_LARGE, f"grant is {n + 1}, limit {n}")
    with pytest.raises(BadData) as e:  # at the bound the size passes, and the form is refused
        grant.open_grant("a" * n)
    assert (e.value.reason, e.value.message) == (
        Reason.GRANT_INVALID, "a compact JWS has three parts")  # fmt: skip
