"""The human-readable HTML report, built from a verified bundle.

Imports notary_core and the verifier only.
"""
