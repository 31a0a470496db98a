"""Test configuration for every test: where the real data lives, Hypothesis profiles."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# VNOTARY_PURE_PYTHON=1: the C accelerators off, so the Python path is what runs (the
# mutation run relies on it, docs/testing.md); set before anything imports the core.
if os.environ.get("VNOTARY_PURE_PYTHON", "") not in ("", "0"):
    sys.modules.setdefault("notary_core._accel", None)  # type: ignore[arg-type]

from tests.datasets import DATA

# CI runs more examples than a developer's quick loop; both are deterministic per run seed.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=80, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data set in the repository (`data/`, see data/SOURCES.md)."""
    if not (DATA / "SOURCES.md").is_file():
        raise RuntimeError(f"the data set is missing at {DATA}: a checkout has it in data/")
    return DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under mutmut (one run per mutant, stopping at the first failure) the fastest tests
    go first, by the durations its stats run measured: a mutant a quick test kills is not
    kept waiting behind a slow one. The order never changes a verdict, only when it comes."""
    if os.environ.get("MUTANT_UNDER_TEST", "") in ("", "stats", "list_all_tests", "fail"):
        return
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from its mutants/ directory
    if not stats.is_file():
        return
    import json

    took = json.loads(stats.read_text(encoding="utf-8")).get("duration_by_test", {})
    items.sort(key=lambda item: took.get(item.nodeid, float("inf")))
