"""aiosqlite backend (the embedded default): WAL, one writer, BEGIN IMMEDIATE per write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from collector.log import tree as tlog
from collector.store import schema
from collector.store.base import Row, Store, Tx


class _SqliteTx(Tx):
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._db.execute(sql, params)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._db.executemany(sql, rows)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._db.execute(sql, params) as cur:
            return [tuple(r) for r in await cur.fetchall()]


class SqliteStore(Store):
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._tx = _SqliteTx(db)
        self._lock = asyncio.Lock()
        self.frontier = tlog.Frontier()

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA busy_timeout=10000")
            store = cls(db)
            await store._migrate()
            await store.init_frontier()
        except BaseException:
            await db.close()
            raise
        return store

    async def _migrate(self) -> None:
        await self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        async with self._db.execute("SELECT MAX(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        done = row[0] if row and row[0] is not None else 0
        for number, migration in enumerate(schema.MIGRATIONS, start=1):
            if number <= done:
                continue
            async with self.transaction() as tx:
                for stmt in schema.statements(migration, schema.SQLITE):
                    await tx.exec(stmt)
                await tx.exec("INSERT INTO schema_version (version) VALUES (?)", (number,))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:  # tasks share the connection: one transaction at a time
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._tx
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    def transaction(self) -> Any:
        return self._transaction()

    async def close(self) -> None:
        await self._db.close()
