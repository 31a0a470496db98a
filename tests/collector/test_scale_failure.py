"""Several collectors in one MQTT v5 shared-subscription group on one PostgreSQL store, under
failure (issue 18): the leader or a follower killed with -9 under load, a member (the
leader) whose database session is terminated under load, and a backlog of 1,000 batches
waiting in the broker. Real mosquitto, real PostgreSQL, real `vnotary collector run`
processes, anchoring on a real anvil node; the test plays the agents (re-send what has no
receipt RECEIPT_TIMEOUT_S after its last send, as the edge agent's spool does).

After every failure: every batch is stored exactly once (one row per (device, batch_seq),
one log leaf per row), every consecutive pair of checkpoints is consistent (RFC 9162 proofs
from the store, notes under the one log key), and the anchors are one linear chain on the
contract. The stated times (docs/collector.md § Several collectors): every batch is stored
within two receipt timeouts of its first send, the surviving member holds the leader lock
within TAKEOVER_S of the failure, and every batch is in a checkpoint signed within two
receipt timeouts + TAKEOVER_S of its first send."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import queue
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from collector.log.anchor_evm import EvmAnchor, deploy_at
from collector.service import Collector
from collector.settings import Settings, write_key, write_private
from collector.store.base import Store
from collector.store.open import open_store
from collector.store.postgres import LEADER_LOCK
from notary_core import anchoring, cose, merkle
from notary_core.batch import SealedBatch
from notary_core.checkpoint import NoteVerifier, open_checkpoint
from notary_core.errors import Unreachable
from notary_core.logleaf import BatchLeaf, LeafType
from notary_core.receipt import ReceiptStatus, open_receipt
from tests.collector.fleet import T0, Device
from tests.infra.anvil import DEV_KEY, Anvil, anvil_node
from tests.infra.mqtt_broker import MosquittoBroker, close_client, connect_client, running_broker
from tests.infra.postgres import PgCluster

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORIGIN = "collector.test/log"
RECEIPT_TIMEOUT_S = 4.0
CHECKPOINT_INTERVAL_S = 0.2
TAKEOVER_S = CHECKPOINT_INTERVAL_S + 1.0
"""The stated takeover: PostgreSQL ends a dead member's session at once (the kernel closes
its socket), and a follower tries `lead()` every checkpoint interval; the second is for
the try's transaction and the checkpoint it then signs on a loaded machine."""
LOAD_RATE = 25.0  # batches per second, over all devices, while a member fails
GROUP = "collectors"
# The broker makes each client's id its certificate CN (no client takes over another's
# session), so every instance has its own certificate and ACL block (docs/collector.md).
INSTANCES = ("a", "b", "solo", "one", "two")
Key = tuple[str, int]


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with running_broker(tmp_path, collectors=tuple(f"collector-{n}" for n in INSTANCES)) as b:
        yield b


@dataclass(frozen=True)
class Chain:
    """A real anvil node with the anchor contract deployed; `toml` is the [anchor] table."""

    node: Anvil
    address: str
    toml: str


@pytest.fixture
async def chain(tmp_path: Path) -> AsyncIterator[Chain]:
    with anvil_node() as node:
        address, start = await deploy_at(node.url, DEV_KEY)
        write_private(tmp_path / "eth.key", DEV_KEY.encode())
        toml = (
            f'[anchor]\nrpc_url = "{node.url}"\ncontract = "{address}"\nstart_block = {start}\n'
            'key_file = "eth.key"\ninterval_s = 1.0\nconfirmations = 1\npoll_s = 0.2\n'
        )
        yield Chain(node, address, toml)


