"""The chrony configurations shipped in deploy/gateway/ run in a real chronyd -x (paths
moved to a private directory, the NTP pool left out: no network in tests) and, fed as gpsd
feeds them, make the agent label its clock GNSS."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from edge_agent.chrony import read_clock
from edge_agent.config import ClockConfig
from notary_core.records import ClockSource
from tests.infra.chrony import CHRONYC, Chronyd, SockFeeder

pytestmark = pytest.mark.integration
GATEWAY = Path(__file__).resolve().parents[2] / "deploy" / "gateway"


def shipped(name: str, d: Path) -> list[str]:
    lines = [x for x in (GATEWAY / name).read_text().splitlines()
             if x.strip() and not x.startswith("#")]  # fmt: skip
    assert any(x.startswith("pool ") for x in lines) and "cmdallow 127.0.0.1" in lines
    lines = [x.replace("/run/chrony.", f"{d}/") for x in lines
             if not x.startswith(("pool ", "cmdallow"))]  # fmt: skip
    return [*lines, f"bindcmdaddress {d / 'chronyd.sock'}", "cmdport 0", "port 0"]


@pytest.mark.parametrize("name", ["chrony-gnss.conf", "chrony-gnss-pps.conf"])
def test_shipped_chrony_config_selects_the_receiver(name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="vn-chrony-") as tmp:
        d = Path(tmp) / "c"
        d.mkdir(mode=0o700)
        c = Chronyd(d, shipped(name, d))
        try:
            c.wait_socket(c.socket)
            cfg = ClockConfig(chrony=c.socket, chronyc=CHRONYC)
            pps = name.endswith("pps.conf")
            with SockFeeder(str(d / "ttyACM0.sock"), 0.0003), \
                    SockFeeder(str(d / "pps0.sock"), 0.0, pulse=True, interval=1.0):  # fmt: skip
                deadline = time.monotonic() + 120
                got = read_clock(cfg)
                while got.source is not ClockSource.GNSS and time.monotonic() < deadline:
                    time.sleep(0.5)
                    got = read_clock(cfg)
                tracking = c.tracking()
        finally:
            c.stop()
        assert got.source is ClockSource.GNSS, (got, c.log())
        assert ("(PPS)" if pps else "(GPS)") in tracking, tracking
