"""The version-2 verifier's window overlap (§7.1.1): windows are half-open, [start, end), so
a device installed in another vehicle in a period that only touches the requested window
does not make the request's vehicle doubtful; one that overlaps it by a nanosecond does.
(Kills `_meets` mutants 2, 3 and 4 of the mutation run, docs/testing.md.)"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from notary_core import evidence_v2


def _w(start: int, end: int) -> SimpleNamespace:
    return SimpleNamespace(window_start_ns=start, window_end_ns=end)


@pytest.mark.parametrize(
    ("request_window", "period", "meets"),
    [
        ((10, 20), (0, 10), False),  # the period ends where the request starts
        ((10, 20), (20, 30), False),  # the period starts where the request ends
        ((10, 20), (0, 11), True),  # one nanosecond inside, from below
        ((10, 20), (19, 30), True),  # one nanosecond inside, from above
        ((10, 20), (12, 15), True),  # inside
        ((10, 20), (0, 30), True),  # around
        ((10, 20), (30, 40), False),  # after, apart
        ((10, 20), (0, 5), False),  # before, apart
    ],
)
def test_windows_meet_only_when_they_share_a_nanosecond(
    request_window: tuple[int, int], period: tuple[int, int], meets: bool
) -> None:
    r, e = _w(*request_window), _w(*period)
    assert evidence_v2._meets(r, e) is meets