def _config(
    tmp: Path,
    broker: MosquittoBroker,
    name: str,
    url: str,
    group: str | None = GROUP,
    top: str = "",
    tail: str = "",
) -> Path:
    """collector.toml of one instance: its own certificate and client id, a copy of the one
    collector key; its database session is named `collector-<name>` (application_name), so
    the test sees who holds the leader lock."""
    creds = broker.credentials(f"collector-{name}")
    key = tmp / "collector.key"
    if not key.exists():
        write_key(key)
    shutil.copy(key, tmp / f"{name}.key")  # every instance holds a copy of the log key
    cfg = tmp / f"{name}.toml"
    shared = f'shared_group = "{group}"\n' if group else ""
    pg = url.startswith(("postgresql:", "postgres:"))
    store = f"{url}?application_name=collector-{name}" if pg else url
    cfg.write_text(
        f'store = "{store}"\nkey_file = "{name}.key"\norigin = "{ORIGIN}"\n'
        f"checkpoint_interval_s = {CHECKPOINT_INTERVAL_S}\n{top}\n[mqtt]\n"
        f'host = "{broker.host}"\nport = {broker.port}\nca_cert = "{creds.ca}"\n'
        f'cert = "{creds.cert}"\nkey = "{creds.key}"\nclient_id = "collector-{name}"\n{shared}'
        f"\n{tail}",
        encoding="utf-8",
    )
    return cfg


class Collectors:
    """`vnotary collector run` processes; stderr (the log) kept per instance."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, cfgs: dict[str, Path]) -> None:
        """Start these instances together; return once each one's loops run."""
        exe = Path(sys.executable).parent / "vnotary"
        for name, cfg in cfgs.items():
            err = (self.tmp / f"{name}.log").open("ab")
            self.procs[name] = subprocess.Popen(
                [str(exe), "collector", "run", "--config", str(cfg)],
                stdout=subprocess.PIPE,
                stderr=err,
            )
            err.close()
        for name in cfgs:
            out = self.procs[name].stdout
            assert out is not None
            assert out.readline() == b"collector running\n", self.log(name)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """Every instance's log, the killed ones' too."""
        return "\n".join(f"--- {n}\n{self.log(n)}" for n in INSTANCES if self.log(n))

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


def _key(b: SealedBatch) -> Key:
    return b.signed.header.device_id, b.signed.header.batch_seq


class Fleet:
    """Devices with one MQTT client each, publishing batches and collecting receipts."""

    def __init__(self, broker: MosquittoBroker, n: int, key: cose.PublicKey) -> None:
        self.devices = [Device(f"veh-{i}") for i in range(n)]
        self.key = key
        self.receipts: queue.Queue[bytes] = queue.Queue()
        self.first_sent: dict[Key, float] = {}  # time.time() of a batch's first send
        self.stored_at: dict[Key, float] = {}  # ... and of its STORED receipt
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

    def publish(self, b: SealedBatch) -> mqtt.MQTTMessageInfo:
        device = b.signed.header.device_id
        return self.clients[device].publish(f"vn/v1/dev/{device}/batch", b.to_bytes(), qos=1)

    def publish_acked(self, batches: list[SealedBatch]) -> None:
        """Publish and wait for the broker's PUBACK of each (it holds them all)."""
        for info in [self.publish(b) for b in batches]:
            info.wait_for_publish(10)

    def deliver(
        self, batches: list[SealedBatch], within: float, rate: float | None = None
    ) -> set[Key]:
        """Publish `batches` in order, all at once or `rate` per second (a load), and re-send
        each one that has no STORED receipt RECEIPT_TIMEOUT_S after its last send, for
        `within` seconds; return what is still unanswered. Times: first_sent, stored_at."""
        want = {_key(b): b for b in batches}
        order = list(want)
        resend: list[tuple[float, int, Key]] = []  # (due, position, key): a min-heap
        start = time.monotonic()
        sent = 0
        while want and time.monotonic() - start < within:
            now = time.monotonic()
            due = len(order) if rate is None else min(len(order), int((now - start) * rate) + 1)
            for k in order[sent:due]:
                self.first_sent[k] = time.time()
                self.publish(want[k])
                heapq.heappush(resend, (now + RECEIPT_TIMEOUT_S, sent, k))
                sent += 1
            while resend and resend[0][0] <= now:
                _, pos, k = heapq.heappop(resend)
                if k in want:
                    self.publish(want[k])
                    heapq.heappush(resend, (now + RECEIPT_TIMEOUT_S, pos, k))
            try:
                raw = self.receipts.get(timeout=0.01)
            except queue.Empty:
                continue
            while True:
                r = open_receipt(raw, self.key)
                k = (r.device_id, r.batch_seq)
                if r.status == ReceiptStatus.STORED and want.pop(k, None) is not None:
                    self.stored_at[k] = time.time()
                try:
                    raw = self.receipts.get_nowait()
                except queue.Empty:
                    break
        return set(want)

    def latency(self, keys: set[Key]) -> float:
        """The longest first send -> STORED receipt of these batches (s)."""
        return max(self.stored_at[k] - self.first_sent[k] for k in keys)

    def close(self) -> None:
        for c in self.clients.values():
            close_client(c)


