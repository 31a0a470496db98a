"""Owners, grants, reads and evidence: pure rules (rules.py), flows and their storage.

Imports notary_core, collector.store and collector.log; nothing from collector.api.
"""
