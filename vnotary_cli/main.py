"""`vnotary`: one command, one subcommand per part of the system.

Each part lives in its own module here (`vnotary_cli/<name>.py`, the demo in
`vnotary_cli/demo/run.py`) with a `register(subparsers)` function; the module is imported
only when present, so a gateway installed with `vnotary[edge]` never imports the
collector's dependencies. A part whose extra is not installed still parses its arguments
and then says which extra to install. Exit codes: vnotary_cli/exits.py (and docs/cli.md).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from importlib import metadata

from vnotary_cli import exits

# Command -> (module, the extra it needs); the order is the order `vnotary --help` lists them.
PARTS: dict[str, tuple[str, str | None]] = {
    "edge": ("vnotary_cli.edge", "edge"),
    "bridge": ("vnotary_cli.bridge", "edge"),
    "collector": ("vnotary_cli.collector", "collector"),
    "witness": ("vnotary_cli.witness", None),
    "monitor": ("vnotary_cli.monitor", None),
    "verify": ("vnotary_cli.verify", None),
    "report": ("vnotary_cli.report", None),
    "export": ("vnotary_cli.export", None),
    "owner": ("vnotary_cli.owner", None),
    "demo": ("vnotary_cli.demo.run", "edge,collector"),
    "sim": ("vnotary_cli.sim", "edge"),
}


def version() -> str:
    try:
        return metadata.version("vnotary")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser(unavailable: dict[str, str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; a part that cannot be imported is listed, and the line that
    says what to install is put in `unavailable`."""
    parser = argparse.ArgumentParser(
        prog="vnotary",
        description="Vehicle data notarization: capture, seal, collect, anchor, verify.",
        epilog="Exit codes: 0 success, 2 usage, 4 unreadable file, 5 a system did not answer, "
        "70 internal error; verify: 0 OK, 1 FAIL, 3 INCONCLUSIVE (docs/cli.md).",
    )
    parser.add_argument("--version", action="version", version=f"vnotary {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (path, extra) in PARTS.items():
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name == path:
                continue  # this part is not built yet
            line = exits.missing_extra(name, exc.name, extra)
            sub.add_parser(name, help=f"(not installed: {line.split(': ', 1)[-1]})")
            if unavailable is not None:
                unavailable[name] = line
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    unavailable: dict[str, str] = {}
    parser = build_parser(unavailable)
    if argv and argv[0] in unavailable:  # before parsing: its options are not known here
        print(unavailable[argv[0]], file=sys.stderr)
        return exits.USAGE
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    extra = PARTS.get(args.command, ("", None))[1]
    return exits.guarded(args.command, extra, lambda: handler(args))


if __name__ == "__main__":
    sys.exit(main())
