"""Scale-out (issue 18): 1, 2 and 3 collectors on PostgreSQL and 1 on SQLite, one load.

One pre-sealed load through each, in one run; records/s, the ratios 2/1 and 3/1 (target:
2/1 >= 1.6), CPU per process, the log row lock's wait share and commit latency.

Real components throughout: mosquitto with mTLS and the shipped ACL (one certificate and
ACL block per collector), a PostgreSQL cluster with fsync, synchronous_commit and
full_page_writes on (production's settings, not the tests'), and real `vnotary collector
run` processes in one MQTT v5 shared-subscription group, configured and started as
tests/collector/test_scale_failure.py does (its `_config`, `Collectors` and `Fleet`); the
SQLite collector runs as the embedded default: alone, with a persistent session (ended after
its run, or it would queue the next runs' load), WAL, synchronous=FULL. The load:
`--devices` devices, `--batches` batches each of `--records` real CAN records (comma2k19
RAV4, data/), sealed and serialised before anything runs. Each configuration gets a fresh
database and log key, stores one batch per device to warm up, then the rest is published as
fast as the devices' clients go; the clock stops at the last STORED receipt (each verified
under the log key).

How each figure is taken, over the timed window:
- CPU seconds: utime + stime from /proc/<pid>/stat, for each collector, its PostgreSQL
  backend (found by the application_name in its store URL), the other PostgreSQL processes
  (WAL writer, checkpointer, ...), mosquitto, and this process (the devices' clients);
  `others_cpu_s` is what every other process on the machine took meanwhile (/proc/stat),
  the noise of a shared machine: a run that others left less than two cores is slower for
  it, so compare runs with little of it (`--repeat` keeps each configuration's best).
- Lock wait: PostgreSQL logs every statement's duration (log_min_duration_statement = 0,
  parameters not logged). A collector takes the log's row lock with `SELECT size FROM
  tlog_meta WHERE id = 1 FOR UPDATE` (collector/store/postgres.py), so that statement's
  duration is the time it waited for the lock; the share is their sum over the collectors'
  backends divided by (collectors x window).
- Commit latency: the logged duration of COMMIT (the WAL flush) for transactions that wrote,
  p50/p95. The store exposes no timing of its own (/metrics reads figures from the store).
  Statement logging costs PostgreSQL some CPU: `--no-statement-log` measures without it (no
  lock or commit figures then). Last line of output: one JSON object.

    python bench/bench_scale.py [--devices 8] [--batches 60] [--records 1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests/ (the shared infrastructure) is not installed

import psycopg  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402

from collector.settings import Settings  # noqa: E402
from notary_core import cose  # noqa: E402
from notary_core.receipt import ReceiptStatus, open_receipt  # noqa: E402
from tests.collector.fleet import load_can_records  # noqa: E402
from tests.collector.test_scale_failure import Collectors, Fleet, _config  # noqa: E402
from tests.datasets import DATA  # noqa: E402
from tests.infra.mqtt_broker import (  # noqa: E402
    MosquittoBroker,
    close_client,
    connect_client,
    running_broker,
)
from tests.infra.postgres import DURABLE, PgCluster, pg_cluster  # noqa: E402

NAMES = ("a", "b", "c")
SOLO = "solo"
LOCK_SQL = "SELECT size FROM tlog_meta WHERE id = 1 FOR UPDATE"
PG_SETTINGS = {
    **DURABLE,
    "log_min_duration_statement": "0",
    "log_parameter_max_length": "0",
    "log_line_prefix": "%n|%p|%a|",
}
LOG_LINE = re.compile(
    r"^(\d+\.\d+)\|(\d+)\|([^|]*)\|LOG:  duration: ([\d.]+) ms  (statement|execute [^:]*): (.*)"
)
TICK = os.sysconf("SC_CLK_TCK")


START = time.monotonic()


def say(msg: str) -> None:
    print(f"[{time.monotonic() - START:6.1f} s] {msg}", file=sys.stderr, flush=True)


# -- CPU of processes ------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, CPU seconds) of a process, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
    return comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / TICK


def _children(ppid: int) -> dict[int, str]:
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))) is not None and st[1] == ppid:
            out[int(d.name)] = st[0]
    return out


def _cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {k: sum(st[2] for p in v if (st := _stat(p)) is not None) for k, v in pids.items()}


def _machine_busy() -> float:
    """CPU seconds every process on the machine has used (/proc/stat: all but idle, iowait)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK


# -- the PostgreSQL statement log ----------------------------------------------------------


