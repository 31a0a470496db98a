"""Shared test configuration: where the real data lives, Hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("VNOTARY_SHARED_DATA", REPO.parent / "shared" / "data"))

# CI runs more examples than a developer's quick loop; both are deterministic per run seed.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=80, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data set beside the repository (`../shared/data`)."""
    if not (SHARED_DATA / "SOURCES.md").is_file():
        raise RuntimeError(f"the shared data set is missing at {SHARED_DATA}")
    return SHARED_DATA
