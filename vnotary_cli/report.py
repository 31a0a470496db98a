"""`vnotary report`: the human evidence report (verifier/report/build.py), registered in the CLI."""

from __future__ import annotations

import argparse
from typing import Any

from verifier.report.build import add_arguments, run


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="verify an evidence bundle and write a self-contained HTML report",
        description="Verify an evidence bundle (as `vnotary verify` does) and write one "
        "self-contained HTML file for people: verdict and checks, GNSS map, speed/brake/IMU "
        "plots, device, hash chain, anchor, grants, limitations and the commands to reproduce "
        "the verification. Exit codes: 0 written (whatever the verdict), 2 usage, "
        "4 unreadable input or unwritable output.",
    )
    add_arguments(p)
    p.set_defaults(handler=run)