@dataclass
class _Tx:
    wrote: bool = False
    ingest: bool = False  # stored batches (an ingest group), not the leader's checkpoint work


@dataclass
class LogFigures:
    lock_waits_ms: list[float] = field(default_factory=list)
    commits_ms: list[float] = field(default_factory=list)
    batches_by: dict[str, int] = field(default_factory=dict)
    ingest_tx: int = 0


def read_log(path: Path, offset: int, prefix: str, t0: float, t1: float) -> LogFigures:
    """Lock waits, write commits and batch inserts of the backends whose application_name
    starts with `prefix`, logged within [t0, t1] (epoch seconds)."""
    out, open_tx = LogFigures(), {}
    with path.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    for line in lines:
        m = LOG_LINE.match(line)
        if m is None or not m[3].startswith(prefix):
            continue
        at, pid, app, ms, sql = float(m[1]), m[2], m[3], float(m[4]), m[6].strip()
        tx = open_tx.setdefault(pid, _Tx())
        inside = t0 <= at <= t1
        if sql == "BEGIN":
            open_tx[pid] = _Tx()
        elif sql == "COMMIT":
            if tx.wrote and inside:
                out.commits_ms.append(ms)
                out.ingest_tx += tx.ingest
            open_tx[pid] = _Tx()
        elif sql.startswith(("INSERT", "UPDATE", "DELETE")):
            tx.wrote = True
            if sql.startswith("INSERT INTO batches") and inside:
                tx.ingest = True
                name = app.removeprefix(prefix)
                out.batches_by[name] = out.batches_by.get(name, 0) + 1
        elif sql == LOCK_SQL and inside:
            out.lock_waits_ms.append(ms)
    return out


def _pct(xs: list[float]) -> dict[str, float] | None:
    if not xs:
        return None
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return {"p50": round(statistics.median(xs), 3), "p95": round(p95, 3)}


# -- one configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class Msg:
    device: str
    seq: int
    topic: str
    payload: bytes


@dataclass
class Load:
    warm: list[Msg]  # one batch per device
    timed: list[Msg]
    records: int  # in `timed`


def seal_load(fleet: Fleet, batches: int, per: int) -> Load:
    records = load_can_records(DATA, max(20_000, 4 * per))
    out: list[Msg] = []
    for j in range(batches + 1):  # round 0 warms up
        for i, d in enumerate(fleet.devices):
            at = (i * 997 + j * per) % (len(records) - per)
            sealed = d.seal(records[at : at + per])
            topic = f"vn/v1/dev/{d.device_id}/batch"
            out.append(Msg(d.device_id, sealed.signed.header.batch_seq, topic, sealed.to_bytes()))
    n = len(fleet.devices)
    return Load(out[:n], out[n:], batches * n * per)


def deliver(
    fleet: Fleet, key: cose.PublicKey, msgs: list[Msg], timeout: float
) -> tuple[float, float]:
    """Publish every message once; return (seconds until the broker acknowledged the last,
    seconds until the last STORED receipt)."""
    while not fleet.receipts.empty():
        fleet.receipts.get_nowait()
    want = {(m.device, m.seq) for m in msgs}
    start = time.perf_counter()
    infos = []
    for m in msgs:
        infos.append(fleet.clients[m.device].publish(m.topic, m.payload, qos=1))
    acked: list[float] = []

    def wait_acks() -> None:
        for info in infos:
            info.wait_for_publish(timeout)
        acked.append(time.perf_counter() - start)

    waiter = threading.Thread(target=wait_acks, daemon=True)
    waiter.start()
    stored: set[tuple[str, int]] = set()
    last = start
    while len(stored) < len(want):
        left = timeout - (time.perf_counter() - start)
        if left <= 0:
            raise TimeoutError(f"{len(want - stored)} of {len(want)} batches not stored")
        try:
            raw = fleet.receipts.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        r = open_receipt(raw, key)
        k = (r.device_id, r.batch_seq)
        if r.status == ReceiptStatus.STORED and k in want and k not in stored:
            stored.add(k)
            last = time.perf_counter()
    waiter.join(timeout)
    return (acked[0] if acked else float("nan")), last - start


