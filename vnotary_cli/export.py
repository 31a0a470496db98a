"""`vnotary export`: verified records for an expert's tools (verifier/export.py)."""

from __future__ import annotations

import argparse
from typing import Any

from verifier.export import add_arguments, run


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="verify a bundle, then write its records as a candump log or CSV",
        description="Verify an evidence bundle (as `vnotary verify` does), then write its "
        "disclosed records for python-can, cantools, SavvyCAN or a spreadsheet, with a "
        "manifest naming the bundle's sha256 and the verdict. Exit codes: 0 written (OK or "
        "INCONCLUSIVE, the manifest says which), 1 the bundle FAILS (nothing written), "
        "2 usage, 4 unreadable input or unwritable output.",
    )
    add_arguments(p)
    p.set_defaults(handler=run)
