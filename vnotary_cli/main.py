"""`vnotary`: one command, one subcommand per part of the system.

Each part lives in its own module here (`vnotary_cli/<name>.py`, the demo in
`vnotary_cli/demo/run.py`) with a `register(subparsers)` function; the module is imported
only when present, so a gateway installed with `vnotary[edge]` never imports the
collector's dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from notary_core.errors import NotaryError

# Command -> module; the order is the order `vnotary --help` lists them in.
PARTS = {
    "edge": "vnotary_cli.edge",
    "bridge": "vnotary_cli.bridge",
    "collector": "vnotary_cli.collector",
    "witness": "vnotary_cli.witness",
    "monitor": "vnotary_cli.monitor",
    "verify": "vnotary_cli.verify",
    "report": "vnotary_cli.report",
    "owner": "vnotary_cli.owner",
    "demo": "vnotary_cli.demo.run",
    "sim": "vnotary_cli.sim",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vnotary",
        description="Vehicle data notarization: capture, seal, collect, anchor, verify.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, path in PARTS.items():
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name == path:
                continue  # this part is not built yet
            # The part exists but its optional dependencies are not installed.
            sub.add_parser(name, help=f"(unavailable: missing dependency {exc.name})")
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"'{args.command}' cannot run here: install the extra it needs")
    try:
        return handler(args)
    except NotaryError as exc:
        # The one place that turns structured errors into text for people.
        print(f"vnotary: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
