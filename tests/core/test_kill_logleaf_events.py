"""Registry and access events as log leaves (§7.1, §7.1.1): their exact bytes in both
versions, and each refusal of `from_leaf` and `to_leaf` by its reason and words: the keys
each version allows, each field's exact type (a CBOR true or 1.0 is no integer), and the links
each action carries: with every type exact, each event has one leaf (mutation run,
docs/testing.md)."""

from __future__ import annotations

from typing import Any

import pytest

from notary_core import cbor, logleaf
from notary_core.errors import BadData, Reason
from notary_core.logleaf import AccessAction, AccessEvent, Link, RegistryAction, RegistryEvent

H = bytes(range(32))
L0, L1 = Link(0), Link(1, 4, H)
ACCESS_V1 = {1: 1, 2: 4, 3: "veh", 4: "actor", 5: "g1", 6: 10, 7: 20, 8: 30, 9: "speed"}
REGISTRY_V1 = {1: 1, 2: 1, 3: "dev", 4: b"spki", 5: b"kid", 6: 5, 7: None, 8: 6}


def _refused(reason: Reason, message: str, fn: object, *args: object) -> None:
    with pytest.raises(BadData) as e:
        fn(*args)  # type: ignore[operator]
    assert (e.value.reason, e.value.message) == (reason, message)


def _leaf(kind: int, body: Any) -> bytes:
    return bytes([kind]) + cbor.dumps(body)


def test_registry_events_both_versions() -> None:
    v1 = RegistryEvent(RegistryAction.ENROL, "dev", b"spki", b"kid", 5, None, 6)
    assert v1.to_leaf() == _leaf(2, REGISTRY_V1)
    v2 = RegistryEvent(RegistryAction.REVOKE, "dev", b"spki", b"kid", -5, 9, 6, L1)
    body2 = {**REGISTRY_V1, 1: 2, 2: 3, 6: -5, 7: 9, 9: [1, 4, H]}
    assert v2.to_leaf() == _leaf(2, body2)
    for event in (v1, v2):
        assert RegistryEvent.from_leaf(event.to_leaf()) == event
        assert logleaf.parse_leaf(event.to_leaf()) == event


def test_registry_event_refusals() -> None:
    F = RegistryEvent.from_leaf
    M = Reason.MALFORMED
    _refused(Reason.UNKNOWN_KIND, "not a registry event leaf", F, b"")
    _refused(Reason.UNKNOWN_KIND, "not a registry event leaf", F, _leaf(3, REGISTRY_V1))
    for version in (0, 3, True, 1.0, "1", None):
        _refused(Reason.UNSUPPORTED_VERSION, "registry event version", F,
                 _leaf(2, {**REGISTRY_V1, 1: version}))  # fmt: skip
    _refused(Reason.UNSUPPORTED_VERSION, "registry event version", F, _leaf(2, [1, 2]))
    for action in (True, 1.0, "1", None):
        _refused(M, "registry event action is not an integer", F,
                 _leaf(2, {**REGISTRY_V1, 2: action}))  # fmt: skip
    _refused(M, "registry event field: 4 is not a valid RegistryAction", F,
             _leaf(2, {**REGISTRY_V1, 2: 4}))  # fmt: skip
    without_8 = {k: v for k, v in REGISTRY_V1.items() if k != 8}
    v2 = {**REGISTRY_V1, 1: 2, 9: [0, None, None]}
    for body in ({**REGISTRY_V1, 9: [0, None, None]}, without_8,
                 {k: v for k, v in v2.items() if k != 9}, {**v2, 10: 0}):  # fmt: skip
        _refused(M, "registry event keys", F, _leaf(2, body))
    _refused(M, "a link is [n, prev index, prev hash]", F, _leaf(2, {**v2, 9: [0, None]}))
    assert F(_leaf(2, v2)).link == L0
    message = "registry event fields have the wrong types"
    for key, bad in ((3, b"dev"), (4, "spki"), (5, "kid"), (6, "5"), (6, True), (6, 5.5),
                     (7, "9"), (7, False), (8, None), (8, True)):  # fmt: skip
        _refused(M, message, F, _leaf(2, {**REGISTRY_V1, key: bad}))
    assert F(_leaf(2, {**REGISTRY_V1, 7: 7})).not_after_ns == 7


