"""Clock honesty of the agent (issue 14 §1): a slow commit is not a clock step, and the
agent's events during a replay carry the clock they were read from, not REPLAY."""

from __future__ import annotations

import threading
import time

import pytest

from edge_agent import config
from edge_agent.agent import Agent
from notary_core.batch import SealedBatch
from notary_core.records import AgentEvent, ClockSource, EventType, Kind, Record, decode
from tests.edge.kit import GIULIA, Device, replay_source
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = pytest.mark.integration


def _run(
    dev: Device, broker: MosquittoBroker, seconds: float, slow_commit_s: float = 0.0
) -> tuple[list[Record], ClockSource]:
    """Run the agent in-process (in its own thread, where SQLite wants it) on a replay."""
    cfg = config.load(
        dev.config(broker, replay_source(GIULIA, "recorded"), batch={"window_s": 0.2})
    )
    stop, made = threading.Event(), threading.Event()
    box: list[Agent] = []

    def main() -> None:
        agent = Agent(cfg)
        box.append(agent)
        commit = agent.spool.commit

        def slow(*args: object, **kw: object) -> object:
            time.sleep(slow_commit_s)  # an SD card under load
            return commit(*args, **kw)  # type: ignore[arg-type]

        agent.spool.commit = slow  # type: ignore[method-assign]
        made.set()
        agent.run(stop)

    t = threading.Thread(target=main)
    t.start()
    assert made.wait(10)
    time.sleep(seconds)
    stop.set()
    t.join(timeout=30)
    agent = box[0]
    spool = type(agent.spool)(cfg.spool_path, 1 << 30, 0, readonly=True)
    out = []
    for (payload,) in spool._db.execute("SELECT payload FROM batch ORDER BY seq"):
        out += [decode(r) for r in SealedBatch.from_bytes(payload).verify(agent.signer.public)]
    spool.close()
    return out, agent.clock


def test_a_slow_commit_is_not_a_clock_step(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, _resp = setup
    records, _clock = _run(dev, broker, 3.0, slow_commit_s=0.3)  # 3x the step threshold
    assert sum(r.kind == Kind.CAN for r in records) > 1000
    steps = [
        r
        for r in records
        if isinstance(r.body, AgentEvent) and r.body.event == EventType.CLOCK_STEP
    ]
    assert steps == []


def test_events_during_a_replay_carry_the_system_clock(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, _resp = setup
    records, clock = _run(dev, broker, 2.0)
    now = time.time_ns()
    can = [r for r in records if r.kind == Kind.CAN]
    events = [r for r in records if r.kind == Kind.EVENT]
    assert can and all(r.clock == ClockSource.REPLAY for r in can)
    assert all(r.utc_ns < now - 365 * 86400 * 10**9 for r in can)  # the 2018 drive
    assert events and any(
        isinstance(r.body, AgentEvent) and r.body.event == EventType.AGENT_START for r in events
    )
    for r in events:  # read from the system clock, and labelled with it
        assert r.clock == clock != ClockSource.REPLAY
        assert abs(r.utc_ns - now) < 60 * 10**9
