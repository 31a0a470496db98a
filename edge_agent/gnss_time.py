"""Pure GNSS time cross-check: the receiver's own time against the system clock (issue 14 §1).

Independently of how chrony disciplines the clock, the agent compares the time a GNSS
receiver puts in its sentences (RMC with status A, or ZDA while the receiver reports a
fix) with the system clock at the sentence's arrival, and records the difference as a
GNSS_TIME event (docs/protocol.md §2.6): the first time, then every minute, and whenever it
moves by more than `GNSS_OFFSET_CHANGE_NS`. A report can then show the device clock's error
against GNSS over a window, whatever the clock source label says.

The offset includes the receiver's output delay (the sentence of second S leaves the
receiver some 50-500 ms after S, and a 9600-baud line takes ~80 ms per sentence), so it is a
bound on the clock error plus that delay, not the clock error alone; each sentence type is
tracked on its own because its place in the receiver's burst (and so its delay) differs.
Only sentences whose checksum verified are used.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

from notary_core import records as rec

GNSS_REPORT_INTERVAL_NS = 60 * 10**9
"""Report the offset at least once a minute while the receiver has a fix."""

GNSS_OFFSET_CHANGE_NS = 100_000_000
"""...and when it moves by more than 100 ms: above the output-delay jitter of common
receivers (tens of ms), below the CLOCK_STEP threshold's order of magnitude."""


@dataclass(frozen=True, slots=True)
class GnssOffset:
    """One report: system clock minus receiver time at the sentence's arrival."""

    offset_ns: int
    gnss_utc_ns: int
    detail: str  # "<sentence type> <first|minute|change>"


def sentence_time(raw: bytes) -> tuple[str, int | None, bool | None]:
    """(sentence type, receiver UTC ns or None, fix valid per this sentence or None)."""
    body = raw[1:].split(b"*", 1)[0]
    fields = body.split(b",")
    kind = fields[0][2:].decode("ascii", "replace") if len(fields[0]) == 5 else ""
    try:
        if kind == "RMC" and len(fields) >= 10:
            valid = fields[2] == b"A" and (len(fields) < 13 or fields[12][:1] != b"N")
            d = fields[9]
            day, month, yy = int(d[0:2]), int(d[2:4]), int(d[4:6])
            year = 2000 + yy if yy < 80 else 1900 + yy
            return kind, _utc(year, month, day, fields[1]) if valid else None, valid
        if kind == "ZDA" and len(fields) >= 5:
            return kind, _utc(int(fields[4]), int(fields[3]), int(fields[2]), fields[1]), None
        if kind == "GGA" and len(fields) >= 7 and fields[6]:
            return kind, None, int(fields[6]) > 0
    except (ValueError, IndexError, OverflowError):
        return kind, None, None
    return kind, None, None


def _utc(year: int, month: int, day: int, hms: bytes) -> int | None:
    if len(hms) < 6 or not (1 <= month <= 12 and 1 <= day <= 31 and 1980 <= year < 2200):
        return None
    h, m, s = int(hms[0:2]), int(hms[2:4]), int(hms[4:6])
    frac = hms[7:] if hms[6:7] == b"." else b""
    if not (h < 24 and m < 60 and s <= 60) or (frac and not frac.isdigit()):
        return None
    secs = calendar.timegm((year, month, day, h, m, s, 0, 0, 0))
    return secs * 10**9 + (int(frac.ljust(9, b"0")[:9]) if frac else 0)


class GnssTimeCheck:
    """Feed every checked sentence with the system clock at its arrival; get the reports."""

    def __init__(self) -> None:
        self._fix = False
        self._last: dict[str, tuple[int, int]] = {}  # type -> (mono ns, offset ns) reported

    def observe(self, body: rec.NmeaSentence, mono_ns: int, utc_ns: int) -> GnssOffset | None:
        if body.status != rec.NmeaStatus.CHECKSUM_OK:
            return None
        kind, gnss_ns, valid = sentence_time(body.raw)
        if valid is not None:
            self._fix = valid
        if gnss_ns is None or not self._fix:
            return None
        offset = utc_ns - gnss_ns
        last = self._last.get(kind)
        if last is None:
            why = "first"
        elif abs(offset - last[1]) > GNSS_OFFSET_CHANGE_NS:
            why = "change"
        elif mono_ns - last[0] >= GNSS_REPORT_INTERVAL_NS:
            why = "minute"
        else:
            return None
        self._last[kind] = (mono_ns, offset)
        return GnssOffset(offset, gnss_ns, f"{kind} {why}")
