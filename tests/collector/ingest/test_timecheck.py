"""The collector's time checks (docs/protocol.md §6.2): a batch back-dated along its chain
is TIME_REGRESSION unless CLOCK_STEP events explain it, a batch from the future is
FUTURE_TIME, late delivery is accepted; all through the real Ingestor and SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.ingest.timecheck import TimeTolerance
from collector.settings import TimeSettings
from collector.store.open import open_store
from notary_core import cose
from notary_core import records as rec
from notary_core.receipt import ReceiptStatus, open_receipt
from tests.collector.fleet import T0, Device

pytestmark = pytest.mark.anyio
SEC = 1_000_000_000
NTP = rec.ClockSource.NTP
SIGNER = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
async def ingestor(tmp_path: Path) -> AsyncIterator[Ingestor]:
    async with await open_store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        yield Ingestor(store, SIGNER)


async def _device(ing: Ingestor) -> Device:
    dev = Device("veh-t")
    await ing.store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, 0, None, T0)
    return dev


def step(seq: int, step_ns: int, utc_ns: int) -> bytes:
    body = rec.AgentEvent(rec.EventType.CLOCK_STEP, step_ns, utc_ns, "chronyd stepped the clock")
    return rec.encode(rec.Record("agent", seq, 1, utc_ns, NTP, body))


async def _send(
    ing: Ingestor, dev: Device, records: list[bytes], utc: int, now: int,
    seq: int | None = None, span_ns: int = 999_000_000,
) -> tuple[str, str | None, ReceiptStatus | None]:  # fmt: skip
    sealed = dev.seal(records, utc_ns=utc, clock=NTP, seq=seq, span_ns=span_ns)
    out = await ing.ingest(f"vn/v1/dev/{dev.device_id}/batch", sealed.to_bytes(), now)
    status = None if out.receipt is None else open_receipt(out.receipt, SIGNER.public).status
    return out.status, out.reason, status


async def test_back_dated_batch_is_quarantined_and_rejected(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev = await _device(ingestor)
    now = T0 + 100 * SEC
    for i in range(3):
        assert (await _send(ingestor, dev, records[:5], T0 + i * SEC, now))[0] == "stored"
    # Batch 3 claims to start 2.5 s before batch 2 ended: beyond the 2 s tolerance.
    got = await _send(ingestor, dev, records[:5], T0 + 2 * SEC + 999_000_000 - 2_500_000_000, now)
    assert got == ("rejected", "TIME_REGRESSION", ReceiptStatus.REJECTED)
    (q,) = await ingestor.store.quarantined("TIME_REGRESSION")
    assert q.batch_seq == 3 and "before batch 2 ended" in q.detail
    assert await ingestor.store.batch(dev.device_id, 3) is None
    # Within the tolerance is normal (sources interleave): stored.
    dev.seq, dev.prev = 3, (await ingestor.store.batch(dev.device_id, 2)).header_hash  # type: ignore[union-attr]
    got = await _send(ingestor, dev, records[:5], T0 + 2 * SEC + 999_000_000 - 1_900_000_000, now)
    assert got[0] == "stored"


async def test_a_clock_step_in_the_batch_or_its_predecessor_explains_it(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev = await _device(ingestor)
    now = T0 + 100 * SEC
    await _send(ingestor, dev, records[:5], T0, now)
    # chronyd stepped the clock back 10 s: the batch says so, and is stored.
    back = T0 + 999_000_000 - 10 * SEC
    assert (await _send(ingestor, dev, [*records[:5], step(0, -10 * SEC, back)], back, now))[0] \
        == "stored"  # fmt: skip
    # A step in the predecessor explains the batch after it too (records read before the
    # step can reach the next batch); a smaller step than the regression does not.
    assert (await _send(ingestor, dev, records[:5], back - 9 * SEC, now))[0] == "stored"
    small = [*records[:5], step(1, -1 * SEC, back)]
    got = await _send(ingestor, dev, small, back - 9 * SEC - 20 * SEC, now)
    assert got[:2] == ("rejected", "TIME_REGRESSION")
    # A forward step explains no regression.
    fwd = [*records[:5], step(2, 30 * SEC, back)]
    assert (await _send(ingestor, dev, fwd, back - 60 * SEC, now))[:2] == (
        "rejected", "TIME_REGRESSION")  # fmt: skip


async def test_a_gap_does_not_hide_a_back_dated_batch(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    """The nearest stored predecessor counts, not batch_seq - 1: skipping a number is no way
    around the check."""
    dev = await _device(ingestor)
    now = T0 + 1000 * SEC
    for i in range(2):
        await _send(ingestor, dev, records[:5], T0 + 600 * SEC + i * SEC, now)
    got = await _send(ingestor, dev, records[:5], T0, now, seq=7)
    assert got[:2] == ("rejected", "TIME_REGRESSION")


async def test_in_one_group_the_earlier_batch_is_the_predecessor(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev = await _device(ingestor)
    t = f"vn/v1/dev/{dev.device_id}/batch"
    good = dev.seal(records[:5], utc_ns=T0 + 50 * SEC, clock=NTP)
    bad = dev.seal(records[:5], utc_ns=T0, clock=NTP)
    outs = await ingestor.ingest_group([(t, good.to_bytes()), (t, bad.to_bytes())], T0 + 99 * SEC)
    assert [(o.status, o.reason) for o in outs] == [("stored", None),
                                                    ("rejected", "TIME_REGRESSION")]  # fmt: skip


async def test_future_time_is_quarantined_late_delivery_is_accepted(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    dev = await _device(ingestor)
    arrival = T0
    got = await _send(ingestor, dev, records[:5], arrival + 301 * SEC, arrival, span_ns=0)
    assert got == ("rejected", "FUTURE_TIME", ReceiptStatus.REJECTED)
    assert (
        "301.000 s after its arrival" in (await ingestor.store.quarantined("FUTURE_TIME"))[0].detail
    )
    assert (await _send(ingestor, dev, records[:5], arrival + 299 * SEC, arrival, span_ns=0))[0] \
        == "stored"  # fmt: skip
    # A day late, after an outage: normal, stored; the receipt records the arrival.
    late = await _send(ingestor, dev, records[:5], arrival + 300 * SEC, arrival + 86400 * SEC)
    assert late[0] == "stored"


async def test_replay_batches_are_checked_for_the_future_only(
    ingestor: Ingestor, records: list[bytes]
) -> None:
    """A replayed log starts again from its beginning after a restart: REPLAY times are the
    log's, not a claim of the device's clock (every record and the report say REPLAY)."""
    dev = await _device(ingestor)
    t = f"vn/v1/dev/{dev.device_id}/batch"
    for utc in (T0 + 50 * SEC, T0):
        out = await ingestor.ingest(t, dev.seal(records[:5], utc_ns=utc).to_bytes(), T0 + 99 * SEC)
        assert out.status == "stored"
    future = dev.seal(records[:5], utc_ns=T0 + 999 * SEC).to_bytes()
    assert (await ingestor.ingest(t, future, T0)).reason == "FUTURE_TIME"


async def test_tolerances_are_configurable(tmp_path: Path, records: list[bytes]) -> None:
    tol = TimeSettings(regression_tolerance_s=30, future_tolerance_s=5).tolerance()
    assert tol == TimeTolerance(30 * SEC, 5 * SEC)
    with pytest.raises(ValueError, match=r"(?s)future_tolerance_s.*greater than or equal to 0"):
        TimeSettings(future_tolerance_s=-1).tolerance()
    async with await open_store(f"sqlite:///{tmp_path / 'd.db'}") as store:
        ing = Ingestor(store, SIGNER, tol)
        dev = await _device(ing)
        await _send(ing, dev, records[:5], T0 + 20 * SEC, T0 + 30 * SEC)
        assert (await _send(ing, dev, records[:5], T0, T0 + 30 * SEC))[0] == "stored"
        assert (await _send(ing, dev, records[:5], T0 + 40 * SEC, T0 + 30 * SEC))[1] \
            == "FUTURE_TIME"  # fmt: skip
