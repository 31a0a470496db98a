"""The records check beside the C loop (`_confirmed_in_c`, versions 2 and 1): what it
confirms equals what the reference Python loop counts, by stream and item key and records
outside the window; it asks the C loop only what the C loop can check, and gives the
decision back to the Python loop (None) for anything out of scope, so a reason never depends
on C (mutation run, docs/testing.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from notary_core import batch, bundle, evidence, evidence_v2, grant, header, limits, merkle
from notary_core import records as r
from notary_core.errors import BadData, Reason
from notary_core.header import item_key
from tests.core.c_loop import ACCEL, c_loop

KEY = bytes(range(32))
SEC = 1_000_000_000
T = 1_700_000_000 * SEC


def _records() -> list[bytes]:
    can, gnss = r.CanEncoder("can0", r.ClockSource.GNSS), "gnss"
    out = []
    for i in range(12):
        t = T + i * SEC
        if i % 4 == 3:  # a 29-bit frame: not the C loop's fast layout
            out.append(can.encode(i, i, t, 0x18FEF100, r.CanFlags.EXT, 8, bytes(8)))
        elif i % 4 == 2:
            out.append(
                r.encode(
                    r.Record(
                        gnss,
                        i,
                        i,
                        t,
                        r.ClockSource.GNSS,
                        r.NmeaSentence(r.NmeaStatus.CHECKSUM_OK, b"$G"),
                    )
                )
            )
        else:
            out.append(can.encode(i, i, t, 0x0AA + i % 2, 0, 1, b"\x01"))
    return out  # fmt: skip


def _case(
    records: list[bytes], chosen: list[int]
) -> tuple[bundle.BatchEvidence, header.BatchHeader]:
    tree = merkle.MerkleTree(batch.leaf_hashes(KEY, records))
    items = tuple(bundle.Disclosed(i, records[i], batch.salt(KEY, i)) for i in chosen)
    x = bundle.BatchEvidence(b"", 0, (), items, tuple(tree.multiproof(chosen)))
    h = header.BatchHeader(
        device_id="dev", boot_id=bytes(16), batch_seq=7, prev_header_hash=bytes(32),
        record_count=len(records), merkle_root=tree.root, first_mono_ns=0, last_mono_ns=99,
        first_utc_ns=T, last_utc_ns=T + 11 * SEC, clock_source=r.ClockSource.GNSS,
        clock_uncertainty_ns=0, streams={}, agent_version="t", config_hash=bytes(32),
        key_id=b"", counts={})  # fmt: skip
    return x, h


SCOPE = ("can0", "gnss")


def _covers(scope: tuple[str, ...] = SCOPE) -> Callable[[str, int], bool]:
    return lambda stream, key: grant.covers_item(scope, stream, key)


def test_the_c_loop_counts_what_the_python_loop_counts() -> None:
    assert ACCEL is not None, "notary_core._accel not built: run make setup"
    records = _records()
    x, h = _case(records, list(range(12)))
    start, end = T + 2 * SEC, T + 8 * SEC
    expected = evidence_v2._records_in_python(x, h, start, end, _covers())
    got = {("can0", 0x0AA): 3, ("can0", 0x0AB): 3, ("gnss", -1): 3,
           ("can0", item_key(0x18FEF100, r.CanFlags.EXT)): 3}  # fmt: skip
    assert expected == (got, 5)
    with c_loop(True):
        assert evidence_v2._confirmed_in_c(x, h, start, end, _covers()) == expected
        # A one-record batch is still the C loop's to check.
        one, h1 = _case(records[:1], [0])
        assert evidence_v2._confirmed_in_c(one, h1, T, T, _covers()) == ({("can0", 0x0AA): 1}, 0)
    with c_loop(False):
        assert evidence_v2._confirmed_in_c(x, h, start, end, _covers()) is None


def test_what_the_c_loop_cannot_check_goes_back_to_python() -> None:
    x, h = _case(_records(), list(range(12)))
    span = (T, T + 11 * SEC)
    with c_loop(True):
        c = evidence_v2._confirmed_in_c
        assert c(x, h, *span, _covers()) is not None
        assert c(replace(x, disclosed=list(x.disclosed)), h, *span, _covers()) is None  # type: ignore[arg-type]
        assert c(replace(x, multiproof=list(x.multiproof)), h, *span, _covers()) is None  # type: ignore[arg-type]
        for count in (0, limits.MAX_TREE_SIZE + 1):
            assert c(x, replace(h, record_count=count), *span, _covers()) is None
        for root in (h.merkle_root[:31], h.merkle_root + b"x"):
            assert c(x, replace(h, merkle_root=root), *span, _covers()) is None
        assert c(x, replace(h, merkle_root=bytes(32)), *span, _covers()) is None  # C refuses
        # A record out of scope, on the fast layout or not: Python names it.
        assert c(x, h, *span, _covers(("can0#0aa", "can0#0ab", "gnss"))) is None
        assert c(x, h, *span, _covers(("can0",))) is None
        assert c(x, h, *span, _covers(("gnss", "can0#18fef100"))) is None
        every = ("can0#0aa", "can0#0ab", "gnss", "can0#18fef100")
        assert c(x, h, *span, _covers(every)) == evidence_v2._records_in_python(
            x, h, *span, _covers(every)
        )


def test_version_1_confirms_a_one_record_batch_and_an_fd_frame_by_its_11_bit_id() -> None:
    """A False from `evidence._confirmed_in_c` hands the batch to the Python loop (the same
    verdict, slower), so only its own answer shows what it confirms."""
    fd = r.CanEncoder("can0", r.ClockSource.GNSS).encode(1, 1, T, 0x0AA, r.CanFlags.FD, 9,
                                                         bytes(12))  # fmt: skip
    records = [_records()[0], fd]
    with c_loop(True):
        for chosen in ([0], [1], [0, 1]):
            x, h = _case(records, chosen)
            assert evidence._confirmed_in_c(x.disclosed, x.multiproof, h, ("can0#0aa",), {})
        one, h1 = _case(records[:1], [0])
        assert evidence._confirmed_in_c(one.disclosed, one.multiproof, h1, ("can0#0aa",), {})
        x, h = _case(records, [1])
        assert not evidence._confirmed_in_c(x.disclosed, x.multiproof, h, ("can0#0ab",), {})


def test_the_python_loop_refuses_a_sequence_number_repeated_in_a_stream() -> None:
    can = r.CanEncoder("can0", r.ClockSource.GNSS)
    records = [can.encode(5, 0, T, 0x0AA, 0, 1, b"\x01"), can.encode(5, 1, T, 0x0AA, 0, 1, b"\x02")]
    x, h = _case(records, [0, 1])
    with pytest.raises(BadData) as e:
        evidence_v2._records_in_python(x, h, T, T, _covers())
    assert (e.value.reason, e.value.message) == (Reason.RECORD_ORDER, "batch 7: can0 out of order")
    ok = [records[0], can.encode(6, 1, T, 0x0AA, 0, 1, b"\x02")]
    y, g = _case(ok, [0, 1])
    assert evidence_v2._records_in_python(y, g, T, T, _covers()) == ({("can0", 0x0AA): 2}, 0)
