"""`vnotary sim slcan`: a serial CAN adapter (Lawicel/slcan) on a pty, playing a recorded log.

It answers the adapter commands python-can's `slcan` interface sends (C, S<n>, O, L, V, N,
F, Z) and, once the channel is open, writes each frame of one channel of a candump/ASC/BLF
log as `t`/`T`/`r`/`R` lines at the recorded pace times `--speed`. This is the path a real
gateway without SocketCAN uses (a USB adapter), so the edge agent is driven exactly as on a
vehicle. Prints the pty path on its first line and a JSON summary on its last.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import sys
import time
import tty
from pathlib import Path
from typing import Any

import can

OK, ERR = b"\r", b"\x07"


def encode_frame(msg: can.Message) -> bytes:
    """One slcan line for a classic frame (FD is not carried by plain slcan adapters)."""
    if msg.is_extended_id:
        head = f"{'R' if msg.is_remote_frame else 'T'}{msg.arbitration_id:08X}{msg.dlc:d}"
    else:
        head = f"{'r' if msg.is_remote_frame else 't'}{msg.arbitration_id:03X}{msg.dlc:d}"
    data = "" if msg.is_remote_frame else bytes(msg.data).hex().upper()
    return (head + data).encode("ascii") + OK


class Adapter:
    """The adapter's side of the pty: command replies and paced frame output."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.open = False
        self.pending = b""
        self.commands = 0

    def poll(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not ready:
            return
        try:
            chunk = os.read(self.master, 4096)
        except OSError:
            return  # the host closed its side; keep going, it may reopen
        self.pending += chunk
        while b"\r" in self.pending:
            line, _, self.pending = self.pending.partition(b"\r")
            self.commands += 1
            self._command(line)

    def _command(self, line: bytes) -> None:
        cmd = line[:1]
        if cmd in (b"O", b"L"):
            self.open = True
        elif cmd == b"C":
            self.open = False
        reply = {b"V": b"V1013\r", b"N": b"NA123\r", b"F": b"F00\r"}.get(cmd, OK)
        if cmd and cmd not in b"OLCSsVNFZt":
            reply = ERR
        self.write(reply)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.master], [], 1.0)
            if ready:
                view = view[os.write(self.master, view) :]


def play(args: argparse.Namespace) -> int:
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    link = Path(args.link) if args.link else None
    if link is not None:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(path)
    print(link or path, flush=True)
    adapter = Adapter(master)
    sent = skipped = 0
    first_ts: float | None = None
    start = 0.0
    waited_open = time.monotonic()
    try:
        while not adapter.open:  # like a real adapter: nothing on the bus until opened
            adapter.poll(0.1)
            if time.monotonic() - waited_open > args.open_timeout:
                print("no host opened the adapter", file=sys.stderr)
                return 1
        if args.start_at is not None:  # start together with other simulated devices
            while (wait := args.start_at - time.time()) > 0:
                adapter.poll(min(wait, 0.1))
        with can.LogReader(args.log) as reader:
            for msg in reader:
                if args.channel and str(msg.channel) != args.channel:
                    skipped += 1
                    continue
                if msg.is_fd or msg.is_error_frame:
                    skipped += 1
                    continue
                if first_ts is None:
                    first_ts, start = msg.timestamp, time.monotonic()
                if not args.fast:
                    due = start + (msg.timestamp - first_ts) / args.speed
                    while (delay := due - time.monotonic()) > 0:
                        adapter.poll(delay)
                adapter.poll(0)
                if adapter.open:
                    adapter.write(encode_frame(msg))
                    sent += 1
                if args.limit and sent >= args.limit:
                    break
        end = time.monotonic() + args.linger
        while time.monotonic() < end:
            adapter.poll(end - time.monotonic())
    finally:
        summary: dict[str, Any] = {"frames": sent, "skipped": skipped, "commands": adapter.commands}
        print(json.dumps(summary), flush=True)
        os.close(master)
        os.close(slave)
        if link is not None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("sim", help="simulated devices for demos and tests")
    kinds = p.add_subparsers(dest="sim_kind", required=True, metavar="KIND")
    s = kinds.add_parser("slcan", help="a serial CAN adapter on a pty playing a recorded log")
    s.add_argument("log", help="candump .log, .asc or .blf file")
    s.add_argument("--channel", default="can0", help="which channel of the log to play")
    s.add_argument("--speed", type=float, default=1.0, help="times the recorded pace")
    s.add_argument("--fast", action="store_true", help="as fast as the host reads")
    s.add_argument("--link", help="also make a symlink to the pty at this path")
    s.add_argument("--limit", type=int, default=0, help="stop after this many frames")
    s.add_argument("--linger", type=float, default=1.0, help="seconds to stay open at the end")
    s.add_argument(
        "--open-timeout", type=float, default=30.0, help="s to wait for a reader to open the pty"
    )
    s.add_argument("--start-at", type=float, help="UNIX time to start playing at (once opened)")
    s.set_defaults(handler=play)