class Bench:
    def __init__(
        self, args: argparse.Namespace, tmp: Path, broker: MosquittoBroker, pg: PgCluster
    ) -> None:
        self.args, self.tmp, self.broker, self.pg = args, tmp, broker, pg
        dummy = cose.Signer.from_key(ed25519.Ed25519PrivateKey.generate()).public
        self.fleet = Fleet(broker, args.devices, dummy)  # receipts: verified in `deliver`
        self.runs = 0
        self.mosquitto = [p for p, comm in _children(os.getpid()).items() if comm == "mosquitto"]

    def _cfg(self, d: Path, name: str, url: str, group: str | None) -> Path:
        cfg = _config(d, self.broker, name, url, group=group)
        text = cfg.read_text()
        assert "checkpoint_interval_s = 0.2\n" in text, text
        interval = f"checkpoint_interval_s = {self.args.checkpoint_interval}\n"
        cfg.write_text(text.replace("checkpoint_interval_s = 0.2\n", interval))
        return cfg

    async def run(self, load: Load, n: int, store: str) -> dict[str, object]:
        self.runs += 1
        tag = "collector-"  # each instance's application_name (test_scale_failure._config)
        d = self.tmp / f"run{self.runs}"
        d.mkdir()
        if store == "postgresql":
            url = self.pg.new_database()
            names = NAMES[:n]
            urls = {m: url for m in names}
            group: str | None = f"bench{self.runs}"
        else:
            url = f"sqlite:///{d / 'collector.db'}"
            names = (SOLO,)
            urls, group = {SOLO: url}, None  # the embedded default: alone, persistent session
        await self.fleet.enrol(url)  # migrates once, before processes race to
        cfgs = {m: self._cfg(d, m, urls[m], group) for m in names}
        key = Settings.load(cfgs[names[0]]).receipt_signer().public
        collectors = Collectors(d)
        log_at = self.pg.log.stat().st_size
        try:
            await asyncio.to_thread(collectors.start, cfgs)
            say(f"  {n} collector(s) on {store}: started, warming up")
            await asyncio.sleep(1.0)  # subscribed (SUBACK) before the warm-up
            await asyncio.to_thread(deliver, self.fleet, key, load.warm, self.args.timeout)
            pids = {f"collector-{m}": [collectors.procs[m].pid] for m in names}
            if store == "postgresql":
                with psycopg.connect(url) as conn:
                    rows = conn.execute(
                        "SELECT application_name, pid FROM pg_stat_activity "
                        "WHERE application_name LIKE %s AND datname = current_database()",
                        (tag + "%",),
                    ).fetchall()
                for app, pid in rows:
                    pids.setdefault(f"pg-backend-{app.removeprefix(tag)}", []).append(pid)
            pids["mosquitto"] = self.mosquitto
            cpu0, me0, busy0 = _cpu(pids), os.times(), _machine_busy()
            pg_other0 = self._pg_other(pids)
            wall0 = time.time()
            say(f"  {n} collector(s) on {store}: publishing {len(load.timed)} batches")
            acked_s, seconds = await asyncio.to_thread(
                deliver, self.fleet, key, load.timed, self.args.timeout
            )
            wall1 = wall0 + seconds
            cpu1, me1, busy1 = _cpu(pids), os.times(), _machine_busy()
            pg_other1 = self._pg_other(pids)
        finally:
            say(f"  {n} collector(s) on {store}: stopping")
            collectors.close()
            if group is None:  # end its persistent session: it would queue the next runs' load
                close_client(connect_client(self.broker, f"collector-{SOLO}"))
        cpu = {k: round(cpu1[k] - cpu0[k], 2) for k in pids}
        if store == "postgresql":
            cpu["pg-other"] = round(sum(v - pg_other0.get(p, 0.0) for p, v in pg_other1.items()), 2)
        cpu["bench"] = round(me1.user + me1.system - me0.user - me0.system, 2)
        ours = sum(cpu.values())
        collectors_s = sum(v for k, v in cpu.items() if k.startswith("collector-"))
        out: dict[str, object] = {
            "collectors": n,
            "store": store,
            "seconds": round(seconds, 2),
            "broker_acked_s": round(acked_s, 2),
            "records_per_s": round(load.records / seconds),
            "batches_per_s": round(len(load.timed) / seconds, 1),
            "cpu_s": cpu,
            "cpu_s_total": round(ours, 2),
            "records_per_cpu_s": round(load.records / ours),  # what a record costs, all told
            "collector_cores": round(collectors_s / seconds, 2),  # 1.0: one core all along
            # CPU that other jobs on the machine took meanwhile (a shared machine's noise)
            "others_cpu_s": round(max(0.0, busy1 - busy0 - ours), 2),
        }
        if store == "postgresql" and self.args.statement_log:
            fig = read_log(self.pg.log, log_at, tag, wall0, wall1)
            out["lock_wait_share"] = round(sum(fig.lock_waits_ms) / 1000 / (n * seconds), 4)
            out["lock_wait_ms"] = _pct(fig.lock_waits_ms)
            out["commit_ms"] = _pct(fig.commits_ms)
            out["write_commits"] = len(fig.commits_ms)
            out["ingest_commits"] = fig.ingest_tx
            out["batches_per_ingest_commit"] = round(len(load.timed) / max(1, fig.ingest_tx), 1)
            out["batches_by_collector"] = fig.batches_by
            if set(fig.batches_by) != set(names):
                say(f"  warning: not every collector stored batches: {fig.batches_by}")
        return out

    def _pg_other(self, pids: dict[str, list[int]]) -> dict[int, float]:
        """CPU seconds of the PostgreSQL processes that are not the collectors' backends."""
        mine = {p for k, v in pids.items() if k.startswith("pg-backend-") for p in v}
        pg = [self.pg.postmaster_pid, *_children(self.pg.postmaster_pid)]
        return {p: st[2] for p in pg if p not in mine and (st := _stat(p)) is not None}


