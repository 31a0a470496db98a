"""What the demo needs before it starts anything, checked in one pass.

The demo runs from a source checkout: the real RAV4 drive in `data/`, mosquitto (Debian),
anvil (`tools/node_modules`, from npm), the fleet CA and the broker config renderer in
`deploy/`, and the `[edge]` and `[collector]` extras. Each missing piece is named with the
command that brings it, so a fresh machine gets one clear message instead of a failure at
step 3 (`make demo` installs exactly these: scripts/install-system-deps.sh demo).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from vnotary_cli.bridge import GNSS_CSV, IMU_CSV
from vnotary_cli.demo.stack import REPO

TRACE = "can/comma2k19_toyota_rav4_seg40_reconstructed.log.gz"
DBC = "dbc/toyota_rav4_2017_pt_generated.dbc"
ANVIL = REPO / "tools" / "node_modules" / ".bin" / "anvil"
FLEET_CA = REPO / "deploy" / "pki" / "fleet_ca.py"
RENDER = REPO / "deploy" / "mosquitto" / "render.py"
# Import name -> the extra that brings it (pyproject.toml).
MODULES = {
    "can": "edge", "serial": "edge", "paho.mqtt": "edge", "crc32c": "edge", "cobs": "edge",
    "fastapi": "collector", "uvicorn": "collector", "aiosqlite": "collector",
    "web3": "collector", "cantools": "collector",
}  # fmt: skip
SYSTEM_DEPS = "bash scripts/install-system-deps.sh demo"


def mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").is_file() else None


def missing(data_dir: Path) -> list[str]:
    """Every input the demo lacks, one line each with how to get it; empty when all are there."""
    out: list[str] = []
    for rel in (TRACE, DBC, IMU_CSV, GNSS_CSV):
        if not (data_dir / rel).is_file():
            out.append(f"data file {data_dir / rel} (the checkout's data/, or pass --data-dir)")
    if mosquitto() is None:
        out.append(f"mosquitto, the MQTT broker (Debian package; {SYSTEM_DEPS})")
    if not ANVIL.is_file():
        out.append(f"anvil, the local EVM node, at {ANVIL} ({SYSTEM_DEPS})")
    for script in (FLEET_CA, RENDER):
        if not script.is_file():
            out.append(f"{script} (the demo runs from a source checkout)")
    extras = sorted({extra for mod, extra in MODULES.items() if not _importable(mod)})
    if extras:
        out.append(f"Python extras {', '.join(extras)} (pip install 'vnotary[{','.join(extras)}]')")
    return out


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False
