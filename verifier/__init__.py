"""Standalone, offline verifier of evidence bundles. Imports only notary_core."""
