"""VNOTARY_PURE_PYTHON=1 turns the core's C accelerator off for every entry point (the
verifier, the `vnotary` command, the tests), so one switch selects the Python path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import notary_core

PROBE = "import {entry}; from notary_core import evidence; print(evidence.ACCELERATED)"
BUILT = any(Path(notary_core.__file__).parent.glob("_accel*.so"))


def _accelerated(entry: str, pure: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "VNOTARY_PURE_PYTHON"}
    if pure is not None:
        env["VNOTARY_PURE_PYTHON"] = pure
    out = subprocess.run([sys.executable, "-c", PROBE.format(entry=entry)], env=env,
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return {"True": True, "False": False}[out.stdout.strip()]


@pytest.mark.parametrize("entry", ["verifier", "vnotary_cli"])
def test_the_switch_turns_the_accelerator_off(entry: str) -> None:
    assert BUILT, "the C accelerator is not built: `make setup` builds it"
    assert _accelerated(entry, "1") is False
    assert _accelerated(entry, "0") is True
    assert _accelerated(entry, None) is True


def test_the_tests_follow_the_switch() -> None:
    from notary_core import evidence

    pure = os.environ.get("VNOTARY_PURE_PYTHON", "") not in ("", "0")
    assert evidence.ACCELERATED is (BUILT and not pure)
