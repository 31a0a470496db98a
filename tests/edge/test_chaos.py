"""The fault campaign kept as a test (issue 16 §1): random kill -9 of the agent and of the
real collector, against real mosquitto (mTLS + ACL), judged from the collector's store.

32 kills at random instants (seeded), then one clean run that delivers the backlog. Every
batch the agent ever sealed must be stored exactly once (no loss, no duplicate in the
log), the chain unbroken (no gap, nothing quarantined: no fork). Bounded: ~2 minutes.
Each agent start draws its wire encoding (protocol §5.1: compressed envelope or bare, the
clean run compressed), so a batch published in one and re-sent in the other after a kill
must still be one batch (a REPLAY, never a FORK), at no extra cost to the campaign.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from collector.settings import Settings, write_key
from collector.store.open import open_store
from edge_agent.spool import Spool
from tests.collector.fleet import logged_entries
from tests.edge.kit import GIULIA, Device, provision, replay_source, start_agent
from tests.infra.mqtt_broker import MosquittoBroker, running_broker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KILLS = 32
BUDGET_S = 300


def _collector_config(tmp: Path, broker: MosquittoBroker) -> Path:
    creds = broker.credentials("collector")
    write_key(tmp / "collector.key")
    cfg = tmp / "collector.toml"
    cfg.write_text(
        f'store = "sqlite:///{tmp / "c.db"}"\nkey_file = "collector.key"\n'
        f'origin = "collector.test/log"\ncheckpoint_interval_s = 0.5\n\n[mqtt]\n'
        f'host = "{broker.host}"\nport = {broker.port}\nca_cert = "{creds.ca}"\n'
        f'cert = "{creds.cert}"\nkey = "{creds.key}"\n',
        encoding="utf-8",
    )
    return cfg


def _start_collector(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "vnotary"
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(exe), "collector", "run", "--config", str(cfg)], stdout=out, stderr=out
        )


async def _register(settings: Settings, dev: Device) -> None:
    async with await open_store(settings.store) as store:
        await store.add_device_key(
            dev.device_id, dev.public.spki(), dev.public.kid, 0, None, time.time_ns()
        )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_random_kills_of_agent_and_collector_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    t0 = time.monotonic()
    rng = random.Random(16)
    with running_broker(tmp_path / "broker") as broker:
        dev = provision(tmp_path, broker)
        ccfg = _collector_config(tmp_path, broker)
        settings = Settings.load(ccfg)
        (dev.dir / "collector.pub").write_bytes(
            settings.signing_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        asyncio.run(_register(settings, dev))
        alog, clog = dev.dir / "agent.log", tmp_path / "collector.log"
        wire = random.Random(17)  # apart from `rng`: the kill schedule stays as it was
        starts = {"zlib": 0, "none": 0}

        def agent_config(source: str, **extra: object) -> Path:
            compress = str(extra.pop("compress", None) or wire.choice(["zlib", "none"]))
            starts[compress] += 1
            return dev.config(broker, source, mqtt={"compress": compress}, **extra)

        acfg = agent_config(replay_source(GIULIA, "recorded"), batch={"window_s": 0.1})
        collector, agent = _start_collector(ccfg, clog), start_agent(acfg, alog)
        kills = {"agent": 0, "collector": 0}
        try:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.3, 2.0))
                if rng.random() < 0.7:
                    _kill(agent)
                    acfg = agent_config(replay_source(GIULIA, "recorded"), batch={"window_s": 0.1})
                    agent = start_agent(acfg, alog)
                    kills["agent"] += 1
                else:
                    _kill(collector)
                    collector = _start_collector(ccfg, clog)
                    kills["collector"] += 1
            _kill(agent)
            acfg = agent_config(replay_source(GIULIA, "max"), exit_when_done=True, compress="zlib")
            agent = start_agent(acfg, alog)
            assert agent.wait(timeout=180) == 0, alog.read_text()[-3000:]
        finally:
            for p in (agent, collector):
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
                    p.wait(timeout=20)
    assert min(kills.values()) >= 5, kills
    assert min(starts.values()) >= 5, starts  # both encodings, across kills, on one chain
    spool = Spool(dev.dir / "spool.sqlite", 1 << 30, 0, readonly=True)
    sealed = spool.head().next_seq
    spool.close()
    stored, log_size, gaps, quarantined = asyncio.run(_store_view(settings, dev.device_id))
    assert stored == list(range(sealed)), "lost or out-of-chain batches"
    assert log_size == 1 + sealed  # the enrolment, then each batch exactly once
    assert gaps == []  # every gap a resend order opened was closed
    # a re-sent batch already stored is noted as REPLAY (and receipted STORED); nothing else
    assert [q for q in quarantined if q != "REPLAY"] == []  # no FORK, no CHAIN_BROKEN
    assert "ALARM" not in alog.read_text()
    assert time.monotonic() - t0 < BUDGET_S


async def _store_view(
    settings: Settings, device_id: str
) -> tuple[list[int], int, list[object], list[str]]:
    async with await open_store(settings.store) as store:
        batches = await store.batches_between(device_id, -(2**62), 2**62)
        return (
            [b.batch_seq for b in batches],
            await logged_entries(store),  # index leaves (one per checkpoint) not counted
            list(await store.gaps(device_id, open_only=True)),
            [q.reason for q in await store.quarantined()],
        )
