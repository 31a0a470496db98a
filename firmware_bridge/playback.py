"""What a board would send, computed from recorded data: pure, no clock and no files.

The comma2k19 RAV4 drive (data/imu and gnss CSV, `t_boot_s` on one clock) becomes
IMU samples, NMEA GGA/RMC sentences for every GNSS fix (the CSV is decoded u-blox output,
so the sentences are written here, with correct checksums) and time-sync messages; a
gpsd receiver log (data/nmea) is passed through byte for byte. Each item carries the
MCU microsecond at which the board would send it.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from firmware_bridge.messages import (
    AnyMessage,
    GnssSentence,
    Heartbeat,
    Hello,
    ImuSample,
    TimeSource,
    TimeSync,
)
from firmware_bridge.nmea import make_sentence

SCALE_NANO = 1000
"""IMU LSB = 1e-6 m/s^2 or rad/s: the CSV's float values keep 6 decimals exactly enough."""

FIRMWARE = (0, 1, 0)
FIRMWARE_IMAGE = hashlib.sha256(b"vnotary board simulator 0.1.0").digest()
CAPABILITIES = 0x0000000F  # IMU, GNSS passthrough, time sync, signing (SPEC §4.1)
KNOTS_PER_MPS = 3600 / 1852


class Timed(NamedTuple):
    mcu_us: int
    message: AnyMessage


def imu(rows: Iterable[str]) -> Iterator[Timed]:
    """IMU CSV lines (header first) -> samples at their recorded MCU time."""
    for row in csv.DictReader(rows):
        accel = tuple(
            round(float(row[f"accel_{a}_mps2"]) * 1e6) for a in ("forward", "right", "down")
        )
        gyro = tuple(
            round(float(row[f"gyro_{a}_radps"]) * 1e6) for a in ("forward", "right", "down")
        )
        yield Timed(
            round(float(row["t_boot_s"]) * 1e6),
            ImuSample(
                (accel[0], accel[1], accel[2]), (gyro[0], gyro[1], gyro[2]), SCALE_NANO, SCALE_NANO
            ),
        )


def _angle(value: float, width: int, hemispheres: str) -> tuple[str, str]:
    # In integer 1e-5 minutes, so rounding can never print "60.00000" minutes.
    total = round(abs(value) * 60 * 100_000)
    deg, frac = divmod(total, 60 * 100_000)
    text = f"{deg:0{width}d}{frac // 100_000:02d}.{frac % 100_000:05d}"
    return text, hemispheres[0] if value >= 0 else hemispheres[1]


def fix_sentences(
    lat: float, lon: float, speed_mps: float, utc_ms: int, alt_m: float, bearing: float
) -> tuple[bytes, bytes]:
    """GGA and RMC for one fix (NMEA 0183 v4.11 §8.3.36, §8.3.76); unknown fields empty."""
    when = datetime.fromtimestamp(utc_ms // 10 / 100, tz=UTC)
    hhmmss = f"{when:%H%M%S}.{utc_ms // 10 % 100:02d}"
    la, ns = _angle(lat, 2, "NS")
    lo, ew = _angle(lon, 3, "EW")
    gga = make_sentence(f"GNGGA,{hhmmss},{la},{ns},{lo},{ew},1,,,{alt_m:.1f},M,,M,,")
    knots = speed_mps * KNOTS_PER_MPS
    rmc = make_sentence(
        f"GNRMC,{hhmmss},A,{la},{ns},{lo},{ew},{knots:.3f},{bearing:.2f},{when:%d%m%y},,,A"
    )
    return gga, rmc


def gnss(rows: Iterable[str], sync_every: int = 10) -> Iterator[Timed]:
    """GNSS CSV lines -> GGA + RMC per fix, and a GNSS_FIX time sync every `sync_every` fixes."""
    for i, row in enumerate(csv.DictReader(rows)):
        t_us = round(float(row["t_boot_s"]) * 1e6)
        utc_ms = int(row["utc_timestamp_ms"])
        gga, rmc = fix_sentences(
            float(row["latitude_deg"]),
            float(row["longitude_deg"]),
            float(row["speed_mps"]),
            utc_ms,
            float(row["altitude_m"]),
            float(row["bearing_deg"]),
        )
        if i % sync_every == 0:
            yield Timed(t_us, TimeSync(TimeSource.GNSS_FIX, t_us, utc_ms * 1_000_000))
        yield Timed(t_us, GnssSentence(gga))
        yield Timed(t_us + 1, GnssSentence(rmc))


def nmea_log(lines: Iterable[bytes], start_us: int = 1_000_000) -> Iterator[Timed]:
    """A receiver log -> its sentences as sent. A new epoch (1 s later) starts whenever the
    sentence type that opened the log comes again; sentences in an epoch are 1 ms apart."""
    first: bytes | None = None
    epoch = 0
    k = 0
    for line in lines:
        if line[:1] not in (b"$", b"!"):
            continue  # gpsd's `#` comment lines are not receiver output
        address = line[1:].split(b",", 1)[0]
        if first is None:
            first = address
        elif address == first:
            epoch += 1
            k = 0
        yield Timed(start_us + epoch * 1_000_000 + k * 1000, GnssSentence(line))
        k += 1


def board(
    *streams: Iterable[Timed], heartbeat_us: int = 1_000_000, hello_us: int = 60_000_000
) -> Iterator[Timed]:
    """Merge streams by time, with a Hello first and then every minute, and a heartbeat
    every second, as the board firmware does."""
    last_hb = last_hello = None
    for item in heapq.merge(*streams, key=lambda t: t.mcu_us):
        if last_hello is None or item.mcu_us - last_hello >= hello_us:
            last_hello = item.mcu_us
            yield Timed(item.mcu_us, Hello(FIRMWARE, FIRMWARE_IMAGE, CAPABILITIES))
        if last_hb is None or item.mcu_us - last_hb >= heartbeat_us:
            last_hb = item.mcu_us
            yield Timed(item.mcu_us, Heartbeat(0, 0))
        yield item
