"""The second durable record of the chain position, outside the spool (issue 16 §1).

A spool truncated, rolled back (its WAL deleted or damaged) or corrupted must never make
the agent start its hash chain again: the collector would see a fork and the device's
evidence would be split for good. So after every spool commit, and before the batch is
published, the agent also writes here: the next batch_seq and previous header hash, the
header's counters, the per-stream sequence numbers, the oldest unacknowledged batch, and
the newest chain beacon a receipt brought (issue 14 §2: it goes into every header sealed,
and survives a restart; a head file that lost it only widens the next batches' interval).
Every batch the collector can have seen is therefore covered by this file.

Written atomically (temporary file, fsync, rename, fsync of the directory) as one JSON
object with a SHA-256 over its canonical form, so a torn or flipped file is detected
(and then the spool, checked on its own, is the only record left: said loudly).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent.sealer import ChainHead
from notary_core.errors import BadData, Unreachable
from notary_core.header import Beacon, StreamCounters

FORMAT = 1


@dataclass(frozen=True, slots=True)
class HeadRecord:
    head: ChainHead
    counters: dict[str, StreamCounters] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)  # sequence numbers handed out
    sealed: dict[str, int] = field(default_factory=dict)  # sequence numbers in batches
    oldest_unacked: int = 0  # every batch below it had its receipt
    discards: tuple[int, int] = (0, 0)  # cumulative (batches, records) the spool lost
    beacon: Beacon | None = None  # the newest chain block a receipt named (§6.1)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "next_seq": self.head.next_seq,
            "prev_hash": self.head.prev_hash.hex(),
            "counters": {k: c.as_list() for k, c in sorted(self.counters.items())},
            "issued": dict(sorted(self.issued.items())),
            "sealed": dict(sorted(self.sealed.items())),
            "oldest_unacked": self.oldest_unacked,
            "discards": list(self.discards),
            "beacon": None if self.beacon is None else _beacon_json(self.beacon),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HeadRecord:
        if d.get("format") != FORMAT:
            raise ValueError(f"head file format {d.get('format')!r}")
        prev = bytes.fromhex(d["prev_hash"])
        if len(prev) != 32 or not isinstance(d["next_seq"], int) or d["next_seq"] < 0:
            raise ValueError("bad chain head")
        return cls(
            ChainHead(d["next_seq"], prev),
            {k: StreamCounters(*v) for k, v in d["counters"].items()},
            {k: int(v) for k, v in d["issued"].items()},
            {k: int(v) for k, v in d["sealed"].items()},
            int(d["oldest_unacked"]),
            (int(d["discards"][0]), int(d["discards"][1])),
            None if d.get("beacon") is None else _beacon_parse(d["beacon"]),
        )


def _beacon_json(b: Beacon) -> list[Any]:
    return [b.chain_id, b.block_number, b.block_hash.hex(), b.block_time]


def _beacon_parse(v: Any) -> Beacon:
    """A head file written before beacons has none (the key is absent): still format 1."""
    if not (isinstance(v, list) and len(v) == 4 and isinstance(v[2], str)):
        raise ValueError("bad beacon")
    try:
        return Beacon.parse([v[0], v[1], bytes.fromhex(v[2]), v[3]])
    except BadData as exc:
        raise ValueError(exc.message) from None


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def write(path: Path, record: HeadRecord) -> None:
    """Replace the head file atomically and durably; Unreachable naming the cause."""
    body = record.to_json()
    data = json.dumps({**body, "sha256": _digest(body)}, sort_keys=True).encode()
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        raise Unreachable(f"head file {path}: {describe(exc)}") from None


def read(path: Path) -> tuple[HeadRecord | None, str]:
    """(the record, "") or (None, why not: missing, damaged)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable: {describe(exc)}"
    try:
        d = json.loads(raw)
        digest = d.pop("sha256")
        if digest != _digest(d):
            return None, "damaged: its checksum does not match"
        return HeadRecord.from_json(d), ""
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        return None, f"damaged: {exc}"


def describe(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    return exc.strerror or str(exc)
