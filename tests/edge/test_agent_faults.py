"""Faults the agent must survive: kill -9 at random points, a broker outage under load."""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.datasets import read_text
from tests.edge.kit import GIULIA, Device, check_chain, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KILLS = 50


def _spool_next_seq(dev: Device) -> int:
    import sqlite3

    db = sqlite3.connect(dev.dir / "spool.sqlite")
    try:
        row = db.execute("SELECT value FROM meta WHERE key='head'").fetchone()
        return int(row[0].split(",")[0].strip("["))
    finally:
        db.close()


def test_kill_9_at_random_points_loses_no_sealed_batch(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    rng = random.Random(4)
    log = dev.dir / "agent.log"
    cfg = dev.config(
        broker, replay_source(GIULIA, "recorded"), batch={"window_s": 0.05, "max_records": 300}
    )
    for _ in range(KILLS):
        proc = start_agent(cfg, log)
        time.sleep(rng.uniform(0.4, 1.2))  # start-up, sealing, publishing, acking
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    sealed = _spool_next_seq(dev)
    assert sealed > KILLS  # batches were sealed in (nearly) every run
    # A last clean run delivers the backlog, then exits once every batch is receipted.
    cfg = dev.config(broker, replay_source(GIULIA, "max"), exit_when_done=True)
    proc = start_agent(cfg, log)
    assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
    batches = resp.chain()
    total = _spool_next_seq(dev)
    assert len(batches) == total >= sealed
    check_chain(batches, dev.public)  # every seq once, 0..n-1, unbroken hash chain
    assert not resp.errors


def test_broker_outage_under_load_loses_nothing(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    log = dev.dir / "agent.log"
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"), exit_when_done=True)
    proc = start_agent(cfg, log)
    try:
        time.sleep(3)
        broker.stop()
        time.sleep(4)
        broker.start()
        assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    batches = resp.chain()
    records = check_chain(batches, dev.public)
    frames = sum(1 for line in read_text(GIULIA).splitlines() if line.startswith("("))
    can_seen = sum(c.seen for k, c in batches[-1].signed.header.streams.items() if k != "agent")
    assert can_seen == frames and records >= frames
    assert "disconnected" in log.read_text()
    assert not resp.errors


def test_after_a_broker_restart_a_late_collector_gets_the_batches_soon(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    """The collector re-subscribes after the agent re-sent: probe re-sends (1 s, 2 s, ...)
    deliver them long before the 60 s receipt timeout (issue 16 §1)."""
    broker, dev, resp = setup
    log = dev.dir / "agent.log"
    cfg = dev.config(
        broker,
        replay_source(GIULIA, "recorded"),
        exit_when_done=True,
        mqtt={"receipt_timeout_s": 60},
    )
    proc = start_agent(cfg, log)
    try:
        time.sleep(3)
        resp.stop()
        broker.stop()
        time.sleep(1)
        broker.start()
        time.sleep(14)  # the agent reconnects and re-sends into a broker nobody listens to
        resp.start()
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check_chain(resp.chain(), dev.public)
    assert not resp.errors
