"""Several collectors in one MQTT v5 shared-subscription group on one PostgreSQL store, under
failure (issue 18): a member killed with -9, a member whose database session is terminated,
and a backlog waiting in the broker. Real mosquitto, real PostgreSQL, real `vnotary collector
run` processes; the test plays the agents (re-send what has no receipt after RECEIPT_TIMEOUT_S,
as the edge agent's spool does)."""

from __future__ import annotations

import asyncio
import logging
import queue
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from collector.service import Collector
from collector.settings import Settings, write_key
from collector.store.base import Store
from collector.store.open import open_store
from notary_core import cose
from notary_core.batch import SealedBatch
from notary_core.errors import Unreachable
from notary_core.receipt import ReceiptStatus, open_receipt
from tests.collector.fleet import T0, Device
from tests.infra.mqtt_broker import MosquittoBroker, close_client, connect_client, running_broker
from tests.infra.postgres import PgCluster

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
RECEIPT_TIMEOUT_S = 4.0
GROUP = "collectors"
# The broker makes each client's id its certificate CN (no client takes over another's
# session), so every instance has its own certificate and ACL block (docs/collector.md).
INSTANCES = ("a", "b", "solo", "one", "two")


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with running_broker(tmp_path, collectors=tuple(f"collector-{n}" for n in INSTANCES)) as b:
        yield b


def _config(
    tmp: Path,
    broker: MosquittoBroker,
    name: str,
    url: str,
    group: str | None = GROUP,
    top: str = "",
) -> Path:
    """collector.toml of one instance: its own certificate and client id, a copy of the one
    collector key."""
    creds = broker.credentials(f"collector-{name}")
    key = tmp / "collector.key"
    if not key.exists():
        write_key(key)
    shutil.copy(key, tmp / f"{name}.key")  # every instance holds a copy of the log key
    cfg = tmp / f"{name}.toml"
    shared = f'shared_group = "{group}"\n' if group else ""
    cfg.write_text(
        f'store = "{url}"\nkey_file = "{name}.key"\norigin = "collector.test/log"\n'
        f"checkpoint_interval_s = 0.2\n{top}\n[mqtt]\n"
        f'host = "{broker.host}"\nport = {broker.port}\nca_cert = "{creds.ca}"\n'
        f'cert = "{creds.cert}"\nkey = "{creds.key}"\nclient_id = "collector-{name}"\n{shared}',
        encoding="utf-8",
    )
    return cfg


