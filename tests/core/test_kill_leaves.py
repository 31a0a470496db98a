"""What the full mutation run of 2026-12-03 left open in small functions: the salt key's
length refusal by its words, the item key of CAN id 0 (a frame, not "no CAN id"), and the
index leaf named in its CBOR errors."""

from __future__ import annotations

import pytest

from notary_core import batch, header, limits, logleaf
from notary_core.errors import BadData, Reason


@pytest.mark.parametrize("size", [0, limits.SALT_KEY_SIZE - 1, limits.SALT_KEY_SIZE + 1])
def test_a_salt_key_of_another_length_is_refused_by_its_words(size: int) -> None:
    with pytest.raises(BadData) as e:
        batch.leaf_hashes(bytes(size), [b"record"])
    assert (e.value.reason, e.value.message) == (
        Reason.MALFORMED, f"salt key must be {limits.SALT_KEY_SIZE} bytes")  # fmt: skip


def test_can_id_0_is_a_frame_and_minus_1_is_no_can_id() -> None:
    assert header.item_key(0, 0) == 0
    assert header.item_key(0, 0x01) == header._EFF
    assert header.item_key(-1, 0) == header.NON_CAN_ITEM
    assert header.item_key(1, 0) == 1


def test_an_index_leaf_that_is_not_cbor_is_named() -> None:
    with pytest.raises(BadData) as e:
        logleaf.IndexLeaf.from_leaf(bytes([logleaf.LeafType.INDEX]) + b"\xff")
    assert e.value.reason == Reason.MALFORMED
    assert e.value.message.startswith("index leaf is not ")
