"""`vnotary monitor`: follow a log and alarm on a fork or a rewrite (monitor/)."""

from __future__ import annotations

import argparse
from typing import Any

from monitor.cli import add_arguments, run


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "monitor",
        help="follow a collector's checkpoints; exit 1 with evidence on a FORK or REWRITE",
        description="Follow a collector's published checkpoints: check the log signature, "
        "the witnesses' quorum and consistency with the last checkpoint verified (state "
        "kept in --state). Exit codes: 0 consistent, 1 FORK or REWRITE alarm (both signed "
        "checkpoints written to a file), 3 could not check, 2 usage, 4 unreadable input.",
    )
    add_arguments(p)
    p.set_defaults(handler=run)
