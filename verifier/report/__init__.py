"""The human-readable HTML report built from a verified bundle. Imports only notary_core and the verifier."""
