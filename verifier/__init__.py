"""Standalone, offline verifier of evidence bundles. Imports only notary_core.

    vnotary verify BUNDLE [--trust FILE] [--rpc URL [--collector URL]] [--json]

Exit codes: 0 OK, 1 FAIL, 3 INCONCLUSIVE, 2 usage error, 4 the bundle or trust file
cannot be read.
"""

import os as _os
import sys as _sys

# VNOTARY_PURE_PYTHON=1 switches the optional C accelerators off, the core's and the bridge's
# (docs/testing.md): notary_core reads no environment, so its entry points do, before the core
# is imported. A None in sys.modules makes `from notary_core import _accel` fail as if unbuilt.
if _os.environ.get("VNOTARY_PURE_PYTHON", "") not in ("", "0"):
    _sys.modules.setdefault("notary_core._accel", None)  # type: ignore[arg-type]
