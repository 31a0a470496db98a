"""Receipts are version 2 with the beacon (docs/protocol.md §6.1): null before the first
final anchor, then the block of the latest final anchor in the anchors table, never of one
merely sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.ingest.pipeline import Ingestor
from collector.store.base import AnchorRow
from collector.store.open import open_store
from notary_core import cose
from notary_core.header import Beacon
from notary_core.receipt import open_receipt
from tests.collector.fleet import T0, Device

pytestmark = pytest.mark.anyio
SEC = 1_000_000_000


def anchor(size: int, status: str, block: int) -> AnchorRow:
    return AnchorRow(size, bytes([size]) * 32, bytes(32), status, bytes([9]) * 32, block,
                     bytes([block % 256]) * 32, 31337, "0x" + "ab" * 20, 1, T0,
                     1_700_000_000 + block)  # fmt: skip


async def test_receipts_carry_the_latest_final_anchor(
    store_url: str, records: list[bytes], tmp_path: Path
) -> None:
    signer = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate())
    async with await open_store(store_url) as store:
        dev = Device("veh-b")
        await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, 0, None, T0)
        ing = Ingestor(store, signer)
        topic = f"vn/v1/dev/{dev.device_id}/batch"

        async def receipt_beacon(now: int) -> Beacon | None:
            out = await ing.ingest(topic, dev.seal(records[:3]).to_bytes(), now)
            assert out.receipt is not None
            r = open_receipt(out.receipt, signer.public)
            assert r.version == 2
            return r.beacon

        assert await receipt_beacon(T0 + 100 * SEC) is None  # no anchor at all
        await store.upsert_anchor(anchor(5, "sent", 40))
        assert await receipt_beacon(T0 + 102 * SEC) is None  # sent is not final
        await store.upsert_anchor(anchor(3, "final", 30))
        await store.upsert_anchor(anchor(8, "final", 50))
        await store.upsert_anchor(anchor(9, "sent", 60))
        got = await receipt_beacon(T0 + 104 * SEC)
        assert got == Beacon(31337, 50, bytes([50]) * 32, 1_700_000_050)
