"""CAN through python-can's slcan interface on a pty (a USB adapter), unplugged mid-drive.

The adapter is `vnotary sim slcan` playing the real RAV4 trace; it goes away after 300
frames and a second adapter appears at the same path. The source must capture every frame
both adapters sent, record the loss and the reopen as events, and never crash.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import can

from edge_agent.batcher import Chunk
from edge_agent.config import SourceConfig
from edge_agent.sources.base import Emitter
from edge_agent.sources.can import CanBusSource
from notary_core import records as rec
from tests.datasets import RAV4_CAN

TRACE = RAV4_CAN


def adapter(shared_data: Path, link: Path, limit: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnotary_cli.main", "sim", "slcan", str(shared_data / TRACE),
         "--speed", "20", "--limit", str(limit), "--link", str(link), "--linger", "0.5"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == str(link)
    return proc


def test_adapter_unplugged_and_replugged(shared_data: Path, tmp_path: Path) -> None:
    link = tmp_path / "slcan0"
    out: queue.Queue[Chunk] = queue.Queue()
    emit = Emitter(out, {}, rec.ClockSource.RTC)
    cfg = SourceConfig(
        type="can", stream="can0", interface="slcan", channel=str(link), bitrate=500000
    )
    stop = threading.Event()
    first = adapter(shared_data, link, 300)
    thread = threading.Thread(target=CanBusSource(cfg, rec.ClockSource.RTC).run, args=(emit, stop))
    thread.start()
    try:
        summary1 = json.loads(first.communicate(timeout=60)[0].strip().splitlines()[-1])
        time.sleep(1.5)  # unplugged for a while: the source retries every second
        second = adapter(shared_data, link, 200)
        summary2 = json.loads(second.communicate(timeout=60)[0].strip().splitlines()[-1])
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    records = []
    while not out.empty():
        records.extend(out.get().records)
    frames = [r for r in map(rec.decode, records) if isinstance(r.body, rec.CanFrame)]
    events = [r.body.detail for r in map(rec.decode, records) if isinstance(r.body, rec.AgentEvent)]
    assert summary1["frames"] == 300 and summary2["frames"] == 200
    assert len(frames) == 500
    assert [f.seq for f in frames] == sorted(f.seq for f in frames)
    with can.LogReader(str(shared_data / TRACE)) as reader:
        expected = [m for m in reader if m.channel == "can0"][:300]
    assert [(f.body.can_id, f.body.data) for f in frames[:300]] == [  # type: ignore[union-attr]
        (m.arbitration_id, bytes(m.data)) for m in expected
    ]
    assert any(e.startswith("lost:") for e in events)
    assert sum(e.startswith("opened slcan:") for e in events) == 2
    assert any("s down" in e for e in events)
