"""Golden vectors for the bridge protocol: `python -m firmware_bridge.vectors [--check]`.

Writes tests/vectors/bridge/frames.json (one frame per message type, signed and unsigned,
byte for byte: what the C encoder must produce) and corruptions.json (named corruptions of
those frames with what the decoder must return and count). `--check` regenerates them in
memory and fails if the committed files differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from firmware_bridge import frame
from firmware_bridge.board import BoardEncoder
from firmware_bridge.decoder import StreamDecoder
from firmware_bridge.messages import (
    AnyMessage,
    GnssSentence,
    Heartbeat,
    Hello,
    ImuSample,
    LogEvent,
    Opaque,
    SensorReading,
    TimeSource,
    TimeSync,
)
from firmware_bridge.playback import fix_sentences

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "bridge"
KEY = hashlib.sha256(b"vnotary bridge test key, board 7").digest()
BOARD = 7
# A fix of the comma2k19 RAV4 drive (data/gnss, first row) as the simulator writes it.
GGA, _ = fix_sentences(
    37.7209977, -122.47230529999999, 7.822999954223633, 1533226488299, 33.37, 2.1356101036071777
)
RMC = b"$GPRMC,095255.810,V,2712.6404,S,15303.1201,E,0.00,0.00,080407,,,A*6E\n"  # gpsd haicom log


def _messages() -> list[tuple[str, AnyMessage, int]]:
    image = hashlib.sha256(b"vnotary-sim firmware 1.2.3").digest()
    return [
        ("hello", Hello((1, 2, 3), image, 0x0000000F), 1_000),
        ("heartbeat", Heartbeat(0, 3), 1_000_000),
        # First row of data/imu, in 1e-6 SI units per LSB.
        (
            "imu",
            ImuSample((1074371, -129211, -9544968), (-18326, 5814, 3723), 1000, 1000),
            1_000_250,
        ),
        ("gnss-gga", GnssSentence(GGA), 1_000_500),
        ("gnss-rmc", GnssSentence(RMC), 1_000_600),
        ("sensor", SensorReading(12, -215, -1, "degC"), 1_001_000),
        ("time-sync", TimeSync(TimeSource.GNSS_PPS, 46408654976, 1533226488299000000), 1_001_500),
        ("log", LogEvent(4, 0x0102, "imu fifo overrun, 3 samples lost"), 1_002_000),
        ("opaque-0x42", Opaque(0x42, bytes(range(0, 40))), 1_002_500),
        ("zeros-254", Opaque(0x43, b"\x01" * 254 + b"\x00" * 3), 1_003_000),
        ("big", Opaque(0x44, bytes((i * 7) & 0xFF for i in range(900))), 1_004_000),
    ]


def _fields(message: AnyMessage) -> dict[str, Any]:
    """The message's fields in JSON (bytes as hex): what the C driver generator reads."""
    if isinstance(message, Opaque):
        return {"kind": "opaque", "type": message.type, "payload": message.payload.hex()}
    out: dict[str, Any] = {"kind": message.TYPE.name.lower()}
    for name in message.__slots__:
        value = getattr(message, name)
        out[name] = (
            value.hex()
            if isinstance(value, bytes)
            else (
                list(value)
                if isinstance(value, tuple)
                else int(value)
                if isinstance(value, TimeSource)
                else value
            )
        )
    return out


def frames() -> list[dict[str, Any]]:
    out = []
    for signed in (False, True):
        board = BoardEncoder(
            BOARD, KEY if signed else None, seq=41, last_sign_ts=999_999 if signed else 0
        )
        for name, message, mcu_us in _messages():
            state = {"seq": board.seq, "last_sign_ts": board.last_sign_ts}
            raw = board.frame(message, mcu_us)
            out.append(
                {
                    "name": f"{'signed' if signed else 'unsigned'}/{name}",
                    "board_id": BOARD,
                    "key": KEY.hex() if signed else None,
                    "before": state,
                    "mcu_us": mcu_us,
                    "message": _fields(message),
                    "frame": raw.hex(),
                    "wire": frame.to_wire(raw).hex(),
                }
            )
    return out


