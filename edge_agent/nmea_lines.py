"""Pure NMEA line splitting: serial reads in, one record body per sentence out.

docs/protocol.md §2.3: a record holds the sentence without its terminator (CR LF, LF or
CR), so one sentence gives the same bytes whatever the serial read boundaries were (issue
13 §3). The splitter keeps one bit of state across reads, "the last byte was a CR", so the
LF of a CR LF split between two reads is recognised as the rest of that terminator and
not taken for an empty line. Empty lines are no records. A line starting with `#` (a
comment of the receiver or of gpsd) is counted, not stored and never a CRC failure.

A line longer than a record allows is cut into pieces of `MAX_NMEA_SENTENCE` bytes, every
piece flagged MALFORMED; the cut is made as the bytes arrive (a piece is emitted as soon as
it is full), so it too is the same for every read boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_bridge.nmea import check_sentence
from notary_core import limits
from notary_core import records as rec

_CR, _LF = 0x0D, 0x0A
_SIZE = limits.MAX_NMEA_SENTENCE


@dataclass
class Lines:
    """What one `feed` produced: record bodies in order, and the comment lines skipped."""

    bodies: list[rec.NmeaSentence] = field(default_factory=list)
    comments: int = 0


def sentence_record(line: bytes) -> rec.NmeaSentence:
    """The record body of one complete line, without terminator, of at most 1024 bytes."""
    return rec.NmeaSentence(rec.NmeaStatus(int(check_sentence(line))), line)


class LineSplitter:
    """Sans-IO: `feed(read)` returns the complete lines of everything fed so far."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._after_cr = False  # the previous byte was a CR: a leading LF ends nothing
        self._long = False  # the pending bytes continue an over-long line (all MALFORMED)
        self._comment = False  # the pending line starts with '#'
        self._started = False  # a byte of the current line has arrived

    def feed(self, data: bytes) -> Lines:
        out = Lines()
        i, n = 0, len(data)
        if not n:
            return out
        if self._after_cr and data[0] == _LF:
            i = 1
        self._after_cr = False
        while i < n:
            cut = _next_terminator(data, i)
            end = n if cut < 0 else cut
            self._take(data[i:end], out)
            if cut < 0:
                break
            self._end_line(out)
            if data[cut] == _CR:
                if cut + 1 < n and data[cut + 1] == _LF:
                    cut += 1
                elif cut + 1 == n:
                    self._after_cr = True
            i = cut + 1
        return out

    def _take(self, part: bytes, out: Lines) -> None:
        if not part:
            return
        if not self._started:
            self._started = True
            self._comment = part[:1] == b"#"
        if self._comment:
            return  # a comment is skipped whole, however long
        self._pending += part
        while len(self._pending) > _SIZE:
            piece = bytes(self._pending[:_SIZE])
            del self._pending[:_SIZE]
            out.bodies.append(rec.NmeaSentence(rec.NmeaStatus.MALFORMED, piece))
            self._long = True

    def _end_line(self, out: Lines) -> None:
        if self._comment:
            out.comments += 1
        elif self._pending:
            line = bytes(self._pending)
            if self._long:
                out.bodies.append(rec.NmeaSentence(rec.NmeaStatus.MALFORMED, line))
            else:
                out.bodies.append(sentence_record(line))
        self._pending.clear()
        self._long = self._comment = self._started = False


def _next_terminator(data: bytes, start: int) -> int:
    cr, lf = data.find(b"\r", start), data.find(b"\n", start)
    if cr < 0:
        return lf
    return cr if lf < 0 else min(cr, lf)
