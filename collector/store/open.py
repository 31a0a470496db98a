"""Open a store from a URL: the one factory callers use."""

from __future__ import annotations

from collector.store.base import Store
from collector.store.postgres import PostgresStore
from collector.store.sqlite import SqliteStore


async def open_store(url: str) -> Store:
    """`sqlite:///path/to/file.db` (embedded default) or `postgresql://...` (scale-out)."""
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresStore.open(url)
    if url.startswith("sqlite:///"):
        return await SqliteStore.open(url.removeprefix("sqlite:///"))
    raise ValueError(f"unsupported store URL {url!r}")
