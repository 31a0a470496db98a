"""`vnotary collector run` stops cleanly on SIGTERM (what systemd and `docker stop` send)
and on SIGINT, also when it was started with SIGINT ignored (a background job of a
non-interactive shell: Python then never raises KeyboardInterrupt). Real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from collector.settings import write_key

pytestmark = pytest.mark.integration
EXE = str(Path(sys.executable).parent / "vnotary")


def _start(tmp: Path, ignore_sigint: bool) -> subprocess.Popen[str]:
    write_key(tmp / "collector.key")
    cfg = tmp / "collector.toml"
    cfg.write_text(f'store = "sqlite:///{tmp / "c.db"}"\nkey_file = "collector.key"\n'
                   'origin = "collector.test/log"\n', encoding="utf-8")  # fmt: skip

    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen([EXE, "collector", "run", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ignore if ignore_sigint else None)  # fmt: skip  # noqa: PLW1509
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == "collector running\n", (line, proc.stderr.read() if proc.stderr else "")
    return proc


@pytest.mark.parametrize(("sig", "ignore_sigint"), [(signal.SIGTERM, False),
                                                    (signal.SIGINT, False),
                                                    (signal.SIGINT, True)])  # fmt: skip
def test_collector_run_stops_cleanly_on_a_signal(
    tmp_path: Path, sig: signal.Signals, ignore_sigint: bool
) -> None:
    proc = _start(tmp_path, ignore_sigint)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"{sig.name} did not stop `collector run` within 20 s") from None
    assert proc.returncode == 0, err[-2000:]
    assert f"{sig.name}: stopping" in err
