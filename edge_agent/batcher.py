"""Pure batcher: collects encoded records and closes a batch every window or at N records.

Time is passed in (`now_ns`, monotonic); the batcher never reads a clock. It also keeps
the cumulative per-stream completeness counters that go into every signed header.

Counting rule (issue 12 §2): a record is counted where it is placed, once. A chunk split
at the record limit counts each piece as stored (and seen) in the batch that holds it;
the chunk's losses (dropped, bus errors, CRC failures, gaps) are counted with its first
piece. So for every stream and every header, seen = stored + dropped, and the stored
delta between two consecutive headers is the number of the stream's records in the batch.
The one exception is `ignored`: input that is no observation of the stream (an NMEA `#`
comment line, docs/protocol.md §2.3) is counted as seen only, so seen = stored + dropped +
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from notary_core.header import StreamCounters

_SEEN, _STORED, _DROPPED, _BUS, _CRC, _GAPS = range(6)
_SEQ = slice(3, 11)  # docs/protocol.md §2: u64 per-stream sequence number at offset 3


def record_seq(record: bytes) -> int:
    """The per-stream sequence number of a canonical record (no full decode)."""
    return int.from_bytes(record[_SEQ], "big")


@dataclass(slots=True)
class Chunk:
    """Records captured from one stream, with their times and the stream's loss deltas.

    `dropped` are observations of the stream that are not among `records` (a frame the
    kernel or the decoder lost, a frame that could not be encoded): seen = records + dropped.
    `ignored` are lines that are no observation (NMEA comments): seen, never stored.
    """

    stream: str
    records: list[bytes] = field(default_factory=list)
    mono: list[int] = field(default_factory=list)
    utc: list[int] = field(default_factory=list)
    dropped: int = 0
    bus_errors: int = 0
    crc_failures: int = 0
    gaps: int = 0
    ignored: int = 0


@dataclass(frozen=True, slots=True)
class ClosedBatch:
    records: list[bytes]
    first_mono_ns: int
    last_mono_ns: int
    first_utc_ns: int
    last_utc_ns: int
    streams: dict[str, StreamCounters]
    next_seqs: dict[str, int] = field(default_factory=dict)  # per stream, after this batch


class Batcher:
    """Window (ns) or max_records, whichever first; counters resume from the last header."""

    def __init__(
        self,
        window_ns: int,
        max_records: int,
        counters: dict[str, StreamCounters] | None = None,
        next_seqs: dict[str, int] | None = None,
    ) -> None:
        if window_ns <= 0 or max_records <= 0:
            raise ValueError("window and max_records must be positive")
        self.window_ns = window_ns
        self.max_records = max_records
        self._totals = {k: c.as_list() for k, c in (counters or {}).items()}
        self._next_seqs = dict(next_seqs or {})
        self._records: list[bytes] = []
        self._mono: list[int] = []
        self._utc: list[int] = []
        self._opened_at: int | None = None

    def __len__(self) -> int:
        return len(self._records)

    def count(self, stream: str, **deltas: int) -> None:
        """Add to a stream's counters (dropped, bus_errors, crc_failures, gaps): a loss
        with no record. Dropped observations are also seen, so seen = stored + dropped."""
        t = self._totals.setdefault(stream, [0] * 6)
        names = ("seen", "stored", "dropped", "bus_errors", "crc_failures", "gaps")
        for name, value in deltas.items():
            if name in ("seen", "stored"):
                raise ValueError("seen and stored are counted where records are placed")
            t[names.index(name)] += value
        t[_SEEN] += deltas.get("dropped", 0)

    def counters(self) -> dict[str, StreamCounters]:
        return {k: StreamCounters(*v) for k, v in sorted(self._totals.items())}

    def next_seqs(self) -> dict[str, int]:
        """Per stream, the sequence number after the last record placed in a batch."""
        return dict(self._next_seqs)

    def add(self, chunk: Chunk, now_ns: int) -> list[ClosedBatch]:
        """Take a chunk; return the batches it filled (the window is checked by `due`)."""
        t = self._totals.setdefault(chunk.stream, [0] * 6)
        # The chunk's losses belong to the batch its first record goes to (or the open one).
        t[_SEEN] += chunk.dropped + chunk.ignored
        t[_DROPPED] += chunk.dropped
        t[_BUS] += chunk.bus_errors
        t[_CRC] += chunk.crc_failures
        t[_GAPS] += chunk.gaps
        out: list[ClosedBatch] = []
        start, n = 0, len(chunk.records)
        while start < n:
            if self._opened_at is None:
                self._opened_at = now_ns
            room = self.max_records - len(self._records)
            end = min(n, start + room)
            self._records.extend(chunk.records[start:end])
            self._mono.extend(chunk.mono[start:end])
            self._utc.extend(chunk.utc[start:end])
            t[_SEEN] += end - start
            t[_STORED] += end - start
            self._next_seqs[chunk.stream] = record_seq(chunk.records[end - 1]) + 1
            start = end
            if len(self._records) >= self.max_records:
                out.append(self._close())
        return out

    def due(self, now_ns: int) -> ClosedBatch | None:
        """The open batch if its window has elapsed."""
        if self._opened_at is not None and now_ns - self._opened_at >= self.window_ns:
            return self._close()
        return None

    def flush(self) -> ClosedBatch | None:
        return self._close() if self._records else None

    def _close(self) -> ClosedBatch:
        mono, utc = self._mono, self._utc
        batch = ClosedBatch(
            records=self._records,
            first_mono_ns=min(mono),
            last_mono_ns=max(mono),
            first_utc_ns=min(utc),
            last_utc_ns=max(utc),
            streams=self.counters(),
            next_seqs=self.next_seqs(),
        )
        self._records, self._mono, self._utc = [], [], []
        self._opened_at = None
        return batch