def _flip(raw: bytes, byte: int, bit: int = 0) -> bytes:
    b = bytearray(raw)
    b[byte] ^= 1 << bit
    return bytes(b)


def _recrc(raw: bytes) -> bytes:
    body = raw[:-4]
    return body + frame.crc32c(body).to_bytes(4, "little")


def corruptions() -> list[dict[str, Any]]:
    enc = BoardEncoder(BOARD, KEY, seq=5)
    a, b, c = (enc.frame(ImuSample((i, 2, 3), (4, 5, 6), 1000, 1000), 10_000 + i) for i in range(3))
    plain = BoardEncoder(9)
    p1, p2 = plain.frame(Heartbeat(0, 0), 1), plain.frame(Heartbeat(0, 0), 2)
    plain.seq = 10
    p3 = plain.frame(Heartbeat(0, 0), 3)
    w = frame.to_wire
    cases: list[tuple[str, bytes]] = [
        ("intact-three", w(a) + w(b) + w(c)),
        ("crc-bit-@20", w(a) + w(_flip(b, 20)) + w(c)),
        ("crc-field-bit-@-1", w(a) + w(_flip(b, len(b) - 1, 7)) + w(c)),
        ("tag-bit-@-5-crc-fixed", w(a) + w(_recrc(_flip(b, len(b) - 5))) + w(c)),
        ("payload-bit-@30-crc-fixed", w(a) + w(_recrc(_flip(b, 30))) + w(c)),
        ("replayed", w(a) + w(b) + w(b) + w(c)),
        ("stale-older", w(b) + w(a) + w(c)),
        ("truncated-@10", w(a) + w(b)[:10] + b"\x00" + w(c)),
        ("garbage-before-delimiter", b"\x13\x37garbage\xff" + b"\x00" + w(a) + w(c)),
        ("garbage-glued-to-frame", w(a) + b"\x55\x55" + w(b) + w(c)),
        ("oversize-run", w(a) + b"\x7f" * 1100 + b"\x00" + w(c)),
        (
            "unsigned-from-keyed-board",
            w(frame.build(frame.Header(1, 3, 0, BOARD, 6, 1), b"")) + w(c),
        ),
        ("version-2", w(_recrc(b"\x02" + p1[1:])) + w(p2)),
        ("too-short", w(p1[:22]) + w(p2)),
        ("bad-cobs", b"\x09abc\x00" + w(p1)),
        ("seq-gap", w(p1) + w(p2) + w(p3)),
        ("seq-reset", w(p3) + w(p1)),
        ("unknown-type", w(frame.build(frame.Header(1, 0x42, 0, 9, 0, 5), b"opaque!"))),
        ("imu-payload-31-bytes", w(frame.build(frame.Header(1, 3, 0, 9, 0, 5), bytes(31)))),
        # The link is intact, the NMEA inside is not: the frame is OK, nmea.py flags it.
        (
            "gnss-bad-nmea-checksum",
            w(frame.build(frame.Header(1, 4, 0, 9, 0, 5), GGA[:20] + b"9" + GGA[21:])),
        ),
    ]
    out = []
    for name, wire in cases:
        dec = StreamDecoder({BOARD: KEY})
        got = dec.feed(wire)
        out.append(
            {
                "name": name,
                "keys": {str(BOARD): KEY.hex()},
                "wire": wire.hex(),
                "expect_frames": [
                    {
                        "frame": f.raw.hex(),
                        "status": f.status.name,
                        "type": f.header.type,
                        "seq": f.header.seq,
                        "problem": None if f.problem is None else str(f.problem),
                    }
                    for f in got
                ],
                "expect_counters": dec.counters.as_dict(),
                "expect_pending": dec.pending,
            }
        )
    return out


def render() -> dict[str, str]:
    """File name -> exact text of every vector file."""
    head = {"protocol_version": frame.VERSION, "generator": "python -m firmware_bridge.vectors"}
    return {
        "frames.json": json.dumps({**head, "frames": frames()}, indent=1) + "\n",
        "corruptions.json": json.dumps({**head, "cases": corruptions()}, indent=1) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_bridge.vectors", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = args.out / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"bridge vectors differ from the generator: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
