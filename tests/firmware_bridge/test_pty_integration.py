"""pty integration: `vnotary bridge simulate` plays the real drive over a pty behind a
symlink, unplugs it mid-stream, replugs it; SerialBridge must reopen within 1 s, count the
outage, and the decoder must count exactly the frames lost."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_bridge.board import BoardEncoder
from firmware_bridge.decoder import Frame, StreamDecoder
from firmware_bridge.messages import Heartbeat
from firmware_bridge.pty_board import PtyPort
from firmware_bridge.serial_port import SerialBridge

pytestmark = pytest.mark.usefixtures("each_decoder")

REPO = Path(__file__).resolve().parents[2]
LIMIT = 2500


async def _read_until(link: SerialBridge, last_seq: int, timeout: float) -> list[Frame]:
    got: list[Frame] = []
    loop = asyncio.get_running_loop()
    loop.call_later(timeout, link.close)
    async for f in link:
        got.append(f)
        if f.header.seq >= last_seq:
            break
    return got


@pytest.mark.integration
def test_simulator_unplug_replug_is_survived_and_counted(tmp_path: Path, shared_data: Path) -> None:
    link_path = tmp_path / "ttyBOARD"
    key = tmp_path / "board.key"
    key.write_text("11" * 32)
    args = ["bridge", "simulate", "--data-dir", str(shared_data), "--speed", "8"]
    args += ["--link", str(link_path), "--key-file", str(key), "--limit", str(LIMIT)]
    args += ["--unplug-at", "1.0", "--unplug-for", "0.4", "--linger", "5"]
    sim = subprocess.Popen(
        [sys.executable, "-m", "vnotary_cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert sim.stdout is not None
        slave = sim.stdout.readline().strip()
        assert slave.startswith("/dev/pts/")
        decoder = StreamDecoder({1: bytes.fromhex("11" * 32)})
        bridge = SerialBridge(str(link_path), 921_600, decoder, retry_interval=0.1)
        frames = asyncio.run(_read_until(bridge, LIMIT - 1, timeout=30))
        out, err = sim.communicate(timeout=30)
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.communicate()
    summary = json.loads(out.strip().splitlines()[-1])
    assert sim.returncode == 0, err
    assert summary["unplugged_frames"] > 0  # the board kept sending while unplugged
    (outage,) = bridge.take_outages()
    # Replugged 0.4 s after the unplug; the reader must be back within 1 s of that.
    assert (outage.end_ns - outage.start_ns) / 1e9 < 0.4 + 1.0
    assert bridge.stats.outages == 1 and bridge.stats.opens == 2, (
        bridge.stats,
        [f.header.seq for f in frames[-3:]],
        summary,
    )
    seqs = [f.header.seq for f in frames]
    assert seqs == sorted(seqs) and seqs[-1] == LIMIT - 1
    assert all(f.status.name == "OK" for f in frames)
    # Every frame between the first and the last one read is either received or a counted gap.
    assert decoder.counters.seq_gaps == seqs[-1] - seqs[0] + 1 - len(seqs)
    assert decoder.counters.seq_gaps >= summary["unplugged_frames"]


@pytest.mark.integration
def test_port_missing_at_start_then_appearing_is_read(tmp_path: Path) -> None:
    link_path = tmp_path / "late"

    async def scenario() -> tuple[list[Frame], float]:
        bridge = SerialBridge(str(link_path), decoder=StreamDecoder(), retry_interval=0.05)
        port = PtyPort(link_path)
        board = BoardEncoder(5)

        async def board_side() -> float:
            await asyncio.sleep(0.3)
            port.open()
            appeared = time.monotonic()
            for i in range(50):
                port.write(board.wire(Heartbeat(0, i), i))
                await asyncio.sleep(0.01)
            return appeared

        task = asyncio.create_task(board_side())
        got = await _read_until(bridge, 49, timeout=10)
        appeared = await task
        bridge.close()
        port.close()
        return got, appeared

    got, _ = asyncio.run(scenario())
    assert [f.header.seq for f in got][-1] == 49


@pytest.mark.integration
def test_drain_waits_for_the_reader_and_reports_a_reader_that_never_came(tmp_path: Path) -> None:
    with PtyPort(tmp_path / "link") as port:
        port.write(b"\x01\x02\x03\x00" * 100)
        started = time.monotonic()
        assert port.drain(0.3) is False  # nobody reads: the bytes stay queued
        assert time.monotonic() - started >= 0.3
        with open(tmp_path / "link", "rb", buffering=0) as reader:
            got = b""
            while len(got) < 400:
                got += reader.read(400 - len(got))
            started = time.monotonic()
            assert port.drain(2.0, settle=0.1) is True
            # An empty queue counts only once it has stayed empty for the settle time.
            assert time.monotonic() - started >= 0.1
    assert got == b"\x01\x02\x03\x00" * 100
