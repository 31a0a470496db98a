"""The collector's time checks at ingest (docs/protocol.md §6.2, issue 14 §4).

A device signs its own times; a compromised one could back-date its next batch into an
earlier, already anchored window and have its made-up records served to a reader of that
window. So, along a device's chain, a batch may not start more than a tolerance before
the last time of the nearest batch stored before it (`TIME_REGRESSION`) unless a
CLOCK_STEP event says why, and no batch may claim a time later than its arrival plus a
tolerance (`FUTURE_TIME`). Late delivery is normal: only the claim of a time that had not
yet come is refused.

What "explains" means: the backward CLOCK_STEP events (a < 0, §2.6) of the batch and of
that predecessor add up to at least the regression minus the tolerance. The predecessor
counts because the agent detects a step in its main loop while a source may still hold
records timed before it: those can land in the batch after the one that holds the event.

"Nearest stored predecessor", not "batch_seq - 1": a device must not slip a back-dated
batch past the check by leaving a gap before it. A batch labelled REPLAY carries the times
of a recorded log, not its clock's claim, and is checked for FUTURE_TIME only (every
record and the report say REPLAY; a court reads those times as the log's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collector.store.base import StoredTimes
from notary_core import records as rec
from notary_core.errors import BadData, Reason
from notary_core.header import BatchHeader

DEFAULT_REGRESSION_TOLERANCE_S = 2.0
"""Records of one source can reach the batcher up to a chunk interval (20 ms) late and
several sources interleave; 2 s is far above that and far below any window a court asks."""

DEFAULT_FUTURE_TOLERANCE_S = 300.0
"""A device clock a few minutes fast (an RTC before its first sync) is still accepted."""

_EVENT_KIND = int(rec.Kind.EVENT)


@dataclass(frozen=True, slots=True)
class TimeTolerance:
    regression_ns: int = int(DEFAULT_REGRESSION_TOLERANCE_S * 1e9)
    future_ns: int = int(DEFAULT_FUTURE_TOLERANCE_S * 1e9)


def future_time(h: BatchHeader, arrival_ns: int, tol: TimeTolerance) -> BadData | None:
    ahead = h.last_utc_ns - arrival_ns
    if ahead <= tol.future_ns:
        return None
    return BadData(
        Reason.FUTURE_TIME,
        f"batch {h.batch_seq} claims a time {ahead / 1e9:.3f} s after its arrival "
        f"(tolerance {tol.future_ns / 1e9:g} s)",
    )


def regression_ns(h: BatchHeader, prev: StoredTimes | None) -> int:
    """How far the batch starts before its predecessor ended (<= 0: no regression)."""
    return 0 if prev is None else prev.last_utc_ns - h.first_utc_ns


def backward_steps_ns(records: Iterable[bytes]) -> int:
    """The sum of the backward CLOCK_STEP events among canonical records (kind 5, type 2)."""
    total = 0
    for r in records:
        if r[1] != _EVENT_KIND:
            continue
        body = rec.decode(r).body
        if isinstance(body, rec.AgentEvent) and body.event == rec.EventType.CLOCK_STEP:
            total += max(0, -body.a)
    return total


def time_regression(
    h: BatchHeader, prev: StoredTimes, back: int, steps_ns: int, tol: TimeTolerance
) -> BadData | None:
    """`back` = regression_ns(h, prev); `steps_ns` the backward steps the pair declares."""
    if back <= tol.regression_ns or back - tol.regression_ns <= steps_ns:
        return None
    said = f"; its CLOCK_STEP events explain {steps_ns / 1e9:.3f} s" if steps_ns else ""
    return BadData(
        Reason.TIME_REGRESSION,
        f"batch {h.batch_seq} starts {back / 1e9:.3f} s before batch {prev.batch_seq} ended "
        f"(tolerance {tol.regression_ns / 1e9:g} s{said})",
    )
