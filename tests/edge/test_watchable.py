"""What an operator sees (issue 16 §1 and §4): the agent's log lines, plain or JSON, and a
REJECTED receipt as an alarm and a signed event, never a silent release."""

from __future__ import annotations

import json
import signal
import time

import pytest

from notary_core.records import AgentEvent, EventType, decode
from tests.edge.kit import GIULIA, Device, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker, free_port

pytestmark = pytest.mark.integration


def test_a_rejected_receipt_is_an_alarm_and_a_signed_event(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, resp = setup
    resp.reject = {2}
    log = dev.dir / "agent.log"
    cfg = dev.config(broker, replay_source(GIULIA, "max"), exit_when_done=True)
    assert start_agent(cfg, log).wait(timeout=120) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "ALARM: the collector REJECTED batch 2" in text
    events = [decode(r).body for b in resp.chain() for r in b.verify(dev.public)]
    rejected = [
        e for e in events if isinstance(e, AgentEvent) and e.event == EventType.RECEIPT_REJECTED
    ]
    assert [(e.a, e.detail) for e in rejected] == [(2, resp.chain()[2].signed.header_hash.hex())]
    # the plain log says what an operator needs, and nothing secret
    for line in (
        "chain continues at batch 0",
        "source can (ReplaySource) starting",
        "connected to the broker at",
        "source can ended",
        "stopped at batch",
    ):
        assert line in text, text
    assert "PRIVATE KEY" not in text and "BEGIN" not in text
    key_pem = (dev.dir / "device.key").read_text().splitlines()[1]
    assert key_pem not in text


def test_json_log_lines_on_request_and_a_refused_broker(
    setup: tuple[MosquittoBroker, Device, Responder],
) -> None:
    broker, dev, _resp = setup
    log = dev.dir / "agent.log"
    broker.port, real = free_port(), broker.port  # nobody listens there
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"))
    broker.port = real
    proc = start_agent(cfg, log, "--log-format", "json")
    deadline = time.monotonic() + 20
    while "cannot connect to the broker" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])
    msgs = [(x["level"], x["msg"]) for x in lines]
    assert any(lv == "WARNING" and "cannot connect to the broker" in m for lv, m in msgs), msgs
    assert any("SIGTERM: stopping" in m for _lv, m in msgs)
