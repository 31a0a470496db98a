"""The witness's durable state: per log origin, the latest checkpoint it cosigned (SQLite).

One transaction per request: BEGIN IMMEDIATE (SQLite's write lock, so two requests, from
threads or processes, are serialised), read the head, decide (`policy.advance`), write the
head and the history row, COMMIT, and only then may the cosignature leave. WAL with
synchronous=FULL: a COMMIT that returned is on disk, so a cosignature never names a head a
crash could lose. The history's primary key (origin, size) makes a second root for a size
impossible even for a bug in the policy. Refused requests that were signed by the log are
kept: they may be a court's evidence of a log showing two histories.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from notary_core.errors import Reason
from witness.policy import EMPTY, Head, Refusal

SCHEMA = """
CREATE TABLE IF NOT EXISTS heads (origin TEXT PRIMARY KEY, size INTEGER NOT NULL,
    root BLOB NOT NULL, note BLOB NOT NULL, cosigned_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS history (origin TEXT NOT NULL, size INTEGER NOT NULL,
    root BLOB NOT NULL, note BLOB NOT NULL, cosigned_at INTEGER NOT NULL,
    PRIMARY KEY (origin, size));
CREATE TABLE IF NOT EXISTS refused (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL,
    status INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, request BLOB NOT NULL,
    at INTEGER NOT NULL);
"""


class WitnessDb:
    def __init__(self, path: Path) -> None:
        self.path = path
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        db.execute("PRAGMA synchronous=FULL")
        return db

    def head(self, origin: str) -> Head:
        with closing(self._connect()) as db:
            row = db.execute("SELECT size, root FROM heads WHERE origin = ?", (origin,)).fetchone()
        return EMPTY if row is None else Head(int(row[0]), bytes(row[1]))

    def advance(
        self, origin: str, note: bytes, now: int, decide: Callable[[Head], Head], request: bytes
    ) -> Head:
        """Compare-and-swap the head of `origin` with `decide(current)`; durable on return.
        A Refusal from `decide` is recorded (if it says something about the log) and raised."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT size, root FROM heads WHERE origin = ?", (origin,)
                ).fetchone()
                current = EMPTY if row is None else Head(int(row[0]), bytes(row[1]))
                try:
                    new = decide(current)
                except Refusal as exc:
                    if exc.status in (409, 422) and exc.reason is not Reason.STALE_SIZE:
                        db.execute(
                            "INSERT INTO refused (origin, status, reason, detail, request, at) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (origin, exc.status, str(exc.reason), exc.message, request, now),
                        )
                        db.execute("COMMIT")
                    else:
                        db.execute("ROLLBACK")
                    raise
                if new != current:
                    db.execute(
                        "INSERT INTO history (origin, size, root, note, cosigned_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (origin, new.size, new.root, note, now),
                    )
                    db.execute(
                        "INSERT INTO heads (origin, size, root, note, cosigned_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                        "size = excluded.size, root = excluded.root, note = excluded.note, "
                        "cosigned_at = excluded.cosigned_at",
                        (origin, new.size, new.root, note, now),
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return new

    def refused(self) -> list[tuple[str, int, str, bytes]]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT origin, status, reason, request FROM refused ORDER BY id")
            return [(r[0], int(r[1]), r[2], bytes(r[3])) for r in rows.fetchall()]
