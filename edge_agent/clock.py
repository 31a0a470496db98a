"""Pure clock-step detection: UTC jumps against the monotonic clock become events.

Each reading is (mono_ns, utc_ns) taken together; their offset is constant while the
clock runs freely or slews. A change larger than the threshold is a step (NTP or GNSS
setting the clock, a user running `date`): recorded, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.limits import CLOCK_STEP_THRESHOLD_NS


@dataclass(frozen=True, slots=True)
class ClockStep:
    mono_ns: int
    step_ns: int  # signed: new offset minus old offset
    new_utc_ns: int


class ClockWatch:
    def __init__(self, threshold_ns: int = CLOCK_STEP_THRESHOLD_NS) -> None:
        self.threshold_ns = threshold_ns
        self._offset: int | None = None

    def observe(self, mono_ns: int, utc_ns: int) -> ClockStep | None:
        offset = utc_ns - mono_ns
        previous, self._offset = self._offset, offset
        if previous is None or abs(offset - previous) <= self.threshold_ns:
            return None
        return ClockStep(mono_ns, offset - previous, utc_ns)
