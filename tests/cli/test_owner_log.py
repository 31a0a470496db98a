"""`vnotary owner log --verify` checks the pages with the trust file's log key and, when it
pins witnesses, their quorum (docs/protocol.md §14), as `notary_core.history` does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from notary_core.errors import BadData, Reason
from tests.core.test_history import Args, honest
from vnotary_cli import owner


def pages(a: Args, size: int, per_page: int = 3) -> list[dict[str, Any]]:
    """The pages a collector answers (§14), `per_page` entries each."""
    index = {
        "leaf": a.index_leaf.hex(),
        "proof": [p.hex() for p in a.index_proof],
        "value": a.head_value.hex(),
        "siblings": [s.hex() for s in a.head_siblings],
    }
    out = []
    for start in range(0, len(a.entries), per_page):
        chunk = a.entries[start : start + per_page]
        out.append({"checkpoint": a.note.decode(), "size": size, "count": len(a.entries),
                    "index": index,
                    "entries": [{"index": e.index, "leaf": e.leaf.hex(),
                                 "proof": [p.hex() for p in e.proof]} for e in chunk]})  # fmt: skip
    return out


def test_owner_log_checks_the_pinned_witness_quorum() -> None:
    h = honest()
    pinned = [x.verifier.vkey for x in h.w.witnesses]
    note = h.w.cosign(h.new.note, (0, 1))
    cosigned = pages(replace(h.new, note=note), h.tree.size)
    vkey = [h.new.log_vkey]
    assert owner.check(cosigned, h.new.vehicle, vkey).count == 7  # no witnesses pinned
    assert owner.check(cosigned, h.new.vehicle, vkey, pinned, 2).count == 7
    with pytest.raises(BadData) as err:
        owner.check(cosigned, h.new.vehicle, vkey, pinned, None)  # all three
    assert err.value.reason is Reason.BAD_CHECKPOINT
    assert err.value.message.startswith("QUORUM_NOT_MET: 2 of the 3 ")
    with pytest.raises(BadData) as err:
        owner.check(
            pages(h.new, h.tree.size), h.new.vehicle, vkey, pinned, 1
        )  # not cosigned at all
    assert err.value.reason is Reason.BAD_CHECKPOINT
