"""Positions from disclosed NMEA 0183 sentences (GGA and RMC), for the report's map.

Only what the map needs: latitude, longitude and (RMC) speed over ground. The sentence's
own time of day is ignored; the record's capture time (UTC ns, with its stated clock
source) places the fix. A sentence whose checksum is wrong, whose fix is flagged invalid
or whose fields do not parse yields no position: it is counted, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

KNOT_MPS = 1852 / 3600


@dataclass(frozen=True, slots=True)
class Fix:
    utc_ns: int
    lat: float  # degrees, north positive (WGS 84 as the receiver reports it)
    lon: float  # degrees, east positive
    speed_mps: float | None = None  # RMC speed over ground


def checksum_ok(raw: bytes) -> bool:
    """NMEA 0183: XOR of the bytes between '$' and '*' equals the two hex digits after it."""
    line = raw.strip()
    star = line.rfind(b"*")
    if not line.startswith(b"$") or star < 0 or len(line) != star + 3:
        return False
    x = 0
    for b in line[1:star]:
        x ^= b
    try:
        return x == int(line[star + 1 :], 16)
    except ValueError:
        return False


def _coord(value: bytes, hemi: bytes, degree_digits: int) -> float | None:
    """ddmm.mmmm / dddmm.mmmm with N/S or E/W into signed degrees."""
    if len(value) < degree_digits + 2 or hemi not in (b"N", b"S", b"E", b"W"):
        return None
    try:
        deg = int(value[:degree_digits])
        minutes = float(value[degree_digits:])
    except ValueError:
        return None
    if not 0 <= minutes < 60:
        return None
    out = deg + minutes / 60
    limit = 90 if degree_digits == 2 else 180
    if out > limit:
        return None
    return -out if hemi in (b"S", b"W") else out


def parse_fix(raw: bytes, utc_ns: int) -> Fix | None:
    """The position a GGA or RMC sentence reports, or None if it reports none we can trust."""
    if not checksum_ok(raw):
        return None
    fields = raw.strip()[1 : raw.strip().rfind(b"*")].split(b",")
    kind = fields[0][2:]
    if kind == b"GGA" and len(fields) >= 7:
        if fields[6] in (b"", b"0"):  # fix quality 0: no fix
            return None
        lat, lon = _coord(fields[2], fields[3], 2), _coord(fields[4], fields[5], 3)
        speed = None
    elif kind == b"RMC" and len(fields) >= 8:
        if fields[2] != b"A":  # V: receiver warning, the position is not valid
            return None
        lat, lon = _coord(fields[3], fields[4], 2), _coord(fields[5], fields[6], 3)
        try:
            speed = float(fields[7]) * KNOT_MPS if fields[7] else None
        except ValueError:
            speed = None
    else:
        return None
    if lat is None or lon is None:
        return None
    return Fix(utc_ns, lat, lon, speed)
