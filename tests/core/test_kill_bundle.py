"""Direct tests of bundle parsing refusals that mutation testing asked for."""

import pytest

from notary_core import bundle
from notary_core.errors import BadData, Reason


def test_a_logged_entry_whose_proof_holds_a_non_byte_string_is_malformed() -> None:
    with pytest.raises(BadData) as e:
        bundle._logged([b"leaf", 0, [b"\x00" * 32, 7]])
    assert e.value.reason is Reason.MALFORMED
    assert "log proof must be a list of byte strings" in str(e.value)
