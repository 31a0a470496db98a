"""One build of the sdist and the wheel for every packaging test of the session."""

from __future__ import annotations

import pytest

from tests.packaging import venvs


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> venvs.Dist:
    return venvs.build(tmp_path_factory.mktemp("dist"))