class Collectors:
    """`vnotary collector run` processes; stderr (the log) kept per instance."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cfg: Path) -> None:
        exe = Path(sys.executable).parent / "vnotary"
        err = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [str(exe), "collector", "run", "--config", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=err,
        )
        err.close()
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"collector running\n", self.log(name)
        self.procs[name] = proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
        self.procs.clear()


class Fleet:
    """Devices with one MQTT client each, publishing batches and collecting receipts."""

    def __init__(self, broker: MosquittoBroker, n: int, key: cose.PublicKey) -> None:
        self.devices = [Device(f"veh-{i}") for i in range(n)]
        self.key = key
        self.receipts: queue.Queue[bytes] = queue.Queue()
        self.clients = {}
        for dev in self.devices:
            c = connect_client(broker, dev.device_id)
            c.on_message = lambda c, u, m: self.receipts.put(bytes(m.payload))
            c.subscribe(f"vn/v1/dev/{dev.device_id}/receipt", qos=1)
            self.clients[dev.device_id] = c

    async def enrol(self, url: str) -> None:
        async with await open_store(url) as store:
            for d in self.devices:
                await store.add_device_key(d.device_id, d.spki, d.signer.kid, T0, None, T0)

    def seal(self, per_device: int, records: list[bytes]) -> list[SealedBatch]:
        """`per_device` consecutive batches of every device, interleaved across devices."""
        out = []
        for _ in range(per_device):
            for d in self.devices:
                out.append(d.seal(records[d.seq * 5 % 4000 : d.seq * 5 % 4000 + 5]))
        return out

    def publish(self, b: SealedBatch, wait: bool = False) -> None:
        device = b.signed.header.device_id
        info = self.clients[device].publish(f"vn/v1/dev/{device}/batch", b.to_bytes(), qos=1)
        if wait:
            info.wait_for_publish(10)

    def deliver(self, batches: list[SealedBatch], within: float) -> set[tuple[str, int]]:
        """Publish, then re-send what has no STORED receipt every RECEIPT_TIMEOUT_S, for
        `within` seconds; return what is still unanswered."""
        want = {(b.signed.header.device_id, b.signed.header.batch_seq): b for b in batches}
        start = time.monotonic()
        next_send = start
        while want and time.monotonic() - start < within:
            if time.monotonic() >= next_send:
                for b in want.values():
                    self.publish(b)
                next_send += RECEIPT_TIMEOUT_S
            try:
                raw = self.receipts.get(timeout=0.1)
            except queue.Empty:
                continue
            r = open_receipt(raw, self.key)
            if r.status == ReceiptStatus.STORED:
                want.pop((r.device_id, r.batch_seq), None)
        return set(want)

    def close(self) -> None:
        for c in self.clients.values():
            close_client(c)


async def _stored(url: str) -> set[tuple[str, int]]:
    async with await open_store(url) as store:
        out = set()
        for d in ("veh-0", "veh-1", "veh-2", "veh-3", "veh-4", "veh-5"):
            out |= {(d, b.batch_seq) for b in await store.batches_between(d, -(2**62), 2**62)}
        return out


def _keys(batches: list[SealedBatch]) -> set[tuple[str, int]]:
    return {(b.signed.header.device_id, b.signed.header.batch_seq) for b in batches}


@pytest.fixture
async def url(pg: PgCluster) -> str:
    u = pg.new_database()
    async with await open_store(u):  # migrate once, before processes race to
        pass
    return u


async def test_a_killed_member_holds_no_batches(
    mqtt_broker: MosquittoBroker, url: str, tmp_path: Path, records: list[bytes]
) -> None:
    """kill -9 of one of two members: every batch published after the kill is stored by
    the survivor within two receipt timeouts (none waits in the dead member's session)."""
    cfgs = {n: _config(tmp_path, mqtt_broker, n, url) for n in ("a", "b")}
    fleet = Fleet(mqtt_broker, 4, Settings.load(cfgs["a"]).receipt_signer().public)
    await fleet.enrol(url)
    collectors = Collectors(tmp_path)
    try:
        for name, cfg in cfgs.items():
            collectors.start(name, cfg)
        await asyncio.sleep(1.0)  # both SUBACKed
        warm = fleet.seal(2, records)
        assert await asyncio.to_thread(fleet.deliver, warm, 20) == set()
        collectors.kill("a")
        after = fleet.seal(6, records)
        late = await asyncio.to_thread(fleet.deliver, after, 2 * RECEIPT_TIMEOUT_S)
        assert late == set(), collectors.log("b")
        assert _keys(warm + after) <= await _stored(url)
    finally:
        collectors.close()
        fleet.close()


def _pg_exec(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


async def test_a_member_whose_database_session_is_terminated_leaves_and_comes_back(
    mqtt_broker: MosquittoBroker, url: str, pg: PgCluster, tmp_path: Path, records: list[bytes]
) -> None:
    """pg_terminate_backend of a's session while a may not log in: a leaves the group (b
    stores everything within two receipt timeouts); once it may log in again a reconnects
    and rejoins (with b killed, a alone stores everything)."""
    for role in ("ra", "rb"):
        _pg_exec(pg.dsn, f"CREATE ROLE {role} LOGIN SUPERUSER")
    role_url = {n: url.replace("postgres@", f"r{n}@") for n in ("a", "b")}
    cfgs = {n: _config(tmp_path, mqtt_broker, n, role_url[n]) for n in ("a", "b")}
    fleet = Fleet(mqtt_broker, 4, Settings.load(cfgs["a"]).receipt_signer().public)
    await fleet.enrol(url)
    collectors = Collectors(tmp_path)
    try:
        for name, cfg in cfgs.items():
            collectors.start(name, cfg)
        await asyncio.sleep(1.0)
        warm = fleet.seal(2, records)
        assert await asyncio.to_thread(fleet.deliver, warm, 20) == set()
        _pg_exec(pg.dsn, "ALTER ROLE ra NOLOGIN")
        _pg_exec(
            pg.dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'ra'"
        )
        during = fleet.seal(6, records)
        late = await asyncio.to_thread(fleet.deliver, during, 2 * RECEIPT_TIMEOUT_S)
        assert late == set(), collectors.log("a")
        assert "leaving the shared group" in collectors.log("a")
        _pg_exec(pg.dsn, "ALTER ROLE ra LOGIN")
        deadline = time.monotonic() + 20
        while "rejoining the shared group" not in collectors.log("a"):
            assert time.monotonic() < deadline, collectors.log("a")
            await asyncio.sleep(0.2)
        collectors.kill("b")
        after = fleet.seal(4, records)
        late = await asyncio.to_thread(fleet.deliver, after, 2 * RECEIPT_TIMEOUT_S)
        assert late == set(), collectors.log("a")
        assert _keys(warm + during + after) <= await _stored(url)
    finally:
        collectors.close()
        fleet.close()


async def test_a_backlog_is_stored_without_receipt_stalls(
    mqtt_broker: MosquittoBroker,
    url: str,
    tmp_path: Path,
    records: list[bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """600 batches wait in the broker while the (lone, persistent-session) collector is
    down; started, it stores them all and every receipt's PUBACK is read in time (paho's
    network thread is never blocked on a full ingest queue)."""
    settings = Settings.load(_config(tmp_path, mqtt_broker, "solo", url, group=None))
    fleet = Fleet(mqtt_broker, 6, settings.receipt_signer().public)
    await fleet.enrol(url)
    try:
        async with Collector.open(settings) as c:  # the broker learns the session
            assert c.mqtt is not None
            await c.mqtt.wait_connected()
        backlog = fleet.seal(100, records)
        for b in backlog:
            await asyncio.to_thread(fleet.publish, b, True)
        caplog.set_level(logging.WARNING, logger="collector.ingest.mqtt")
        async with Collector.open(settings) as c:
            task = asyncio.create_task(c.run())
            deadline = time.monotonic() + 60
            while len(await _stored(url)) < len(backlog) and time.monotonic() < deadline:
                assert not task.done(), task
                await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert _keys(backlog) <= await _stored(url)
        stalls = [r.getMessage() for r in caplog.records if "not acknowledged" in r.getMessage()]
        assert stalls == []
    finally:
        fleet.close()


async def test_copies_of_one_config_are_distinct_members(
    mqtt_broker: MosquittoBroker, url: str, tmp_path: Path, records: list[bytes]
) -> None:
    """Two processes from copies of one file with no client_id, each with its own
    certificate (deploy/compose/collector.toml): distinct client ids, so neither knocks the
    other off the broker, and both ingest."""
    cfgs = {}
    for n in ("one", "two"):
        cfgs[n] = _config(tmp_path, mqtt_broker, n, url)
        cfgs[n].write_text(cfgs[n].read_text().replace(f'client_id = "collector-{n}"\n', ""))
    fleet = Fleet(mqtt_broker, 4, Settings.load(cfgs["one"]).receipt_signer().public)
    await fleet.enrol(url)
    collectors = Collectors(tmp_path)
    try:
        collectors.start("one", cfgs["one"])
        collectors.start("two", cfgs["two"])
        await asyncio.sleep(1.0)
        batches = fleet.seal(6, records)
        assert await asyncio.to_thread(fleet.deliver, batches, 2 * RECEIPT_TIMEOUT_S) == set()
        assert all(p.poll() is None for p in collectors.procs.values())
        assert "already connected" not in mqtt_broker.log_text()
        assert mqtt_broker.log_text().count("New client connected") >= 2 + 4
    finally:
        collectors.close()
        fleet.close()


async def test_batches_reordered_across_members_open_no_gap_but_a_missing_one_does(
    mqtt_broker: MosquittoBroker, url: str, tmp_path: Path, records: list[bytes]
) -> None:
    """Bursts of consecutive batches spread over two members commit out of order: no gap
    record for that (a gap means data is missing), while a batch never sent is a gap once
    the grace (2 s here) has passed."""
    grace = 2.0
    top = f"gap_grace_s = {grace}\n"
    cfgs = {n: _config(tmp_path, mqtt_broker, n, url, top=top) for n in ("a", "b")}
    fleet = Fleet(mqtt_broker, 2, Settings.load(cfgs["a"]).receipt_signer().public)
    await fleet.enrol(url)
    collectors = Collectors(tmp_path)
    try:
        for name, cfg in cfgs.items():
            collectors.start(name, cfg)
        await asyncio.sleep(1.0)
        batches = fleet.seal(40, records)
        missing = next(b for b in batches if b.signed.header.device_id == "veh-1"
                       and b.signed.header.batch_seq == 20)  # fmt: skip
        sent = [b for b in batches if b is not missing]
        assert await asyncio.to_thread(fleet.deliver, sent, 20) == set()
        await asyncio.sleep(grace + 1.0)  # the leader confirms holes every 0.2 s
        async with await open_store(url) as store:
            assert await store.gaps("veh-0", open_only=False) == []
            gaps = await store.gaps("veh-1", open_only=False)
            assert [(g.first_seq, g.last_seq, g.closed_utc_ns) for g in gaps] == [(20, 20, None)]
    finally:
        collectors.close()
        fleet.close()


async def test_a_terminated_leader_session_reconnects_as_a_follower(url: str) -> None:
    """pg_terminate_backend of the leader's session ends its advisory lock: the store
    reconnects at its next transaction and no longer claims the lead another one won."""
    async with await open_store(url) as a, await open_store(url) as b:
        assert await a.lead() and not await b.lead()
        _pg_exec(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            f"AND pid <> {await _backend_pid(b)}",
        )
        with pytest.raises(Unreachable):
            await a.log_size()  # the transaction that finds the session gone
        assert await b.lead()
        assert not await a.lead()  # reconnected, and follows
        assert await a.log_size() == await b.log_size()


async def _backend_pid(store: Store) -> int:
    async with store.transaction() as tx:
        row = await tx.one("SELECT pg_backend_pid()")
    assert row is not None
    return int(row[0])