async def bench(
    args: argparse.Namespace, tmp: Path, broker: MosquittoBroker, pg: PgCluster
) -> dict[str, object]:
    with psycopg.connect(pg.dsn) as conn:
        durable = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in DURABLE}  # type: ignore[index]
    assert all(v == "on" for v in durable.values()), durable
    b = Bench(args, tmp, broker, pg)
    try:
        say(f"sealing {args.devices} x {args.batches + 1} batches of {args.records} records")
        load = seal_load(b.fleet, args.batches, args.records)
        configs = [(1, "postgresql"), (2, "postgresql"), (3, "postgresql"), (1, "sqlite")]
        rounds: dict[str, list[dict[str, object]]] = {}
        for r in range(args.repeat):
            say(f"round {r + 1} of {args.repeat}")
            for n, store in configs if r % 2 == 0 else configs[::-1]:  # no place is favoured
                res = await b.run(load, n, store)
                say(f"  -> {res['records_per_s']:,} records/s in {res['seconds']} s")
                rounds.setdefault(f"{store}_{n}", []).append(res)
    finally:
        b.fleet.close()
    best = {k: max(v, key=lambda x: x["records_per_s"]) for k, v in rounds.items()}  # type: ignore[arg-type, return-value]
    rate = {k: float(v["records_per_s"]) for k, v in best.items()}  # type: ignore[arg-type]
    ratio21 = rate["postgresql_2"] / rate["postgresql_1"]
    return {
        "devices": args.devices,
        "batches": args.devices * args.batches,
        "records_per_batch": args.records,
        "records": load.records,
        "repeat": args.repeat,
        "checkpoint_interval_s": args.checkpoint_interval,
        "statement_log": args.statement_log,
        "postgresql": durable,
        "ratio_2_1": round(ratio21, 2),
        "ratio_3_1": round(rate["postgresql_3"] / rate["postgresql_1"], 2),
        "sqlite_over_postgresql_1": round(rate["sqlite_1"] / rate["postgresql_1"], 2),
        "target_2_1": 1.6,
        "met": ratio21 >= 1.6,
        "records_per_s_rounds": {k: [x["records_per_s"] for x in v] for k, v in rounds.items()},
        "runs": best,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=8, help="devices (one MQTT client each)")
    ap.add_argument("--batches", type=int, default=60, help="timed batches per device")
    ap.add_argument("--records", type=int, default=1000, help="CAN records per batch")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of all four (best kept)")
    ap.add_argument(
        "--checkpoint-interval",
        type=float,
        default=1.0,
        help="checkpoint_interval_s (production's)",
    )
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds a load may take")
    ap.add_argument(
        "--no-statement-log",
        dest="statement_log",
        action="store_false",
        help="PostgreSQL logs no statement durations (then no lock and commit figures)",
    )
    args = ap.parse_args()
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started as a background job (`cmd &`): SIGINT is ignored, and the collectors would
        # inherit that and ignore the SIGINT that stops them (then a kill after 10 s each).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    load0 = os.getloadavg()
    settings = PG_SETTINGS if args.statement_log else DURABLE
    certs = tuple(f"collector-{n}" for n in (*NAMES, SOLO))
    with (
        tempfile.TemporaryDirectory(prefix="vn-scale-") as d,
        running_broker(Path(d), collectors=certs) as broker,
        pg_cluster(settings) as pg,
    ):
        out = asyncio.run(bench(args, Path(d), broker, pg))
    out["loadavg_before"] = [round(x, 2) for x in load0]
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    for k, v in out.items():
        if k != "runs":
            print(f"{k:>26}: {v}")
    for k, v in out["runs"].items():  # type: ignore[attr-defined]
        print(f"{k:>26}: {v}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
