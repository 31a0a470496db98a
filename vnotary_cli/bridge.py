"""`vnotary bridge`: the firmware bridge from the command line.

`simulate` plays the real recorded data as a sensor board would, over a pty (prints the
pty path on its first line, a JSON summary on its last); `listen` reads a port and prints
each frame as a JSON line, then the decoder and link counters.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from firmware_bridge import playback
from firmware_bridge.board import BoardEncoder
from firmware_bridge.decoder import Frame, StreamDecoder
from firmware_bridge.errors import BadFrame, BridgeReason
from firmware_bridge.messages import GnssSentence, Opaque
from firmware_bridge.nmea import check_sentence
from firmware_bridge.pty_board import PtyPort, play
from firmware_bridge.serial_port import SerialBridge

# The real data set of a source checkout (data/, see data/SOURCES.md); an installed package
# has none: pass --data-dir.
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data"
IMU_CSV = "imu/comma2k19_toyota_rav4_seg40_imu.csv"
GNSS_CSV = "gnss/comma2k19_toyota_rav4_seg40_gnss_ublox.csv"


def register(subparsers: Any) -> None:
    bridge = subparsers.add_parser("bridge", help="sensor-board serial link: simulate, listen")
    sub = bridge.add_subparsers(dest="bridge_command", required=True, metavar="SUBCOMMAND")

    sim = sub.add_parser("simulate", help="play recorded IMU/GNSS/NMEA as a board over a pty")
    sim.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with imu/, gnss/ and nmea/ (default: the checkout's data/)",
    )
    sim.add_argument("--sources", default="imu,gnss", help="comma list of imu, gnss (RAV4 drive)")
    sim.add_argument("--nmea-log", help="also play a receiver log from DATA/nmea/ (file name)")
    pace = sim.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="times the recorded rate")
    sim.add_argument(
        "--start-at", type=float, help="UNIX time to start playing at (align several devices)"
    )
    pace.add_argument("--fast", action="store_true", help="as fast as the reader takes it")
    sim.add_argument("--loop", action="store_true", help="start again at the end, forever")
    sim.add_argument("--link", type=Path, help="make a symlink to the pty here (replaced)")
    sim.add_argument(
        "--board-id",
        type=lambda v: int(v, 0),
        default=1,
        help="board id in every frame (default 1)",
    )
    sim.add_argument("--key-file", type=Path, help="sign frames: 32 raw bytes or 64 hex digits")
    sim.add_argument("--limit", type=int, help="stop after this many frames")
    sim.add_argument("--unplug-at", type=float, help="unplug after this many seconds")
    sim.add_argument(
        "--unplug-for", type=float, default=0.5, help="s the board stays unplugged (default 0.5)"
    )
    sim.add_argument(
        "--linger", type=float, default=2.0, help="s to wait for the reader at the end"
    )
    sim.set_defaults(handler=simulate)

    listen = sub.add_parser("listen", help="read a port and print frames as JSON lines")
    listen.add_argument("port", help="serial device path (e.g. /dev/serial/by-id/...)")
    listen.add_argument("--baud", type=int, default=921_600, help="default 921600")
    listen.add_argument(
        "--key-file", type=Path, help="check frame MACs: 32 raw bytes or 64 hex digits"
    )
    listen.add_argument(
        "--board-id", type=lambda v: int(v, 0), default=1, help="expected board id (default 1)"
    )
    listen.add_argument("--count", type=int, help="stop after this many frames")
    listen.add_argument("--timeout", type=float, help="stop after this many seconds")
    listen.set_defaults(handler=listen_port)


def read_key(path: Path) -> bytes:
    """A signing key file: 32 raw bytes, or 64 hex digits (whitespace ignored)."""
    data = path.read_bytes()
    text = data.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    if len(data) == 32:
        return data
    raise BadFrame(BridgeReason.BAD_KEY, f"{path}: not 32 bytes or 64 hex digits")


def _timeline(args: argparse.Namespace) -> Iterator[playback.Timed]:
    streams: list[Iterator[playback.Timed]] = []
    sources = {s.strip() for s in args.sources.split(",") if s.strip()}
    if "imu" in sources:
        streams.append(playback.imu(_lines(args.data_dir / IMU_CSV)))
    if "gnss" in sources:
        streams.append(playback.gnss(_lines(args.data_dir / GNSS_CSV)))
    if args.nmea_log:
        raw = (args.data_dir / "nmea" / args.nmea_log).read_bytes()
        streams.append(playback.nmea_log(raw.splitlines(keepends=True)))
    return playback.board(*streams)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def simulate(args: argparse.Namespace) -> int:
    key = read_key(args.key_file) if args.key_file else None
    board = BoardEncoder(args.board_id, key)

    def frames() -> Iterator[tuple[int, bytes]]:
        offset = 0
        for _ in itertools.count() if args.loop else range(1):
            last = 0
            for item in _timeline(args):
                last = item.mcu_us + offset
                yield last, board.wire(item.message, last)
            offset = last + 1_000_000

    timeline = frames() if args.limit is None else itertools.islice(frames(), args.limit)
    with PtyPort(args.link) as port:
        print(port.slave_path, flush=True)
        if args.start_at is not None:  # start together with other simulated devices
            time.sleep(max(0.0, args.start_at - time.time()))
        stats = play(
            port,
            timeline,
            speed=None if args.fast else args.speed,
            unplug_at=args.unplug_at,
            unplug_for=args.unplug_for,
        )
        drained = port.drain(args.linger)
    summary = {
        "frames": stats.frames,
        "bytes": stats.bytes,
        "unplugged_frames": stats.unplugged_frames,
    }
    print(json.dumps({**summary, "drained": drained}), flush=True)
    return 0


def frame_json(frame: Frame) -> dict[str, Any]:
    """A frame as a JSON-able dict (what `listen` prints)."""
    h = frame.header
    out: dict[str, Any] = {
        "board": h.board_id,
        "seq": h.seq,
        "mcu_us": h.mcu_us,
        "type": h.type,
        "status": frame.status.name,
        "message": type(frame.message).__name__,
    }
    if isinstance(frame.message, GnssSentence):
        out["nmea"] = check_sentence(frame.message.raw).name
    if isinstance(frame.message, Opaque) and frame.problem is not None:
        out["problem"] = str(frame.problem)
    return out


def listen_port(args: argparse.Namespace) -> int:
    keys = {args.board_id: read_key(args.key_file)} if args.key_file else {}
    return asyncio.run(_listen(args, StreamDecoder(keys)))


async def _listen(args: argparse.Namespace, decoder: StreamDecoder) -> int:
    seen = 0
    async with SerialBridge(args.port, args.baud, decoder) as link:
        loop = asyncio.get_running_loop()
        if args.timeout is not None:
            loop.call_later(args.timeout, link.close)
        async for frame in link:
            print(json.dumps(frame_json(frame)), flush=True)
            seen += 1
            if args.count is not None and seen >= args.count:
                break
        counters = {**decoder.counters.as_dict(), "outages": link.stats.outages}
    print(json.dumps({"counters": counters}), flush=True)
    sys.stdout.flush()
    return 0
