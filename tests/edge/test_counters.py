"""Header counters count each record where it is placed, once (issue 12 §2).

Over any sequence of chunks and record limits: per stream, seen = stored + dropped in
every header; the stored delta between consecutive headers is the number of the
stream's records in the batch; and the totals are exactly what the chunks held.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge_agent.batcher import Batcher, Chunk, ClosedBatch
from notary_core.header import StreamCounters
from notary_core.records import CanEncoder, ClockSource, decode

STREAMS = ("can0", "gnss", "agent")

chunk_spec = st.tuples(
    st.sampled_from(STREAMS),
    st.integers(0, 40),  # records
    st.integers(0, 5),  # dropped
    st.integers(0, 3),  # bus errors
)


def _run(
    max_records: int, specs: list[tuple[str, int, int, int]], windows: list[bool]
) -> tuple[list[ClosedBatch], dict[str, list[int]]]:
    b = Batcher(window_ns=10, max_records=max_records)
    encoders = {s: CanEncoder(s, ClockSource.RTC) for s in STREAMS}
    seqs = dict.fromkeys(STREAMS, 0)
    expect = {s: [0, 0, 0, 0] for s in STREAMS}  # records, dropped, bus errors, chunks
    closed: list[ClosedBatch] = []
    for i, ((stream, n, dropped, bus), tick) in enumerate(zip(specs, windows, strict=False)):
        records = []
        for _ in range(n):
            seq = seqs[stream]
            seqs[stream] += 1 + (dropped > 0)  # a dropped record leaves its seq unused
            records.append(encoders[stream].encode(seq, i, i, 0x10, 0, 0, b""))
        c = Chunk(stream, records, [i] * n, [i] * n, dropped=dropped, bus_errors=bus)
        closed += b.add(c, now_ns=i * 10)
        if tick and (due := b.due(i * 10 + 10)) is not None:
            closed.append(due)
        e = expect[stream]
        e[0], e[1], e[2] = e[0] + n, e[1] + dropped, e[2] + bus
    if (last := b.flush()) is not None:
        closed.append(last)
    return closed, expect


@given(
    st.integers(1, 50),
    st.lists(chunk_spec, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_seen_is_stored_plus_dropped_in_every_header(
    max_records: int, specs: list[tuple[str, int, int, int]], windows: list[bool]
) -> None:
    closed, expect = _run(max_records, specs, windows)
    prev: dict[str, StreamCounters] = {}
    for batch in closed:
        assert 0 < len(batch.records) <= max_records
        held = {s: 0 for s in STREAMS}
        for r in batch.records:
            held[decode(r).stream] += 1
        for stream, c in batch.streams.items():
            p = prev.get(stream, StreamCounters())
            assert c.seen == c.stored + c.dropped, (stream, c)
            assert c.stored - p.stored == held[stream], (stream, c, p)
            assert c.seen - p.seen == held[stream] + c.dropped - p.dropped
        prev = batch.streams
    if closed:
        # Chunks without records after the last batch closed (it may close at once, full)
        # have no header to be counted in yet: their counters wait for the next batch. When
        # the last chunk holds records, the last header counts everything.
        complete = bool(specs) and specs[-1][1] > 0
        for stream, (records, dropped, bus, _) in expect.items():
            c = closed[-1].streams.get(stream, StreamCounters())
            if records:
                assert c.stored == records
                assert c.bus_errors == bus if complete else c.bus_errors <= bus
            assert c.stored <= records and c.dropped <= dropped


def test_a_chunk_split_at_the_limit_counts_each_piece_where_it_lands() -> None:
    """The case of issue 12: 25 records over a limit of 10 are 10 + 10 + 5, never 25 + ..."""
    enc = CanEncoder("can0", ClockSource.RTC)
    records = [enc.encode(i, i, i, 0x10, 0, 0, b"") for i in range(25)]
    b = Batcher(window_ns=10**9, max_records=10)
    first, second = b.add(Chunk("can0", records, [0] * 25, [0] * 25, dropped=2), 0)
    third = b.flush()
    assert third is not None
    got = [(x.streams["can0"].seen, x.streams["can0"].stored) for x in (first, second, third)]
    assert got == [(12, 10), (22, 20), (27, 25)]
    assert [x.streams["can0"].dropped for x in (first, second, third)] == [2, 2, 2]
    assert third.next_seqs == {"can0": 25}
