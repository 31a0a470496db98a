"""NMEA 0183 sentence checksum check, pure (NMEA 0183 v4.11 §5.3; IEC 61162-1 §7.2.3).

The checksum is the XOR of every byte between the start delimiter ($ or !) and `*`, sent as
two hex digits. It is optional in the standard; a receiver that sends one and gets it wrong
must be flagged, never silently accepted. Used by the bridge (GNSS passthrough) and by the
edge agent's plain NMEA source. Values of `NmeaCheck` equal notary_core's NmeaStatus.
"""

from __future__ import annotations

import re
from enum import IntEnum

MAX_SENTENCE = 1024
"""The standard says 82 characters; proprietary sentences run longer. Beyond 1 KiB it is
not a sentence (equals notary_core.limits.MAX_NMEA_SENTENCE)."""

# Body: printable ASCII without the reserved delimiters $ ! * \ ^ ~ (NMEA 0183 §5.1.3;
# `\` and `^` start tag blocks and hex escapes, not handled here: such a line is MALFORMED).
_SENTENCE = re.compile(rb"([$!])([\x20-\x7e]*?)(?:\*([0-9A-Fa-f]{2}))?(?:\r?\n|\r)?\Z")
_RESERVED = re.compile(rb"[$!*\\^~]")
_ADDRESS = re.compile(rb"[A-Z0-9]{1,}(?:,|\Z)")


class NmeaCheck(IntEnum):
    NO_CHECKSUM = 0
    OK = 1
    BAD = 2  # a checksum is present and does not match: keep the sentence, flag it
    MALFORMED = 3  # not an NMEA sentence (start, characters, checksum field, length)


def checksum(body: bytes) -> int:
    """XOR of the bytes between the start delimiter and `*`."""
    value = 0
    for byte in body:
        value ^= byte
    return value


def check_sentence(raw: bytes) -> NmeaCheck:
    """Classify one sentence as received (trailing CR LF optional)."""
    if len(raw) > MAX_SENTENCE:
        return NmeaCheck.MALFORMED
    match = _SENTENCE.match(raw)
    if match is None:
        return NmeaCheck.MALFORMED
    body = match.group(2)
    if _RESERVED.search(body) or _ADDRESS.match(body) is None:
        return NmeaCheck.MALFORMED
    sent = match.group(3)
    if sent is None:
        return NmeaCheck.NO_CHECKSUM
    return NmeaCheck.OK if int(sent, 16) == checksum(body) else NmeaCheck.BAD


def make_sentence(body: str, start: str = "$") -> bytes:
    """`$body*HH\\r\\n` with the correct checksum (used by the board simulator)."""
    data = body.encode("ascii")
    if _RESERVED.search(data) or start not in "$!":
        raise ValueError(f"reserved character in NMEA body {body!r}")
    return f"{start}{body}*{checksum(data):02X}\r\n".encode("ascii")
