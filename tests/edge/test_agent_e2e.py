"""The agent as a process against a real broker (mTLS + ACL) and a stand-in collector."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from notary_core.records import ClockSource, Kind, decode
from tests.datasets import read_text
from tests.edge.kit import GIULIA, RAV4, Device, check_chain, replay_source, start_agent
from tests.edge.responder import Responder
from tests.infra.mqtt_broker import MosquittoBroker

pytestmark = pytest.mark.integration


def _status(config: Path) -> dict[str, object]:
    out = subprocess.run(
        [str(Path(".venv/bin/vnotary").resolve()), "edge", "status", "--config", str(config)],
        capture_output=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


@pytest.mark.parametrize(
    ("trace", "compress"), [(RAV4, "zlib"), (GIULIA, "none")], ids=["rav4-zlib", "giulia-bare"]
)
def test_replay_of_real_trace_reaches_receipts(
    setup: tuple[MosquittoBroker, Device, Responder], trace: Path, compress: str
) -> None:
    """Both wire encodings (protocol §5.1): each trace with one, so the run costs no more."""
    broker, dev, resp = setup
    cfg = dev.config(
        broker,
        replay_source(trace),
        exit_when_done=True,
        batch={"window_s": 0.5, "max_records": 8000},
        mqtt={"compress": compress},
    )
    proc = start_agent(cfg, dev.dir / "agent.log")
    assert proc.wait(timeout=120) == 0, (dev.dir / "agent.log").read_text()
    batches = resp.chain()
    records = check_chain(batches, dev.public)
    frames = sum(1 for line in read_text(trace).splitlines() if line.startswith("("))
    can = [decode(r) for b in batches for r in b.verify(dev.public)]
    can = [r for r in can if r.kind == Kind.CAN]
    assert len(can) == frames and records >= frames
    assert all(r.clock == ClockSource.REPLAY for r in can)
    last = batches[-1].signed.header.streams
    assert sum(c.seen for k, c in last.items() if k.startswith("can")) == frames
    status = _status(cfg)
    assert status["spool_depth"] == 0 and status["next_batch_seq"] == len(batches)
    assert not resp.errors
    # zlib: every batch of frames compressed (a tiny events-only one may go bare, §5.1)
    assert all(wrapped == (compress == "zlib") for size, wrapped in resp.wire if size > 2048)
    assert any(wrapped for _, wrapped in resp.wire) == (compress == "zlib")
