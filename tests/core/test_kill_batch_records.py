"""The version-2 completeness rule of one batch (§12.3, `evidence_v2._batch_records`), each
answer and each refusal by its reason and its words (mutation run of 2026-12-03,
docs/testing.md): a batch that meets the window by its last nanosecond, one with nothing
disclosed, a version-1 header, an item withheld in full or in part, one disclosed beyond its
count, one the device never counted; and the per-record refusals of the Python loop."""

from __future__ import annotations

from dataclasses import replace

import pytest

from notary_core import bundle, evidence_v2, header
from notary_core import records as r
from notary_core.errors import BadData, Reason
from notary_core.header import item_key
from tests.core.test_kill_confirmed_in_c import SEC, T, _case, _covers, _records

K29 = item_key(0x18FEF100, r.CanFlags.EXT)
COUNTS = {"can0": {0x0AA: 3, 0x0AB: 3, K29: 3}, "gnss": {-1: 3}}
ALL = list(range(12))
NOT_AB = [i for i in ALL if i not in (1, 5, 9)]  # every record but those of can0#0ab


def _batch(
    chosen: list[int], counts: object = COUNTS
) -> tuple[bundle.BatchEvidence, header.BatchHeader]:
    x, h = _case(_records(), chosen)
    return x, replace(h, counts=counts)  # type: ignore[arg-type]


def _nothing(
    counts: object = COUNTS, multiproof: tuple[bytes, ...] = ()
) -> tuple[bundle.BatchEvidence, header.BatchHeader]:
    x, h = _batch(ALL, counts)
    return replace(x, disclosed=(), multiproof=multiproof), h


def _refused(reason: Reason, message: str, x: object, h: object, *window: int,
             scope: tuple[str, ...] = ("can0", "gnss")) -> None:  # fmt: skip
    with pytest.raises(BadData) as e:
        evidence_v2._batch_records(x, h, *window, _covers(scope))  # type: ignore[arg-type]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_a_complete_batch_gives_its_counts_by_item() -> None:
    x, h = _batch(ALL)
    got = evidence_v2._batch_records(x, h, T + 2 * SEC, T + 8 * SEC, _covers())
    assert got == (12, 5, {"can0#0aa": (3, 3), "can0#0ab": (3, 3), "can0#18fef100": (3, 3),
                           "gnss": (3, 3)})  # fmt: skip


def test_a_version_1_header_gives_no_counts() -> None:
    x, h = _batch(ALL, None)
    assert evidence_v2._batch_records(x, h, T, T + 11 * SEC, _covers()) == (12, 0, None)


def test_a_batch_with_nothing_disclosed() -> None:
    last = T + 11 * SEC
    # A version-1 header: nothing to prove (None) where it meets the window, all done ({})
    # where it does not.
    assert evidence_v2._batch_records(*_nothing(None), T, last, _covers()) == (0, 0, None)
    assert evidence_v2._batch_records(*_nothing(None), last + 1, last + 9, _covers()) == (0, 0, {})
    # Counted records of a granted item in the window, none disclosed: withheld. The batch
    # meets a window that starts at its last nanosecond.
    none = "in the window, none disclosed"
    _refused(Reason.RECORD_WITHHELD, f"batch 7: 3 record(s) of can0#0aa {none}",
             *_nothing(), last, last + 1)  # fmt: skip
    _refused(Reason.RECORD_WITHHELD, f"batch 7: 3 record(s) of gnss {none}",
             *_nothing(), T - 5, T, scope=("gnss",))  # fmt: skip
    # Nothing granted in it, or outside the window: nothing owed.
    assert evidence_v2._batch_records(*_nothing(), T, last, _covers(("imu",))) == (0, 0, {})
    assert evidence_v2._batch_records(*_nothing(), last + 1, last + 9, _covers()) == (0, 0, {})
    _refused(Reason.BAD_PROOF, "batch 7: a multiproof of no record",
             *_nothing(multiproof=(bytes(32),)), T, last)  # fmt: skip


def test_records_disclosed_from_a_batch_outside_the_window() -> None:
    last = T + 11 * SEC
    _refused(Reason.OUTSIDE_WINDOW, "batch 7 lies outside the window but discloses records",
             *_batch(ALL), last + 1, last + 9)  # fmt: skip


def test_an_item_withheld_in_full_or_in_part() -> None:
    window = (T, T + 11 * SEC)
    one = {**COUNTS, "can0": {0x0AA: 3, 0x0AB: 1, K29: 3}}
    _refused(Reason.RECORD_WITHHELD, "batch 7: 1 of 1 record(s) of can0#0ab withheld",
             *_batch(NOT_AB, one), *window)  # fmt: skip
    _refused(Reason.RECORD_WITHHELD, "batch 7: 3 of 3 record(s) of can0#0ab withheld",
             *_batch(NOT_AB), *window)  # fmt: skip
    _refused(Reason.RECORD_WITHHELD, "batch 7: 1 of 3 record(s) of can0#0ab withheld",
             *_batch([i for i in ALL if i != 9]), *window)  # fmt: skip
    # Not granted, not owed.
    scope = ("can0#0aa", "can0#18fef100", "gnss")
    x, h = _batch(NOT_AB)
    assert evidence_v2._batch_records(x, h, *window, _covers(scope)) == (
        9, 0, {"can0#0aa": (3, 3), "can0#18fef100": (3, 3), "gnss": (3, 3)})  # fmt: skip


def test_more_records_than_the_device_counted() -> None:
    window = (T, T + 11 * SEC)
    fewer = {**COUNTS, "can0": {0x0AA: 2, 0x0AB: 3, K29: 3}}
    more = "batch 7: 3 record(s) of can0#0aa disclosed, the device counted 2"
    _refused(Reason.COUNT_MISMATCH, more,
             *_batch(ALL, fewer), *window)  # fmt: skip
    uncounted = {"can0": COUNTS["can0"]}  # the gnss records were never counted
    _refused(Reason.COUNT_MISMATCH, "batch 7: more records than counted",
             *_batch(ALL, uncounted), *window)  # fmt: skip


def _python_refused(reason: Reason, message: str, x: object, h: object,
                    scope: tuple[str, ...] = ("can0", "gnss")) -> None:  # fmt: skip
    with pytest.raises(BadData) as e:
        evidence_v2._records_in_python(x, h, T, T + 11 * SEC, _covers(scope))  # type: ignore[arg-type]
    assert (e.value.reason, e.value.message) == (reason, message)


def test_the_python_loop_names_each_fault() -> None:
    x, h = _batch(ALL)
    _python_refused(Reason.RECORD_ORDER, "batch 7: disclosed indices out of order",
                    replace(x, disclosed=x.disclosed[::-1]), h)  # fmt: skip
    _python_refused(Reason.OUTSIDE_GRANT, "a record of can0#0ab is not granted", x, h,
                    ("can0#0aa", "gnss"))  # fmt: skip
    _python_refused(Reason.OUTSIDE_GRANT, "a record of gnss is not granted", x, h, ("can0",))
    outside = "batch 7: a record outside the batch's signed time range"
    _python_refused(Reason.OUTSIDE_WINDOW, outside,
                    x, replace(h, first_utc_ns=T + 1))  # fmt: skip
    _python_refused(Reason.OUTSIDE_WINDOW, outside,
                    x, replace(h, last_utc_ns=T + 11 * SEC - 1))  # fmt: skip
