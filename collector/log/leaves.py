"""Typed leaves of the collector's log: the core's definitions (notary_core.logleaf).

The verifier recomputes these leaves, so their bytes belong to the protocol and live in the
core; this module re-exports them for the collector and adds the leaf hash.
"""

from __future__ import annotations

from notary_core import merkle
from notary_core.logleaf import LeafType, RegistryAction, RegistryEvent, batch_leaf

__all__ = ["LeafType", "RegistryAction", "RegistryEvent", "batch_leaf", "leaf_hash"]


def leaf_hash(leaf_data: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of typed leaf data."""
    return merkle.hash_leaf(leaf_data)
