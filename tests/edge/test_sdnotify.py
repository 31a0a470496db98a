"""sd_notify for the gateway unit's Type=notify and WatchdogSec (issue 16 §4): the function
against real AF_UNIX datagram sockets, then a real agent under a notify socket as systemd
would give it (READY=1, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from edge_agent.sdnotify import Watchdog, notify
from tests.edge.kit import GIULIA, Device, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker


@contextmanager
def listener(abstract: bool) -> Iterator[tuple[str, socket.socket]]:
    """A bound datagram socket, as systemd's notify socket: ($NOTIFY_SOCKET value, socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        if abstract:
            name = f"vnotary-test-{uuid.uuid4().hex}"
            s.bind("\0" + name)
            yield "@" + name, s
        else:
            with tempfile.TemporaryDirectory(dir="/tmp") as d:  # sun_path holds 108 bytes
                path = os.path.join(d, "notify")
                s.bind(path)
                yield path, s


def receive(s: socket.socket, timeout: float) -> str | None:
    s.settimeout(timeout)
    try:
        return s.recv(4096).decode()
    except TimeoutError:
        return None


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_sends_one_datagram_to_the_socket(abstract: bool) -> None:
    with listener(abstract) as (address, s):
        assert notify("READY=1", {"NOTIFY_SOCKET": address})
        assert receive(s, 2) == "READY=1"
        assert notify("STOPPING=1", {"NOTIFY_SOCKET": address})
        assert receive(s, 2) == "STOPPING=1"


def test_notify_is_a_no_op_without_a_socket_and_never_raises() -> None:
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": ""})
    assert not notify("READY=1", {"NOTIFY_SOCKET": "relative/name"})
    assert not notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/vnotary/notify"})  # ENOENT


def test_watchdog_pings_at_half_the_interval_and_only_for_this_process() -> None:
    with listener(True) as (address, s):
        env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"}  # 2 s: a ping per 1 s
        dog = Watchdog(env)
        assert dog.interval_ns == 10**9
        assert dog.ping(5 * 10**9) and receive(s, 2) == "WATCHDOG=1"
        assert not dog.ping(5 * 10**9 + 999_999_999)  # within the half interval: nothing
        assert dog.ping(6 * 10**9) and receive(s, 2) == "WATCHDOG=1"
        assert receive(s, 0.1) is None
        other = str(os.getpid() + 1)
        for off in ({}, {"WATCHDOG_USEC": "0"}, {"WATCHDOG_USEC": "x"},
                    {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": other}):  # fmt: skip
            assert Watchdog({"NOTIFY_SOCKET": address, **off}).interval_ns == 0, off
            assert not Watchdog({"NOTIFY_SOCKET": address, **off}).ping()
        mine = {
            "NOTIFY_SOCKET": address,
            "WATCHDOG_USEC": "2000000",
            "WATCHDOG_PID": str(os.getpid()),
        }
        assert Watchdog(mine).interval_ns == 10**9


@pytest.mark.integration
def test_a_real_agent_notifies_ready_watchdog_and_stopping(
    setup: tuple[MosquittoBroker, Device, Responder], monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, dev, _resp = setup
    log = dev.dir / "agent.log"
    cfg = dev.config(broker, replay_source(GIULIA, "recorded"))
    with listener(True) as (address, s):
        monkeypatch.setenv("NOTIFY_SOCKET", address)
        monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # WatchdogSec=1: a ping every 0.5 s
        monkeypatch.delenv("WATCHDOG_PID", raising=False)
        proc = start_agent(cfg, log)
        try:
            first = receive(s, 60)
            assert first == "READY=1", (first, log.read_text()[-3000:])
            assert "chain continues at batch" in log.read_text()  # the spool was open before
            pings, start = [], time.monotonic()
            while len(pings) < 6 and time.monotonic() - start < 20:
                if receive(s, 5) == "WATCHDOG=1":
                    pings.append(time.monotonic())
            assert len(pings) == 6, log.read_text()[-3000:]
            gaps = [b - a for a, b in itertools.pairwise(pings)]
            # Every half interval (0.5 s); bounds wide for a loaded test machine.
            assert all(0.2 < g < 2.0 for g in gaps), gaps
            assert 0.4 < sum(gaps) / len(gaps) < 0.9, gaps
            proc.send_signal(signal.SIGTERM)
            rest = []
            while (got := receive(s, 15)) is not None and got != "STOPPING=1":
                rest.append(got)
            assert got == "STOPPING=1", (rest, log.read_text()[-3000:])
            assert set(rest) <= {"WATCHDOG=1"}, rest
            assert proc.wait(timeout=15) == 0, log.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
