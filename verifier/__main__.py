"""`python -m verifier BUNDLE ...`: the verifier without the rest of vnotary's CLI."""

import sys

from verifier.cli import main

sys.exit(main())
