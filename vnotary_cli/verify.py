"""`vnotary verify`: the standalone verifier (verifier/), registered in the main CLI."""

from __future__ import annotations

import argparse
from typing import Any

from verifier.cli import add_arguments, run


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "verify",
        help="check an evidence bundle offline (exit 0 OK, 1 FAIL, 3 INCONCLUSIVE)",
        description="Check every link of an evidence bundle offline; with --rpc also "
        "confirm its anchor on chain. Exit codes: 0 OK, 1 FAIL, 3 INCONCLUSIVE, 2 usage, "
        "4 unreadable input.",
    )
    add_arguments(p)
    p.set_defaults(handler=run)
