"""NMEA records are the sentence without its terminator, whatever the read boundaries
(docs/protocol.md §2.3, issue 13 §3), checked on the real receiver logs in CRLF, LF, CR and
mixed line endings against a naive reference split."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.nmea_lines import LineSplitter
from notary_core import limits
from notary_core.records import NmeaSentence, NmeaStatus

LOGS = ("gpsd-haicom-305N.log", "gpsd-nl2008u.log", "gpsd-ublox-neo-m9n-nmea.log")
ENDINGS = ("lf", "crlf", "cr", "mixed")


def with_endings(raw: bytes, ending: str) -> bytes:
    lines = raw.split(b"\n")
    if ending == "mixed":
        rng = random.Random(len(raw))
        ends = [rng.choice((b"\r\n", b"\n", b"\r")) for _ in lines]
    else:
        ends = [{"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}[ending]] * len(lines)
    return b"".join(line + end for line, end in zip(lines, ends, strict=True))


def reference(data: bytes) -> tuple[list[bytes], int]:
    """The naive reading of §2.3: split at every terminator, drop empty lines, count comments."""
    lines = [x for x in re.split(rb"\r\n|\r|\n", data) if x]
    return [x for x in lines if not x.startswith(b"#")], sum(x.startswith(b"#") for x in lines)


def feed(parts: list[bytes]) -> tuple[list[NmeaSentence], int]:
    s, bodies, comments = LineSplitter(), [], 0
    for p in parts:
        got = s.feed(p)
        bodies += got.bodies
        comments += got.comments
    return bodies, comments


@pytest.fixture(scope="module")
def logs(shared_data: Path) -> dict[tuple[str, str], bytes]:
    return {(n, e): with_endings((shared_data / "nmea" / n).read_bytes(), e)
            for n in LOGS for e in ENDINGS}  # fmt: skip


def test_every_read_boundary_at_once_gives_the_reference_records(
    logs: dict[tuple[str, str], bytes],
) -> None:
    """Fed one byte per read (every position a boundary), each real log in each line ending
    gives exactly the reference sentences: no terminator, no empty record, comments counted."""
    for (name, ending), data in logs.items():
        want, comments = reference(data)
        assert want and comments, name
        for parts in ([data], [data[i : i + 1] for i in range(len(data))]):
            bodies, n = feed(parts)
            assert [b.raw for b in bodies] == want, (name, ending)
            assert n == comments
            assert all(b.status == NmeaStatus.CHECKSUM_OK for b in bodies), (name, ending)


def test_a_single_split_at_every_boundary_of_a_real_crlf_log(
    logs: dict[tuple[str, str], bytes],
) -> None:
    """Every single read boundary of the first 40 sentences of a real CRLF log, including
    each one between a CR and its LF, gives the same records."""
    data = logs["gpsd-nl2008u.log", "crlf"]
    data = data[: [m.end() for m in re.finditer(rb"\r\n", data)][40]]
    whole = feed([data])
    assert len(whole[0]) > 10
    for k in range(len(data) + 1):
        assert feed([data[:k], data[k:]]) == whole, k


@given(st.data())
def test_random_read_boundaries_on_real_logs(
    logs: dict[tuple[str, str], bytes], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(LOGS))
    ending = data.draw(st.sampled_from(ENDINGS))
    raw = logs[name, ending]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=60)))
    parts = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert feed(parts) == feed([raw])


def test_a_cr_lf_split_across_reads_is_one_terminator_not_an_empty_line() -> None:
    s = LineSplitter()
    assert [b.raw for b in s.feed(b"$GPZDA,1*00\r").bodies] == [b"$GPZDA,1*00"]
    assert s.feed(b"").bodies == []  # a read timeout between the CR and the LF
    got = s.feed(b"\n$GPZDA,2*00\n\n\r\n")
    assert [b.raw for b in got.bodies] == [b"$GPZDA,2*00"]


def test_comment_lines_are_counted_not_stored_not_crc_failures() -> None:
    got = LineSplitter().feed(b"# Name: receiver\r\n#\n$GPGGA,1*00\r\n")
    assert got.comments == 2
    assert [(b.status, b.raw) for b in got.bodies] == [(NmeaStatus.CHECKSUM_BAD, b"$GPGGA,1*00")]


def test_an_over_long_line_is_cut_the_same_way_for_any_boundary() -> None:
    line = b"$" + b"x" * 2499 + b"\r\n"
    for k in (0, 1, 1023, 1024, 1025, 2048, 2500, 2501):
        bodies, _ = feed([line[:k], line[k:]])
        assert [len(b.raw) for b in bodies] == [1024, 1024, 452], k
        assert all(b.status == NmeaStatus.MALFORMED for b in bodies)
    exact = b"$" + b"y" * (limits.MAX_NMEA_SENTENCE - 1)
    (one,), _ = feed([exact + b"\n"])
    assert one.raw == exact and one.status == NmeaStatus.MALFORMED
