"""Owners, grants, reads and evidence: the pure rules (rules.py) and the flows and storage around them. Imports nothing from collector.api."""
