"""The agent's Prometheus metrics (issue 16 §4): off by default; with `[metrics] port` a
real agent on a real broker serves them, and they move: frames per stream, spool depth and
the oldest unacknowledged age while the collector does not answer, back to 0 once it does."""

from __future__ import annotations

import signal
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge_agent import config
from notary_core.errors import BadData
from tests.edge.kit import GIULIA, Device, provision, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker, free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_for(port: int, ok: Callable[[Samples], bool], log: Path, seconds: float = 30) -> Samples:
    deadline, last = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        try:
            last = scrape(port)
            if ok(last):
                return last
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"metrics never got there: {last}\n{log.read_text()[-3000:]}")


def test_metrics_are_off_by_default_and_the_port_is_checked(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "b")  # for its CA only; never started
    broker.port = 1
    dev = provision(tmp_path, broker)
    cfg = config.load(dev.config(broker, replay_source(GIULIA)))
    assert cfg.metrics.port is None and cfg.metrics.address == "127.0.0.1"
    path = dev.config(broker, replay_source(GIULIA), metrics={"port": 9108})
    assert config.load(path).metrics.port == 9108
    path.write_text(path.read_text().replace("port = 9108", "port = 70000"))
    with pytest.raises(BadData, match=r"metrics\.port"):
        config.load(path)


@pytest.mark.integration
def test_a_running_agent_serves_metrics_that_move(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    port = free_port()
    log = dev.dir / "agent.log"
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"), metrics={"port": port})
    resp.paused = True  # the collector is silent: batches stay unreceipted in the spool
    proc = start_agent(cfg, log)
    try:
        frames = ("vnotary_agent_frames_seen_total", (("stream", "can0"),))  # the log's channel
        depth, age = (
            ("vnotary_agent_spool_depth", ()),
            ("vnotary_agent_oldest_unacked_age_seconds", ()),
        )
        behind = wait_for(port, lambda s: s.get(frames, 0) > 0 and s[depth] >= 3
                          and s[age] >= 1, log)  # fmt: skip
        assert behind[("vnotary_agent_broker_connected", ())] == 1
        assert behind[("vnotary_agent_frames_dropped_total", (("stream", "can0"),))] == 0
        assert behind[("vnotary_agent_spool_unacked_bytes", ())] > 0
        assert behind[("vnotary_agent_spool_max_bytes", ())] > 0
        assert behind[("vnotary_agent_next_batch_seq", ())] >= behind[depth]
        assert "metrics on http://127.0.0.1:" in log.read_text()

        resp.paused = False  # the collector answers: re-sends are receipted, the spool drains
        drained = wait_for(port, lambda s: s[depth] == 0 and s[age] == 0, log, 60)
        assert drained[frames] >= behind[frames]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()[-3000:]
    with pytest.raises(OSError):
        scrape(port)  # the server stopped with the agent


def test_a_busy_metrics_port_is_a_start_up_error_that_changes_nothing(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "b")  # for its CA only; never started
    broker.port = 1
    dev = provision(tmp_path, broker)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = dev.config(broker, replay_source(GIULIA), metrics={"port": port})
        log = dev.dir / "agent.log"
        assert start_agent(cfg, log).wait(timeout=30) == 2
    assert f"metrics port 127.0.0.1:{port}" in log.read_text()
    assert not (dev.dir / "spool.sqlite").exists()  # refused before the spool was opened
