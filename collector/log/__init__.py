"""The transparency log: tree, leaves, signed checkpoints and anchoring.

Imports notary_core and collector.store; nothing from collector.api or collector.access.
"""
