"""Standalone, offline verifier of evidence bundles. Imports only notary_core.

    vnotary verify BUNDLE [--trust FILE] [--rpc URL [--collector URL]] [--json]

Exit codes: 0 OK, 1 FAIL, 3 INCONCLUSIVE, 2 usage error, 4 the bundle or trust file
cannot be read.
"""