@contextlib.asynccontextmanager
async def _group(
    tmp: Path,
    broker: MosquittoBroker,
    urls: dict[str, str],
    devices: int,
    top: str = "",
    tail: str = "",
) -> AsyncIterator[tuple[Collectors, Fleet]]:
    """Members `urls` (name -> store URL) of one shared group, started together, and a
    fleet of `devices`, enrolled. Yields once every member subscribed and one leads."""
    cfgs = {n: _config(tmp, broker, n, u, top=top, tail=tail) for n, u in urls.items()}
    fleet = Fleet(broker, devices, _receipt_key(cfgs))
    collectors = Collectors(tmp)
    try:
        await fleet.enrol(next(iter(urls.values())))
        collectors.start(cfgs)
        await asyncio.sleep(1.0)  # all SUBACKed
        await _lead_taken(next(iter(urls.values())), set(urls), 10)
        yield collectors, fleet
    finally:
        collectors.close()
        fleet.close()


def _receipt_key(cfgs: dict[str, Path]) -> cose.PublicKey:
    return Settings.load(next(iter(cfgs.values()))).receipt_signer().public


def _log_verifier(cfg: Path) -> NoteVerifier:
    return NoteVerifier.from_public("collector.test", Settings.load(cfg).signing_key().public_key())


