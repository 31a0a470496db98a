"""End to end over a real mosquitto (mTLS + ACL): receipts after commit; kill -9 loses nothing."""

from __future__ import annotations

import asyncio
import queue
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from collector import limits
from collector.service import Collector
from collector.settings import Settings, write_key
from collector.store.open import open_store
from notary_core import cose, envelope
from notary_core.receipt import Receipt, ReceiptStatus, open_receipt
from tests.collector.fleet import T0, Device, logged_entries
from tests.infra.mqtt_broker import MosquittoBroker, close_client, connect_client, mqtt_broker

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
__all__ = ["mqtt_broker"]


def _config(tmp: Path, broker: MosquittoBroker) -> Path:
    creds = broker.credentials("collector")
    write_key(tmp / "collector.key")
    cfg = tmp / "collector.toml"
    cfg.write_text(
        f'store = "sqlite:///{tmp / "c.db"}"\nkey_file = "collector.key"\n'
        f'origin = "collector.test/log"\ncheckpoint_interval_s = 0.2\n\n[mqtt]\n'
        f'host = "{broker.host}"\nport = {broker.port}\nca_cert = "{creds.ca}"\n'
        f'cert = "{creds.cert}"\nkey = "{creds.key}"\n',
        encoding="utf-8",
    )
    return cfg


class Agent:
    """A minimal agent: publishes batches, collects receipts on its own topic."""

    def __init__(self, broker: MosquittoBroker, dev: Device, collector: cose.PublicKey) -> None:
        self.dev, self.key = dev, collector
        self.receipts: queue.Queue[bytes] = queue.Queue()
        self.client = connect_client(broker, dev.device_id)
        self.client.on_message = lambda c, u, m: self.receipts.put(bytes(m.payload))
        self.client.subscribe(f"vn/v1/dev/{dev.device_id}/receipt", qos=1)

    def publish(self, payload: bytes) -> None:
        self.client.publish(f"vn/v1/dev/{self.dev.device_id}/batch", payload, qos=1)

    def wait(self, n: int, timeout: float) -> list[Receipt]:
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            try:
                out.append(open_receipt(self.receipts.get(timeout=0.2), self.key))
            except queue.Empty:
                continue
        return out

    def close(self) -> None:
        close_client(self.client)


@pytest.mark.parametrize("wire", ["bare", "zlib"])
async def test_batches_in_receipts_out(
    mqtt_broker: MosquittoBroker, tmp_path: Path, records: list[bytes], wire: str
) -> None:
    """`zlib`: the batches in compressed envelopes (protocol §5.1) and a bomb among them,
    which is quarantined (TOO_LARGE) and disturbs nothing."""
    method = envelope.Method.ZLIB if wire == "zlib" else None
    settings = Settings.load(_config(tmp_path, mqtt_broker))
    dev = Device("veh-1")
    async with await open_store(settings.store) as store:
        await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, T0, None, T0)
    agent = Agent(mqtt_broker, dev, settings.receipt_signer().public)
    try:
        async with Collector.open(settings) as c:
            assert c.mqtt is not None
            await c.mqtt.wait_connected()
            task = asyncio.create_task(c.run())
            batches = [dev.seal(records[i * 100 : i * 100 + 100]) for i in range(3)]
            for b in batches:
                await asyncio.to_thread(agent.publish, envelope.for_wire(b.to_bytes(), method))
            await asyncio.to_thread(agent.publish, b"\x00garbage")
            if method is not None:
                bomb = zlib.compress(bytes(64 << 20), 9)  # 64 MiB of zeros, declared 8 MiB
                head = envelope.MAGIC + bytes([1, 1]) + (8 << 20).to_bytes(4, "big")
                await asyncio.to_thread(agent.publish, head + bomb)
            got = await asyncio.to_thread(agent.wait, 3, 20)
            assert [(r.batch_seq, r.status) for r in got] == [
                (i, ReceiptStatus.STORED) for i in range(3)
            ]
            assert [r.header_hash for r in got] == [b.signed.header_hash for b in batches]
            expected = ["NON_CANONICAL"] + (["TOO_LARGE"] if method else [])
            for _ in range(50):
                if len(await c.store.quarantined()) == len(expected):
                    break
                await asyncio.sleep(0.1)
            assert task.done() is False, task
            assert [q.reason for q in await c.store.quarantined()] == expected
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        agent.close()


