"""Fixtures of the collector tests: stores over both backends, test devices, real records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from collector.store.base import Store
from collector.store.open import open_store
from tests.collector.fleet import load_can_records
from tests.infra.postgres import PgCluster, pg_cluster


@pytest.fixture(scope="session")
def records(shared_data: Path) -> list[bytes]:
    return load_can_records(shared_data, 5000)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'collector.db'}"
    cluster: PgCluster = request.getfixturevalue("pg")
    return cluster.new_database()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = await open_store(store_url)
    async with s:
        yield s


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
