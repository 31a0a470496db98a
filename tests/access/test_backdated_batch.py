"""Issue 14's attack: a compromised device (it holds its key) back-dates its next batch into
an earlier, already anchored window, with made-up frames. Before the time checks it was
stored without a flag, its frames were served to a reader of that window and every bundle
of the window went from OK to FAIL. Now it is quarantined (TIME_REGRESSION, a REJECTED
receipt): a reader of the window gets exactly the honest records. (The bundle half of the
story, OK before and after, waits for the evidence endpoint, which hangs on this branch's
base: `collector/access/evidence.py` opens `store.index_at` inside its own transaction.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from collector.ingest.pipeline import Ingestor
from notary_core.receipt import ReceiptStatus, open_receipt
from notary_core.records import CanEncoder, CanFlags, ClockSource
from tests.access.world import world

pytestmark = pytest.mark.anyio


async def test_back_dated_batch_into_an_anchored_window_is_quarantined_and_never_served(
    tmp_path: Path, shared_data: Path
) -> None:
    async with world(tmp_path, shared_data) as w:
        g = w.grant("owner", "insurer", actions=("read", "export"))
        await w.ok("owner", "POST", "/v1/grants", {"token": w.token("owner", g)})
        await w.anchor()
        body = {k: v for k, v in w.evidence_body().items() if not k.startswith("event")}
        before = await w.ok("insurer", "POST", "/v1/records", body)
        # The forgery: batch 4 of the chain, signed with the device's own key, claiming the
        # middle of the anchored window, with made-up brake frames in it.
        lo = w.batches[1][0] + 300_000_000
        enc = CanEncoder("can0", ClockSource.NTP)
        fake = [enc.encode(10**6 + i, 1, lo + i * 1000, 0x224, CanFlags(0), 8, b"\xff" * 8)
                for i in range(20)]  # fmt: skip
        sealed = w.device.seal(fake, utc_ns=lo, clock=ClockSource.NTP, span_ns=20_000)
        out = await Ingestor(w.store, w.settings.receipt_signer()).ingest(
            f"vn/v1/dev/{w.device.device_id}/batch", sealed.to_bytes(), time.time_ns()
        )
        assert (out.status, out.reason) == ("rejected", "TIME_REGRESSION")
        assert out.receipt is not None
        receipt = open_receipt(out.receipt, w.settings.receipt_signer().public)
        assert receipt.status is ReceiptStatus.REJECTED  # the agent alarms, stops re-sending
        (q,) = await w.store.quarantined("TIME_REGRESSION")
        assert q.payload == sealed.to_bytes()  # kept, with its reason, never lost
        assert await w.store.batch(w.device.device_id, 4) is None
        window = await w.store.batches_between(w.device.device_id, body["window_start_ns"],
                                               body["window_end_ns"])  # fmt: skip
        assert [b.batch_seq for b in window] == [1, 2]
        # A reader of the window gets exactly what it got before: none of the made-up frames.
        await w.anchor()
        after = await w.ok("insurer", "POST", "/v1/records", body)
        assert after["records"] == before["records"] and after["records"]
        assert all(r["batch_seq"] < 4 for r in after["records"])