def _pg_exec(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def _leader(url: str) -> str | None:
    """The member whose session holds the leader lock (by its application_name)."""
    rows = _pg_exec(
        url,
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        f"WHERE l.locktype = 'advisory' AND l.objid = {LEADER_LOCK} AND l.granted",
    )
    return str(rows[0][0]).removeprefix("collector-") if rows else None


async def _lead_taken(url: str, names: set[str], timeout_s: float) -> tuple[str, float]:
    """The member of `names` holding the leader lock, and the seconds until it did
    (asserting that one does within timeout_s)."""
    start = time.monotonic()
    while (leader := await asyncio.to_thread(_leader, url)) not in names:
        assert time.monotonic() - start < timeout_s, f"leader {leader}, not one of {names}"
        await asyncio.sleep(0.05)
    assert leader is not None
    return leader, time.monotonic() - start


async def _stored_once(url: str, batches: list[SealedBatch]) -> None:
    """Exactly these batches are stored, each once: one row per (device, batch_seq) (rows
    counted, not a set) and one batch leaf in the log per row, at the row's log index."""
    async with await open_store(url) as store, store.transaction() as tx:
        rows = await tx.all("SELECT device_id, batch_seq, log_index, header_hash FROM batches")
        leaves = await tx.all("SELECT idx, leaf FROM tlog_leaves")
    assert Counter((str(d), int(s)) for d, s, _, _ in rows) == Counter(map(_key, batches))
    logged = Counter(
        (int(i), BatchLeaf.from_leaf(bytes(leaf)))
        for i, leaf in leaves
        if bytes(leaf)[0] == LeafType.BATCH
    )
    assert logged == Counter((int(i), BatchLeaf(bytes(h), int(s), str(d))) for d, s, i, h in rows)


async def _consistent(url: str, verifier: NoteVerifier) -> list[tuple[int, int]]:
    """Once a checkpoint covers the whole log (waited for, 10 s at most): every checkpoint
    verifies under the one log key, every published one carries it, and
    each is consistent with the one before (RFC 9162 proofs from the store); the log's root
    at the newest one's size is its root. Returns (size, signed ns) of each."""
    async with await open_store(url) as store:
        deadline = time.monotonic() + 10
        while (cp := await store.latest_checkpoint()) is None or cp.size < await store.log_size():
            assert time.monotonic() < deadline, "no checkpoint covers the log"
            await asyncio.sleep(0.1)
        async with store.transaction() as tx:
            rows = await tx.all(
                "SELECT size, root, note, cosigned_note, signed_utc_ns FROM checkpoints "
                "ORDER BY size"
            )
        assert rows
        prev: tuple[int, bytes] | None = None
        for size, root, note, cosigned, _ in rows:
            for n in (note, cosigned):
                if n is not None:
                    cp = open_checkpoint(bytes(n), [verifier], ORIGIN)
                    assert (cp.size, cp.root) == (int(size), bytes(root))
            if prev is not None:
                proof = await store.consistency_proof(prev[0], int(size))
                merkle.verify_consistency(prev[0], int(size), prev[1], bytes(root), proof)
            prev = int(size), bytes(root)
        assert prev is not None and await store.log_root(prev[0]) == prev[1]
    return [(int(r[0]), int(r[4])) for r in rows]


def _covered(checkpoints: list[tuple[int, int]], index: int) -> float:
    """time.time() of the first checkpoint covering log index `index`."""
    return next(ns for size, ns in checkpoints if size > index) / 1e9


async def _checkpointed_within(url: str, fleet: Fleet, checkpoints: list[tuple[int, int]]) -> float:
    """The longest first send -> signed checkpoint covering it, over the fleet's batches."""
    async with await open_store(url) as store, store.transaction() as tx:
        rows = await tx.all("SELECT device_id, batch_seq, log_index FROM batches")
    return max(_covered(checkpoints, int(i)) - fleet.first_sent[(str(d), int(s))]
               for d, s, i in rows)  # fmt: skip


def _anchor_events(chain: Chain) -> list[anchoring.Event]:
    """The contract's Anchored events, oldest first."""
    logs = chain.node.rpc(
        "eth_getLogs", {"address": chain.address, "fromBlock": "0x0", "toBlock": "latest"}
    )
    return [
        anchoring.decode_event(
            anchoring.V2, [bytes.fromhex(t[2:]) for t in e["topics"]], bytes.fromhex(e["data"][2:])
        )
        for e in logs
    ]


async def _anchored_linearly(url: str, chain: Chain, timeout_s: float = 15) -> anchoring.Head:
    """Wait until the contract's head is the newest checkpoint; then every Anchored event
    extends the one before (from the empty head), each is a checkpoint of the log, and the
    last is the head, returned."""
    evm = await EvmAnchor.connect(chain.node.url, DEV_KEY, chain.address)
    try:
        async with await open_store(url) as store:
            deadline = time.monotonic() + timeout_s
            while True:
                cp = await store.latest_checkpoint()
                head = await evm.anchored()
                if cp is not None and head == anchoring.Head(cp.size, cp.root):
                    break
                assert time.monotonic() < deadline, (head, cp)
                await asyncio.sleep(0.2)
            events = _anchor_events(chain)
            at = anchoring.GENESIS
            for e in events:
                assert (e.prev_size, e.prev_root) == (at.size, at.root)
                assert e.size > at.size
                ours = await store.checkpoint_at(e.size)
                assert ours is not None and ours.root == e.root
                at = anchoring.Head(e.size, e.root)
            assert at == head
    finally:
        await evm.close()
    return head


@pytest.fixture
async def url(pg: PgCluster) -> str:
    u = pg.new_database()
    async with await open_store(u):  # migrate once, before processes race to
        pass
    return u


@pytest.mark.parametrize("victim", ["leader", "follower"])
async def test_kill_9_of_a_member_under_load(
    victim: str,
    mqtt_broker: MosquittoBroker,
    url: str,
    chain: Chain,
    tmp_path: Path,
    records: list[bytes],
) -> None:
    """kill -9 of the leader or of the follower 2 s into 6 s of load (25 batches/s
    from 4 devices), both anchoring every second on anvil: every batch is stored once
    within two receipt timeouts of its first send (none waits in the dead member's session),
    the survivor holds the lead within TAKEOVER_S of the kill and signs under the same log
    key, every batch is in a checkpoint signed within two receipt timeouts + TAKEOVER_S of
    its first send, checkpoints are consistent and the anchors are one linear chain,
    including those the new leader sends."""
    urls = {"a": url, "b": url}
    async with _group(tmp_path, mqtt_broker, urls, 4, tail=chain.toml) as (collectors, fleet):
        leader, _ = await _lead_taken(url, set(urls), 0)
        follower = "b" if leader == "a" else "a"
        dead, survivor = (leader, follower) if victim == "leader" else (follower, leader)
        batches = fleet.seal(int(6 * LOAD_RATE / 4), records)
        load = asyncio.create_task(
            asyncio.to_thread(fleet.deliver, batches, 6 + 3 * RECEIPT_TIMEOUT_S, LOAD_RATE)
        )
        await asyncio.sleep(2.0)
        size_at_kill = int(str(_pg_exec(url, "SELECT size FROM tlog_meta")[0][0]))
        collectors.kill(dead)
        _, takeover = await _lead_taken(url, {survivor}, TAKEOVER_S)
        assert await load == set(), collectors.logs()
        assert fleet.latency(set(fleet.first_sent)) <= 2 * RECEIPT_TIMEOUT_S
        await _stored_once(url, batches)
        checkpoints = await _consistent(url, _log_verifier(tmp_path / f"{survivor}.toml"))
        slowest = await _checkpointed_within(url, fleet, checkpoints)
        assert slowest <= 2 * RECEIPT_TIMEOUT_S + TAKEOVER_S, (slowest, takeover)
        head = await _anchored_linearly(url, chain)
        assert head.size > size_at_kill  # a checkpoint only the survivor signed
        assert _leader(url) == survivor


async def test_a_leader_whose_database_session_is_terminated_under_load_leaves_and_comes_back(
    mqtt_broker: MosquittoBroker,
    url: str,
    pg: PgCluster,
    chain: Chain,
    tmp_path: Path,
    records: list[bytes],
) -> None:
    """pg_terminate_backend of the leader's session 1 s into 5 s of load (25 batches/s),
    while it may not log in: it leaves the group (the other stores every batch within two
    receipt timeouts of its first send) and the other takes the lead within TAKEOVER_S;
    once it may log in again it reconnects and rejoins (with the other killed, it alone
    stores everything and leads again). Every batch once, checkpoints consistent, anchors
    linear."""
    for role in ("ra", "rb"):
        _pg_exec(pg.dsn, f"CREATE ROLE {role} LOGIN SUPERUSER")
    urls = {n: url.replace("postgres@", f"r{n}@") for n in ("a", "b")}
    async with _group(tmp_path, mqtt_broker, urls, 4, tail=chain.toml) as (collectors, fleet):
        cut, _ = await _lead_taken(url, set(urls), 0)
        other = "b" if cut == "a" else "a"
        during = fleet.seal(int(5 * LOAD_RATE / 4), records)
        load = asyncio.create_task(
            asyncio.to_thread(fleet.deliver, during, 5 + 3 * RECEIPT_TIMEOUT_S, LOAD_RATE)
        )
        await asyncio.sleep(1.0)
        _pg_exec(pg.dsn, f"ALTER ROLE r{cut} NOLOGIN")
        _pg_exec(
            pg.dsn,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'r{cut}'",
        )
        await _lead_taken(url, {other}, TAKEOVER_S)
        assert await load == set(), collectors.logs()
        assert fleet.latency(set(fleet.first_sent)) <= 2 * RECEIPT_TIMEOUT_S
        assert "leaving the shared group" in collectors.log(cut)
        _pg_exec(pg.dsn, f"ALTER ROLE r{cut} LOGIN")
        deadline = time.monotonic() + 20
        while "rejoining the shared group" not in collectors.log(cut):
            assert time.monotonic() < deadline, collectors.log(cut)
            await asyncio.sleep(0.2)
        collectors.kill(other)
        after = fleet.seal(4, records)
        late = await asyncio.to_thread(fleet.deliver, after, 2 * RECEIPT_TIMEOUT_S)
        assert late == set(), collectors.log(cut)
        await _lead_taken(url, {cut}, TAKEOVER_S)
        await _stored_once(url, during + after)
        await _consistent(url, _log_verifier(tmp_path / f"{cut}.toml"))
        await _anchored_linearly(url, chain)


BACKLOG_S = 20.0
"""The stated time for a backlog of 1,000 batches (16 groups of limits.GROUP_MAX_BATCHES):
4.4 s measured on 2 cores at a load average of 7.5; a receipt stall (the 10 s PUBACK
timeout of a group) twice would exceed it."""


async def test_a_backlog_of_1000_batches_is_stored_once_without_receipt_stalls(
    mqtt_broker: MosquittoBroker,
    url: str,
    tmp_path: Path,
    records: list[bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """1,000 batches wait in the broker while the (lone, persistent-session) collector is
    down; started, it stores them all, once, within BACKLOG_S, and every receipt's PUBACK
    is read in time (paho's network thread is never blocked on a full ingest queue)."""
    settings = Settings.load(_config(tmp_path, mqtt_broker, "solo", url, group=None))
    fleet = Fleet(mqtt_broker, 8, settings.receipt_signer().public)
    await fleet.enrol(url)
    try:
        async with Collector.open(settings) as c:  # the broker learns the session
            assert c.mqtt is not None
            await c.mqtt.wait_connected()
        backlog = fleet.seal(125, records)
        await asyncio.to_thread(fleet.publish_acked, backlog)
        caplog.set_level(logging.WARNING, logger="collector.ingest.mqtt")
        async with Collector.open(settings) as c:
            start = time.monotonic()
            task = asyncio.create_task(c.run())
            while await _stored_count(url) < len(backlog):
                assert time.monotonic() - start < BACKLOG_S
                assert not task.done(), task
                await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await _stored_once(url, backlog)
        stalls = [r.getMessage() for r in caplog.records if "not acknowledged" in r.getMessage()]
        assert stalls == []
    finally:
        fleet.close()


async def _stored_count(url: str) -> int:
    rows = await asyncio.to_thread(_pg_exec, url, "SELECT COUNT(*) FROM batches")
    return int(str(rows[0][0]))


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
    fleet = Fleet(mqtt_broker, 4, _receipt_key(cfgs))
    await fleet.enrol(url)
    collectors = Collectors(tmp_path)
    try:
        collectors.start(cfgs)
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
    async with _group(tmp_path, mqtt_broker, {"a": url, "b": url}, 2, top=top) as (_, fleet):
        batches = fleet.seal(40, records)
        missing = next(b for b in batches if _key(b) == ("veh-1", 20))
        sent = [b for b in batches if b is not missing]
        assert await asyncio.to_thread(fleet.deliver, sent, 20) == set()
        await asyncio.sleep(grace + 1.0)  # the leader confirms holes every 0.2 s
        async with await open_store(url) as store:
            assert await store.gaps("veh-0", open_only=False) == []
            gaps = await store.gaps("veh-1", open_only=False)
            assert [(g.first_seq, g.last_seq, g.closed_utc_ns) for g in gaps] == [(20, 20, None)]


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
