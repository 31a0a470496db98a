"""PostgreSQL backend (scale-out): psycopg 3 async, one connection, row lock on the log.

A lost connection (server restart, pg_terminate_backend, network) is replaced at the next
transaction: each attempt that fails raises Unreachable, and the callers retry with backoff
(collector/ingest/mqtt.py, the service's loops). The new session does not hold the leader
lock: leadership is taken again, or by another process, through `lead()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from collector.log import tree as tlog
from collector.store import schema
from collector.store.base import Row, Store, Tx
from notary_core.errors import Unreachable

CONNECT_TIMEOUT_S = 5
log = logging.getLogger(__name__)
MIGRATION_LOCK = 7236
LEADER_LOCK = 7237
"""Session-level advisory lock held by the leader (checkpoints, anchoring) for as long as
its connection lives: a crashed leader's session ends and a follower's next try wins."""


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PgTx(Tx):
    def __init__(self, cur: psycopg.AsyncCursor[Any]) -> None:
        self._cur = cur

    async def exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._cur.execute(_pg(sql), params)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._cur.executemany(_pg(sql), rows)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        await self._cur.execute(_pg(sql), params)
        return [tuple(r) for r in await self._cur.fetchall()]


class PostgresStore(Store):
    # Several collector processes may share one database: the meta row lock serialises
    # log appends, and each process reloads its frontier if another one appended.
    _lock_meta_sql = "SELECT size FROM tlog_meta WHERE id = 1 FOR UPDATE"

    def __init__(self, conn: psycopg.AsyncConnection[Any], dsn: str = "") -> None:
        self._conn = conn
        self._dsn = dsn
        self._lock = asyncio.Lock()  # tasks share the connection: one transaction at a time
        self._leader = False
        self.frontier = tlog.Frontier()

    @classmethod
    async def open(cls, dsn: str) -> PostgresStore:
        conn = await cls._connect(dsn)
        try:
            store = cls(conn, dsn)
            await store._migrate()
            await store.init_frontier()
        except BaseException:
            await conn.close()
            raise
        return store

    @staticmethod
    async def _connect(dsn: str) -> psycopg.AsyncConnection[Any]:
        try:
            return await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        except psycopg.OperationalError as exc:
            raise Unreachable(f"PostgreSQL: {exc}") from None

    async def _reconnect(self) -> None:
        """Replace a lost connection (under self._lock). Its session's advisory lock died
        with it: this process is no longer the leader until `lead()` wins again."""
        self._leader = False
        conn = await self._connect(self._dsn)
        await self._conn.close()
        self._conn = conn
        log.info("PostgreSQL: reconnected")

    async def _migrate(self) -> None:
        async with self.transaction() as tx:
            # One migrator at a time across processes.
            await tx.exec("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            await tx.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            row = await tx.one("SELECT MAX(version) FROM schema_version")
            done = row[0] if row and row[0] is not None else 0
            for number, migration in enumerate(schema.MIGRATIONS, start=1):
                if number <= done:
                    continue
                for stmt in schema.statements(migration, schema.POSTGRES):
                    await tx.exec(stmt)
                await tx.exec("INSERT INTO schema_version (version) VALUES (?)", (number,))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        try:
            async with self._lock:
                if self._conn.closed:  # lost (broken) earlier: a new session first
                    await self._reconnect()
                async with self._conn.transaction(), self._conn.cursor() as cur:
                    yield _PgTx(cur)
        except psycopg.OperationalError as exc:
            if self._conn.closed:
                self._leader = False  # the session and its advisory lock are gone
            raise Unreachable(f"PostgreSQL: {exc}") from None

    def transaction(self) -> Any:
        return self._transaction()

    async def lead(self) -> bool:
        if not self._leader:
            async with self.transaction() as tx:
                row = await tx.one("SELECT pg_try_advisory_lock(?)", (LEADER_LOCK,))
            # Session-level: it outlives this transaction, until the connection closes.
            self._leader = bool(row and row[0])
        return self._leader

    async def close(self) -> None:
        await self._conn.close()
