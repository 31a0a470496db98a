"""Reads the clock discipline (chronyd's tracking, else the kernel's adjtimex) and keeps the
label every record and header carries up to date (edge_agent/discipline.py says how).

chronyd answers `chronyc -c -n -h SOCKET tracking` over its Unix command socket (root and
the chrony user only) or, for an unprivileged agent, `-h 127.0.0.1` over UDP port 323, where
chronyd allows monitoring commands such as tracking from localhost by default. A missing
socket, a chronyc that fails or times out, or output that is not a tracking line falls back
to adjtimex for that reading, so the label is never older than one poll. The monitor runs in
its own thread: a slow chronyc never delays sealing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading

from edge_agent import system_linux
from edge_agent.config import ClockConfig
from edge_agent.discipline import ClockLabel, ClockReading, from_adjtimex, from_chrony_tracking
from edge_agent.limits import CHRONYC_TIMEOUT_S

log = logging.getLogger(__name__)


def read_chrony(cfg: ClockConfig) -> ClockReading:
    """chronyd's tracking as a label; raises OSError or ValueError when it cannot be had."""
    if not cfg.chrony or (cfg.chrony.startswith("/") and not os.path.exists(cfg.chrony)):
        raise OSError(f"no chronyd command socket at {cfg.chrony!r}")
    try:
        out = subprocess.run(
            [cfg.chronyc, "-c", "-n", "-h", cfg.chrony, "tracking"],
            capture_output=True, text=True, timeout=CHRONYC_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise OSError("chronyc did not answer") from None
    if out.returncode != 0:
        raise OSError(f"chronyc: {(out.stderr or out.stdout).strip()[:200]}")
    return from_chrony_tracking(out.stdout)


def read_clock(cfg: ClockConfig) -> ClockReading:
    """The label now: chrony's when it answers, else the kernel's."""
    try:
        return read_chrony(cfg)
    except (OSError, ValueError) as exc:
        log.debug("clock: %s; using adjtimex", exc)
    return from_adjtimex(*system_linux.adjtimex())


class ClockMonitor:
    """Polls the discipline every `poll_s` and replaces `label.reading`; logs each change of
    source (and the first reading)."""

    def __init__(self, cfg: ClockConfig, label: ClockLabel) -> None:
        self.cfg = cfg
        self.label = label

    def run(self, stop: threading.Event) -> None:
        last = self.label.reading = read_clock(self.cfg)
        log.info("clock: %s (%s)", last.source.name, last.detail)
        while not stop.wait(self.cfg.poll_s):
            now = read_clock(self.cfg)
            if now.source != last.source:
                log.info("clock: %s (%s), was %s", now.source.name, now.detail, last.source.name)
            self.label.reading = last = now
