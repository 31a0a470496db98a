"""What every capture source shares: per-stream sequence numbers, chunking, events, a thread.

A source's I/O runs in its own thread (`Source.run`); it hands records to the agent in
chunks through a bounded queue (one hop per chunk, not per frame). The invariant logic is
here; each backend implements `_capture` (python-can `BusABC.recv` -> `_recv_internal`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod

from edge_agent.batcher import Chunk
from edge_agent.discipline import ClockLabel
from edge_agent.limits import CHUNK_INTERVAL_S, CHUNK_RECORDS
from edge_agent.system_linux import now_pair
from notary_core import records as rec
from notary_core.errors import BadData

log = logging.getLogger(__name__)


_LOGGED = frozenset(
    {rec.EventType.SOURCE_STATE, rec.EventType.SERIAL_OUTAGE, rec.EventType.BUS_OFF}
)


class Emitter:
    """Collects one source's records into per-stream chunks and hands them over."""

    def __init__(
        self,
        out: queue.Queue[Chunk],
        start_seq: dict[str, int],
        clock: rec.ClockSource | ClockLabel,
        event_clock: rec.ClockSource | ClockLabel | None = None,
    ):
        """`clock` labels the source's records (REPLAY for a recorded log, else the system
        clock's live label); `event_clock` labels the source's events, which carry the
        system clock's time (issue 14 §1)."""
        self.out = out
        self.seq = dict(start_seq)
        self._clock = clock
        self._event_clock = clock if event_clock is None else event_clock
        self.chunks: dict[str, Chunk] = {}
        self.pending = 0
        self._last_flush = time.monotonic_ns()

    @property
    def clock(self) -> rec.ClockSource:
        """The label of a record captured now (the system clock's follows chrony)."""
        c = self._clock
        return c if isinstance(c, rec.ClockSource) else c.reading.source

    @property
    def event_clock(self) -> rec.ClockSource:
        c = self._event_clock
        return c if isinstance(c, rec.ClockSource) else c.reading.source

    def chunk(self, stream: str) -> Chunk:
        c = self.chunks.get(stream)
        if c is None:
            c = self.chunks[stream] = Chunk(stream)
            self.seq.setdefault(stream, 0)
        return c

    def next_seq(self, stream: str) -> int:
        s = self.seq.get(stream, 0)
        self.seq[stream] = s + 1
        return s

    def record(
        self,
        stream: str,
        body: rec.Body,
        mono_ns: int,
        utc_ns: int,
        clock: rec.ClockSource | None = None,
    ) -> None:
        """Encode and add one record (any kind); a record that cannot be encoded is counted
        as dropped (its sequence number stays unused) and described by a DROPPED event
        with the next one, never silently lost."""
        c = self.chunk(stream)
        seq = self.next_seq(stream)
        label = self.clock if clock is None else clock
        try:
            data = rec.encode(rec.Record(stream, seq, mono_ns, utc_ns, label, body))
        except BadData as exc:
            c.dropped += 1
            detail = f"{exc.reason}: {exc.message}"[:200]
            self.event(stream, rec.EventType.DROPPED, 1, 0, detail)
            return
        c.records.append(data)
        c.mono.append(mono_ns)
        c.utc.append(utc_ns)
        self.pending += 1

    def event(
        self, stream: str, event: rec.EventType, a: int = 0, b: int = 0, detail: str = ""
    ) -> None:
        """An event at the system clock's time, labelled with the system clock's source.
        A source opening, failing or going bus-off is also a log line."""
        if event in _LOGGED:
            quiet = event == rec.EventType.SOURCE_STATE and detail.startswith("opened")
            log.log(
                logging.INFO if quiet else logging.WARNING,
                "%s: %s",
                stream,
                detail or f"{event.name} ({a})",
            )
        mono_ns, utc_ns = now_pair()
        body = rec.AgentEvent(event, a, b, detail[:500])
        self.record(stream, body, mono_ns, utc_ns, self.event_clock)

    def maybe_flush(self) -> None:
        if self.pending >= CHUNK_RECORDS:
            self.flush()
            return
        now = time.monotonic_ns()
        if now - self._last_flush >= CHUNK_INTERVAL_S * 1e9:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic_ns()
        for stream, c in list(self.chunks.items()):
            if c.records or c.dropped or c.bus_errors or c.crc_failures or c.gaps or c.ignored:
                self.out.put(c)  # blocks when the agent is behind: back-pressure, not loss
                self.chunks[stream] = Chunk(stream)
        self.pending = 0


class Source(ABC):
    """One capture source in its own thread; `finished` is set when a replay ends."""

    clock: rec.ClockSource = rec.ClockSource.UNKNOWN

    def __init__(self, name: str) -> None:
        self.name = name
        self.finished = threading.Event()
        self.error: str | None = None

    def run(self, emit: Emitter, stop: threading.Event) -> None:
        log.info("source %s (%s) starting", self.name, type(self).__name__)
        try:
            self._capture(emit, stop)
            log.info("source %s ended", self.name)
        except Exception as exc:  # a dying source is an event, not a silent stop
            log.exception("source %s failed", self.name)
            self.error = f"{type(exc).__name__}: {exc}"
            emit.event(self.name, rec.EventType.SOURCE_STATE, detail=f"failed: {self.error}")
        finally:
            emit.flush()
            self.finished.set()

    @abstractmethod
    def _capture(self, emit: Emitter, stop: threading.Event) -> None:
        """Read until `stop` is set (or the input ends), calling emit.* and emit.maybe_flush()."""
