"""Headless Chromium (Debian's package) for the report tests: the rendered DOM and a screenshot.

No browser is downloaded: the tests need /usr/bin/chromium and fail, never skip, without it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)  # fmt: skip
WIDTH = 1100


@dataclass
class Rendered:
    dom: str
    screenshot: Path


def require_chromium() -> None:
    if not CHROMIUM.exists():
        raise AssertionError(
            f"{CHROMIUM} is missing: the report tests render in Debian's chromium package "
            "(apt-get install chromium; scripts/install-system-deps.sh)"
        )


def render(html: Path, tmp: Path, height: int = 6000) -> Rendered:
    """Load the file in a fresh profile; return the DOM after layout and a tall screenshot."""
    require_chromium()
    url = html.resolve().as_uri()
    base = [str(CHROMIUM), *FLAGS, f"--window-size={WIDTH},{height}"]
    dom = subprocess.run(
        [*base, f"--user-data-dir={tmp / 'profile-dom'}", "--dump-dom", url],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    shot = tmp / "shot.png"
    subprocess.run(
        [*base, f"--user-data-dir={tmp / 'profile-shot'}", f"--screenshot={shot}", url],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    assert shot.exists(), "chromium wrote no screenshot"
    return Rendered(dom, shot)
