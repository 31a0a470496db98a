"""`vnotary demo` end to end, as a newcomer runs it (the README's main job).

Real mosquitto with mTLS and ACL, a real anvil chain, the real RAV4 drive through the slcan
adapter and the board simulator at recorded speed, the real collector, agent, access API,
verifier and report. The test checks the demo's claims independently afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from notary_core import bundle
from notary_core import records as r
from notary_core.evidence import Verdict, verify_bundle
from verifier.cli import load_trust


@pytest.mark.integration
@pytest.mark.slow
def test_demo_runs_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    work = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "vnotary_cli.main", "demo", "--data-dir", str(shared_data),
         "--workdir", str(work)],
        capture_output=True, text=True, timeout=420, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = proc.stdout
    for step in range(1, 10):
        assert f" {step}. " in out, f"step {step} did not report progress"
    assert "verdict: OK" in out
    assert "checkpoint cosigned by 2 pinned witnesses: witness.insurer.demo/w1, " \
        "witness.owners.demo/w1" in out  # fmt: skip
    assert "ADVANCED: first head" in out  # the monitor's round over the demo's log
    evidence = work / "evidence"
    data = (evidence / "bundle.vnb").read_bytes()
    # Verify independently of the demo's own verification, offline with the pinned trust.
    t = verify_bundle(data, load_trust(evidence / "trust.json"))
    assert t.verdict is Verdict.OK, json.dumps(t.to_dict(), indent=1)[:3000]
    assert len(t.summary["witnesses"]) == 2  # offline, the witnesses' quorum is what holds
    b = bundle.parse_bundle(data).bundle
    # 30 s before the event, up to 30 s after it but not past the drive's last batch (there,
    # nothing could prove that no later batch will come: WINDOW_OPEN)
    assert b.request.event is not None
    event_ns = b.request.event[0]
    assert b.request.window_start_ns == event_ns - 30 * 10**9
    assert event_ns < b.request.window_end_ns <= event_ns + 30 * 10**9  # covered: verdict OK
    streams = set()
    can_ids = set()
    for x in b.batches:
        for d in x.disclosed:
            rec = r.decode(d.record)
            streams.add(rec.stream)
            if isinstance(rec.body, r.CanFrame):
                can_ids.add(rec.body.can_id)
    assert streams == {"can0", "gnss"}  # speed, brake and GNSS only: no IMU, no other ids
    assert can_ids == {0x0B4, 0x224}
    assert set(b.views["signals"]) >= {"SPEED", "BRAKE_PRESSURE"}
    report = (evidence / "report.html").read_text()
    assert "<svg" in report and "hardest braking" in report
    assert "witnesses.quorum" in report and "witness.owners.demo/w1" in report
    # Every process the demo started is gone.
    leftover = subprocess.run(
        ["pgrep", "-f", str(work)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == "", leftover.stdout
