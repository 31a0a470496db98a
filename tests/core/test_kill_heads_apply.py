"""The index applying leaves (§7.3): each refusal of a leaf out of place or a link that does
not follow its chain's head, by its words (which chain, which entry), and a head that is not
in the index (mutation run, docs/testing.md)."""

from __future__ import annotations

import pytest

from notary_core import heads
from notary_core.errors import BadData, Reason
from notary_core.heads import ChainHead, Index
from notary_core.logleaf import (
    AccessAction,
    AccessEvent,
    BatchLeaf,
    Link,
    RegistryAction,
    RegistryEvent,
)

H = bytes(range(32))
WRONG = Link(1, 0, H)


def _index(n: int) -> Index:
    """An index over n batch leaves of device "d" (they link nothing)."""
    ix = Index()
    for i in range(n):
        ix.apply(i, BatchLeaf(H, i, "d").to_leaf())
    return ix


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def _event(action: AccessAction, **links: Link) -> AccessEvent:
    return AccessEvent(action, "veh", "actor", "dev-9", 0, 10, 5, "", **links)


def test_a_leaf_out_of_place() -> None:
    ix = _index(2)
    for at in (0, 1, 3):
        _refused(Reason.BAD_INDEX, f"leaf {at} applied to an index of size 2", ix.apply, at,
                 BatchLeaf(H, 9, "d").to_leaf())  # fmt: skip
    assert ix.size == 2


@pytest.mark.parametrize(
    ("what", "event"),
    [
        ("vehicle", _event(AccessAction.READ, vehicle_link=WRONG)),
        ("rule", _event(AccessAction.GRANT, vehicle_link=Link(0), rule_link=WRONG)),
        ("device", _event(AccessAction.DEVICE_INSTALLED, vehicle_link=Link(0), rule_link=Link(0),
                          device_link=WRONG)),
        ("device", RegistryEvent(RegistryAction.ENROL, "dev-9", b"k", b"i", 0, None, 1, WRONG)),
    ],
)  # fmt: skip
def test_a_link_that_does_not_follow_its_chain(
    what: str, event: AccessEvent | RegistryEvent
) -> None:
    ix = _index(3)
    _refused(Reason.INDEX_MISMATCH,
             f"log entry 3: its {what} link {WRONG} does not follow the chain's head "
             f"{ChainHead()}", ix.apply, 3, event.to_leaf())  # fmt: skip
    assert ix.size == 3
    ix.apply(3, ix.linked(event).to_leaf())  # the same event, linked as its heads say
    assert ix.size == 4


def test_a_head_not_in_the_index() -> None:
    ix = _index(1)
    assert ix.prove(heads.device_key("d"))[0] == ix.device("d").value()
    _refused(Reason.INDEX_MISMATCH, "no such entry in the index", ix.prove,
             heads.device_key("nobody"))  # fmt: skip
    _refused(Reason.INDEX_MISMATCH, "no such entry in the index", ix.prove,
             heads.vehicle_key("veh"))  # fmt: skip
