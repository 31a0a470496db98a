"""Every parser of the `vnotary` command line, for the tests that check them all."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from vnotary_cli.main import build_parser


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(command path, parser) for the top level and every subcommand, depth first."""
    todo = [("vnotary", build_parser())]
    while todo:
        name, parser = todo.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {n}", p) for n, p in action.choices.items()]


def undocumented() -> list[str]:
    """Every option or positional argument without a help text."""
    out = []
    for name, parser in parsers():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                out.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    return out