def _start(cfg: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "vnotary"
    return subprocess.Popen(
        [str(exe), "collector", "run", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_collector_killed_mid_ingest_loses_and_duplicates_nothing(
    mqtt_broker: MosquittoBroker, tmp_path: Path, records: list[bytes]
) -> None:
    cfg = _config(tmp_path, mqtt_broker)
    settings = Settings.load(cfg)
    dev = Device("veh-1")
    async with await open_store(settings.store) as store:
        await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, T0, None, T0)
    batches = [dev.seal(records[i * 50 : i * 50 + 50]) for i in range(40)]
    agent = Agent(mqtt_broker, dev, settings.receipt_signer().public)
    proc = _start(cfg)
    done: set[int] = set()
    killed = False
    try:
        deadline = time.monotonic() + 90
        while len(done) < 40 and time.monotonic() < deadline:
            # The agent re-sends whatever has no receipt yet, as its spool does.
            for b in batches:
                if b.signed.header.batch_seq not in done:
                    agent.publish(b.to_bytes())
            done |= {r.batch_seq for r in agent.wait(40 if killed else 3, 2)}
            if done and not killed:
                proc.send_signal(signal.SIGKILL)  # mid-group: the rest is in flight
                proc.wait(10)
                killed = True
                # Nothing was answered before its group was committed.
                async with await open_store(settings.store) as store:
                    stored = await store.batches_between("veh-1", -(2**62), 2**62)
                assert done <= {b.batch_seq for b in stored}
                proc = _start(cfg)
        assert killed and done == set(range(40))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        agent.close()
    async with await open_store(settings.store) as store:
        stored = await store.batches_between("veh-1", -(2**62), 2**62)
        assert [b.batch_seq for b in stored] == list(range(40))
        assert await logged_entries(store) == 41  # the enrolment and each batch exactly once
        assert await store.gaps("veh-1", open_only=False) == []


class _RetainingBroker(MosquittoBroker):
    """The deployed configuration with retained messages allowed: a broker that lacks the
    shipped `retain_available false`, to show the collector's own refusal."""

    def _render(self) -> None:
        super()._render()
        text = self.conf_path.read_text()
        assert "retain_available false" in text
        self.conf_path.write_text(text.replace("retain_available false", "retain_available true"))


async def test_a_retained_batch_is_not_ingested(tmp_path: Path, records: list[bytes]) -> None:
    """Issue 16 §2: a retained message on a batch topic would be delivered again at every
    (re)subscription of the collector; the collector acknowledges it and ingests nothing,
    while a live batch after it is stored."""
    with _RetainingBroker(tmp_path / "broker") as broker:
        settings = Settings.load(_config(tmp_path, broker))
        dev = Device("veh-1")
        async with await open_store(settings.store) as store:
            await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, T0, None, T0)
        old, live = dev.seal(records[:100]), dev.seal(records[100:200])
        agent = Agent(broker, dev, settings.receipt_signer().public)
        try:
            info = agent.client.publish("vn/v1/dev/veh-1/batch", old.to_bytes(), 1, retain=True)
            await asyncio.to_thread(info.wait_for_publish, 5)
            async with Collector.open(settings) as c:
                assert c.mqtt is not None
                await c.mqtt.wait_connected()
                task = asyncio.create_task(c.run())
                await asyncio.sleep(1.0)  # the retained copy arrives at the SUBACK
                # seq 0 came only retained: the live seq 1 is stored, after a gap.
                await asyncio.to_thread(agent.publish, live.to_bytes())
                got = await asyncio.to_thread(agent.wait, 1, 20)
                assert [(r.batch_seq, r.status) for r in got] == [(1, ReceiptStatus.STORED)]
                stored = await c.store.batches_between("veh-1", -(2**62), 2**62)
                assert [b.batch_seq for b in stored] == [1]
                assert await c.store.quarantined() == []
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
        finally:
            agent.close()


async def test_one_device_flooding_garbage_is_counted_past_its_quota(
    mqtt_broker: MosquittoBroker, tmp_path: Path, records: list[bytes]
) -> None:
    """Issue 16 §2: 200 garbage messages of 64 KiB from one device became 200 quarantine
    rows and 13 MB. Now: rows up to the device's daily quota, a counter past it, and the
    other device's rejection and batch are still kept and stored."""
    settings = Settings.load(_config(tmp_path, mqtt_broker))
    noisy, quiet = Device("veh-noisy"), Device("veh-quiet")
    async with await open_store(settings.store) as store:
        await store.add_device_key(quiet.device_id, quiet.spki, quiet.signer.kid, T0, None, T0)
    flood = Agent(mqtt_broker, noisy, settings.receipt_signer().public)
    agent = Agent(mqtt_broker, quiet, settings.receipt_signer().public)
    try:
        async with Collector.open(settings) as c:
            assert c.mqtt is not None
            await c.mqtt.wait_connected()
            task = asyncio.create_task(c.run())
            for i in range(200):
                garbage = bytes([i]) * (64 * 1024)
                await asyncio.to_thread(flood.publish, garbage)
            await asyncio.to_thread(agent.publish, b"\x00not a batch")
            await asyncio.to_thread(agent.publish, quiet.seal(records[:100]).to_bytes())
            got = await asyncio.to_thread(agent.wait, 1, 30)
            assert [(r.batch_seq, r.status) for r in got] == [(0, ReceiptStatus.STORED)]
            for _ in range(100):
                quotas = {q.source: q for q in await c.store.quarantine_quotas()}
                done = quotas.get("veh-noisy")
                if done is not None and done.kept_rows + done.dropped_rows == 200:
                    break
                await asyncio.sleep(0.1)
            rows = await c.store.quarantined(limit=10_000)
            noisy_rows = [q for q in rows if q.topic == "vn/v1/dev/veh-noisy/batch"]
            assert len(noisy_rows) == limits.QUARANTINE_ROWS_PER_DAY
            assert sum(len(q.payload) for q in noisy_rows) <= limits.QUARANTINE_BYTES_PER_DAY
            n = quotas["veh-noisy"]
            assert (n.kept_rows, n.dropped_rows) == (len(noisy_rows), 200 - len(noisy_rows))
            assert n.dropped_bytes == n.dropped_rows * 64 * 1024
            assert [q.topic for q in rows if q.topic.endswith("veh-quiet/batch")] == [
                "vn/v1/dev/veh-quiet/batch"
            ]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        flood.close()
        agent.close()
