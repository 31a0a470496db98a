"""An attacker with database access and no key: edits the store behind the collector's back,
with the database's own client (sqlite3, psycopg), never through the collector's code."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import psycopg

from collector.log import tree as tlog
from notary_core import merkle


def _connect(url: str) -> Any:
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    return psycopg.connect(url, autocommit=True)


def _q(url: str, sql: str) -> str:
    return sql if url.startswith("sqlite") else sql.replace("?", "%s")


def _rows(db: Any, url: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    cur = db.execute(_q(url, sql), params)
    return list(cur.fetchall())


def _rebuild(db: Any, url: str, leaves: list[bytes]) -> None:
    """Write the complete-subtree nodes and size of a log holding exactly `leaves`."""
    frontier = tlog.Frontier()
    nodes = []
    for leaf in leaves:
        nodes.extend(frontier.append(merkle.hash_leaf(leaf)))
    db.execute("BEGIN")
    db.execute("DELETE FROM tlog_nodes")
    db.execute(_q(url, "DELETE FROM tlog_leaves WHERE idx >= ?"), (len(leaves),))
    for i, leaf in enumerate(leaves):
        db.execute(_q(url, "UPDATE tlog_leaves SET leaf = ? WHERE idx = ?"), (leaf, i))
    for level, idx, h in nodes:
        db.execute(_q(url, "INSERT INTO tlog_nodes (level, idx, hash) VALUES (?, ?, ?)"),
                   (level, idx, h))  # fmt: skip
    db.execute(_q(url, "UPDATE tlog_meta SET size = ? WHERE id = 1"), (len(leaves),))
    db.execute("COMMIT")


def leaves(url: str) -> list[bytes]:
    db = _connect(url)
    try:
        return [bytes(r[0]) for r in _rows(db, url, "SELECT leaf FROM tlog_leaves ORDER BY idx")]
    finally:
        db.close()


def rewrite_leaf(url: str, index: int, new_leaf: bytes) -> None:
    """Replace one log entry and recompute the whole stored tree, as in issue 11."""
    db = _connect(url)
    try:
        data = [bytes(r[0]) for r in _rows(db, url, "SELECT leaf FROM tlog_leaves ORDER BY idx")]
        data[index] = new_leaf
        _rebuild(db, url, data)
    finally:
        db.close()


def truncate(url: str, size: int) -> None:
    """Cut the log back to its first `size` entries (tree recomputed)."""
    db = _connect(url)
    try:
        data = [bytes(r[0]) for r in _rows(db, url, "SELECT leaf FROM tlog_leaves ORDER BY idx")]
        _rebuild(db, url, data[:size])
    finally:
        db.close()


def delete_checkpoints(url: str, from_size: int = 0) -> None:
    """Remove signed checkpoints (and their cosignatures) at or above `from_size`."""
    db = _connect(url)
    try:
        db.execute(_q(url, "DELETE FROM checkpoints WHERE size >= ?"), (from_size,))
        db.execute(_q(url, "DELETE FROM cosignatures WHERE size >= ?"), (from_size,))
    finally:
        db.close()
