"""`python -m edge_agent --config FILE`: run the agent until SIGTERM/SIGINT (or replay end)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from edge_agent import config
from edge_agent.agent import Agent
from notary_core.errors import NotaryError


def run(config_path: Path) -> int:
    cfg = config.load(config_path)
    agent = Agent(cfg)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return agent.run(stop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge_agent")
    p.add_argument("--config", type=Path, required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        return run(args.config)
    except NotaryError as exc:
        print(f"vnotary edge: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