def test_access_events_both_versions() -> None:
    v1 = AccessEvent(AccessAction.READ, "veh", "actor", "g1", 10, 20, 30, "speed")
    assert v1.to_leaf() == _leaf(3, ACCESS_V1) and v1.version == 1
    read = AccessEvent(AccessAction.READ, "veh", "actor", "g1", 10, 20, 30, "speed", L1)
    assert read.to_leaf() == _leaf(3, {**ACCESS_V1, 1: 2, 10: [1, 4, H]}) and read.version == 2
    grant = AccessEvent(AccessAction.GRANT, "veh", "a", "g", 1, 2, 3, "", L1, L0)
    grant_body = {**ACCESS_V1, 1: 2, 2: 2, 4: "a", 5: "g", 6: 1, 7: 2, 8: 3, 9: ""}
    assert grant.to_leaf() == _leaf(3, {**grant_body, 10: [1, 4, H], 11: [0, None, None]})
    for action in logleaf.DEVICE_ACTIONS:
        dev = AccessEvent(action, "veh", "a", "dev", 1, 2, 3, "", L1, L0, L1)
        assert cbor.loads(dev.to_leaf()[1:], 4096, "x")[12] == [1, 4, H]
        assert AccessEvent.from_leaf(dev.to_leaf()) == dev
    for event in (v1, read, grant):
        assert AccessEvent.from_leaf(event.to_leaf()) == event
        assert logleaf.parse_leaf(event.to_leaf()) == event
    _refused(
        Reason.MALFORMED,
        "a version-1 access event has no links",
        AccessEvent(AccessAction.GRANT, "v", "a", "g", 1, 2, 3, "", None, L0).to_leaf,
    )
    _refused(
        Reason.MALFORMED,
        "a version-1 access event has no links",
        AccessEvent(AccessAction.READ, "v", "a", "g", 1, 2, 3, "", None, None, L0).to_leaf,
    )


def test_access_event_refusals() -> None:
    F = AccessEvent.from_leaf
    M = Reason.MALFORMED
    _refused(Reason.UNKNOWN_KIND, "not a access event leaf", F, _leaf(2, ACCESS_V1))
    for version in (3, True, 2.0):
        _refused(Reason.UNSUPPORTED_VERSION, "access event version", F,
                 _leaf(3, {**ACCESS_V1, 1: version}))  # fmt: skip
    _refused(M, "access event action is not an integer", F, _leaf(3, {**ACCESS_V1, 2: True}))
    _refused(M, "access event field: 12 is not a valid AccessAction", F,
             _leaf(3, {**ACCESS_V1, 2: 12}))  # fmt: skip
    v2 = {**ACCESS_V1, 1: 2, 10: [0, None, None]}
    no_9 = {k: v for k, v in ACCESS_V1.items() if k != 9}
    for body in (no_9, {**ACCESS_V1, 10: [0, None, None]}, {**v2, 13: 0}, {**v2, 0: 0}):
        _refused(M, "access event keys", F, _leaf(3, body))
    wrong: tuple[tuple[int, Any], ...] = ((3, 1), (4, b"a"), (5, None), (9, 0))
    for key, bad in wrong:
        _refused(M, "access event fields have the wrong types", F,
                 _leaf(3, {**ACCESS_V1, key: bad}))  # fmt: skip
    times: tuple[tuple[int, Any], ...] = ((6, "10"), (7, True), (8, 3.5), (6, None))
    for key, bad in times:
        _refused(M, "access event times must be integers", F,
                 _leaf(3, {**ACCESS_V1, key: bad}))  # fmt: skip
    _refused(M, "a version-2 access event has a vehicle link", F,
             _leaf(3, {**ACCESS_V1, 1: 2}))  # fmt: skip
    _refused(M, "a version-2 access event has a vehicle link", F,
             _leaf(3, {**ACCESS_V1, 1: 2, 2: 2, 11: [0, None, None]}))  # fmt: skip
    links = ("a {} event carries a rule link iff it is a rule action, "
             "and a device link iff it is an installation")  # fmt: skip
    for action, extra in ((2, {}), (4, {11: [0, None, None]}), (8, {11: [0, None, None]}),
                          (4, {12: [0, None, None]}), (11, {11: [0, None, None]})):  # fmt: skip
        name = AccessAction(action).name
        _refused(M, links.format(name), F, _leaf(3, {**v2, 2: action, **extra}))
    for action in sorted(logleaf.V2_ACTIONS):
        _refused(Reason.UNKNOWN_KIND, f"{action.name} is a version-2 action", F,
                 _leaf(3, {**ACCESS_V1, 2: int(action)}))  # fmt: skip
    refused = F(_leaf(3, {**v2, 2: 9}))
    assert refused.action is AccessAction.REFUSED and refused.vehicle_link == L0
