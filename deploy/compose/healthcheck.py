#!/usr/bin/env python3
"""Healthchecks of the compose stack's collector containers (standard library only).

healthcheck.py http URL [--timeout S]
    exit 0 when URL answers 200 (the API: /readyz, or /healthz), 1 otherwise, with the
    body's first line on stderr (the /readyz problems show in `docker inspect`).

healthcheck.py collector [--pid 1] [--port 8883] [--port 5432]
    exit 0 when process PID is `vnotary collector run` and it holds an ESTABLISHED TCP
    connection to every --port (the broker, PostgreSQL): the collector has no HTTP port
    of its own, and a process that lost the broker or the store is alive but not
    ingesting. Read from /proc/PID/net/tcp and tcp6, the container's network namespace.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

ESTABLISHED = "01"  # include/net/tcp_states.h, as /proc/net/tcp prints it


def remote_ports(proc: Path) -> set[int]:
    """The remote ports of the ESTABLISHED TCP connections in /proc/<pid>/net/tcp{,6}."""
    ports: set[int] = set()
    for name in ("tcp", "tcp6"):
        table = proc / "net" / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == ESTABLISHED:
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def check_collector(pid: int, ports: list[int], proc_root: Path = Path("/proc")) -> list[str]:
    """What is wrong with the collector process `pid` (empty when healthy)."""
    proc = proc_root / str(pid)
    try:
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError as exc:
        return [f"no process {pid}: {exc}"]
    if b"collector" not in argv or b"run" not in argv:
        return [f"process {pid} is not `vnotary collector run`: {b' '.join(argv)!r}"]
    have = remote_ports(proc)
    return [f"no established connection to port {p}" for p in ports if p not in have]


def check_http(url: str, timeout: float) -> list[str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (a fixed URL)
            return [] if r.status == 200 else [f"{url}: HTTP {r.status}"]
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode(errors="replace").splitlines()
        return [f"{url}: HTTP {exc.code} {body[0] if body else ''}"]
    except OSError as exc:
        return [f"{url}: {exc}"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="compose healthchecks of the collector")
    sub = p.add_subparsers(dest="what", required=True)
    h = sub.add_parser("http")
    h.add_argument("url")
    h.add_argument("--timeout", type=float, default=3.0)
    c = sub.add_parser("collector")
    c.add_argument("--pid", type=int, default=1)
    c.add_argument("--port", type=int, action="append", default=[])
    a = p.parse_args(argv)
    wrong = check_http(a.url, a.timeout) if a.what == "http" else check_collector(a.pid, a.port)
    for line in wrong:
        print(line, file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
