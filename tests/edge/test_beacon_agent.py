"""The agent keeps the newest chain beacon its receipts bring (docs/protocol.md §6.1),
durably beside its chain head, and seals it into every header (§4.3 key 19): a real agent
process, a real broker, the stand-in collector answering with beacons."""

from __future__ import annotations

import json
import signal
import time

import pytest

from notary_core.batch import SealedBatch
from notary_core.header import Beacon
from tests.edge.kit import GIULIA, Device, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = pytest.mark.integration
B1 = Beacon(31337, 1000, bytes([0xB1]) * 32, 1_800_000_000)
OLDER = Beacon(31337, 900, bytes([0x90]) * 32, 1_799_999_000)


def wait_for(what: str, cond: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def beacons(resp: Responder) -> list[Beacon | None]:
    return [b.signed.header.beacon for b in resp.chain()]


def test_beacon_from_receipts_goes_into_headers_and_survives_a_restart(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"))
    log = dev.dir / "agent.log"
    proc = start_agent(cfg, log)
    try:
        wait_for("the first batches", lambda: len(resp.chain()) >= 3)
        assert beacons(resp)[0] is None  # no receipt had a beacon yet
        resp.beacon = B1
        wait_for("a header with the beacon", lambda: B1 in beacons(resp))
        resp.beacon = OLDER  # a lower block never replaces the one held
        n = len(resp.chain())
        wait_for("more batches", lambda: len(resp.chain()) >= n + 4)
        got = beacons(resp)
        first = got.index(B1)
        assert got[:first] == [None] * first and set(got[first:]) == {B1}, got
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    head = json.loads((dev.dir / "spool.sqlite.head").read_text())
    assert head["beacon"] == [B1.chain_id, B1.block_number, B1.block_hash.hex(), B1.block_time]
    # Restarted with no receipt arriving at all: the headers still carry the durable beacon.
    resp.paused, before = True, len(resp.stored)
    resp.stored.clear()
    proc = start_agent(cfg, log)
    try:
        resp.paused = False
        resp.withhold = True  # store what arrives, answer nothing: no new beacon can come
        wait_for("batches of the second run", lambda: len(resp.stored) >= 3)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    later = [SealedBatch.from_bytes(p).signed.header for s, p in sorted(resp.stored.items())
             if s >= before]  # fmt: skip
    assert later and all(h.beacon == B1 for h in later)
