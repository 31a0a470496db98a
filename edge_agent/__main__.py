"""`python -m edge_agent --config FILE`: run the agent until SIGTERM/SIGINT (or replay end)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from edge_agent import config, logs
from edge_agent.agent import Agent
from notary_core.errors import NotaryError

log = logging.getLogger("edge_agent")


def run(config_path: Path, log_format: str | None = None) -> int:
    """Load the config, set up the log (plain, or JSON with `log.format` or the flag),
    run until a signal. Start-up errors propagate as NotaryError (exit 2 by the caller)."""
    logs.setup(log_format or "plain")
    cfg = config.load(config_path)
    logs.setup(log_format or cfg.log_format, cfg.log_level)
    agent = Agent(cfg)  # a start-up error is one line, printed by the caller (not logged twice)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    return agent.run(stop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge_agent")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--log-format", choices=config.LOG_FORMATS, help="overrides log.format")
    args = p.parse_args(argv)
    try:
        return run(args.config, args.log_format)
    except NotaryError as exc:
        print(f"vnotary edge: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
