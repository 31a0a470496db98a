"""Which chain an entry links into (§7.1.1, `evidence_v2._device_link` and `_rule_link`): an
entry of another device or vehicle, or of an action that is not the chain's, gives no link,
so a walk through it stops with ENTRY_OMITTED (mutation run of 2026-12-03)."""

from __future__ import annotations

from notary_core import evidence_v2, logleaf
from notary_core.logleaf import AccessAction, AccessEvent, Link, RegistryAction, RegistryEvent

L0, L1 = Link(0), Link(1, 4, bytes(range(32)))
INSTALLED = next(iter(sorted(logleaf.DEVICE_ACTIONS)))


def test_a_registry_event_links_into_its_own_device_chain_only() -> None:
    leaf = RegistryEvent(RegistryAction.ENROL, "dev", b"spki", b"kid", 5, None, 6, L1).to_leaf()
    assert evidence_v2._device_link("dev")(leaf)[1] == L1
    event, link = evidence_v2._device_link("other")(leaf)
    assert link is None and isinstance(event, RegistryEvent)


def test_an_installation_links_into_the_chain_of_the_device_it_names() -> None:
    leaf = AccessEvent(INSTALLED, "veh", "op", "dev", 1, 2, 3, "", L1, L0, L1).to_leaf()
    assert evidence_v2._device_link("dev")(leaf)[1] == L1
    assert evidence_v2._device_link("other")(leaf)[1] is None


def test_a_rule_entry_links_into_its_own_vehicle_chain_only() -> None:
    grant = AccessEvent(AccessAction.GRANT, "veh", "a", "g", 1, 2, 3, "", L1, L0).to_leaf()
    assert evidence_v2._rule_link("veh")(grant)[1] == L0
    assert evidence_v2._rule_link("other")(grant)[1] is None
    read = AccessEvent(AccessAction.READ, "veh", "a", "g", 1, 2, 3, "", L1).to_leaf()
    assert evidence_v2._rule_link("veh")(read)[1] is None  # a READ is no rule
