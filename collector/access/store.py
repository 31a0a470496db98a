"""SQL of the access registry (parties, vehicles, installations, ownerships, requests, grants,
nonces) over the collector's Store: one `AccessTx` per transaction, so a grant's status is
read in the same transaction as the data it guards, and every logged event is appended to
the transparency log in the transaction that records it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from collector.api.signatures import Unauthorized
from collector.store.base import BatchRow, DeviceKey, Store, Tx, decompress
from notary_core.errors import Reason
from notary_core.logleaf import AccessEvent, RegistryEvent

OPEN_END = 2**63 - 1  # an open-ended period (an owner still owns, a device is still fitted)


@dataclass(frozen=True, slots=True)
class Party:
    thumbprint: str
    role: str  # owner | insurer | adjuster | court | expert
    name: str
    public_key: bytes  # raw Ed25519
    revoked_utc_ns: int | None = None  # revoked or rotated out by the operator, since then
    successor: str | None = None  # the thumbprint of the key it was rotated to
    revoke_index: int | None = None  # the log entry of the revocation or rotation

    @property
    def live(self) -> bool:
        return self.revoked_utc_ns is None


@dataclass(frozen=True, slots=True)
class Period:
    """An installation (who = device id) or an ownership (who = owner thumbprint)."""

    vehicle_id: str
    who: str
    start_ns: int
    end_ns: int
    log_index: int


@dataclass(frozen=True, slots=True)
class AccessRequest:
    id: str
    vehicle_id: str
    party: str
    body: dict[str, Any]
    status: str  # pending | granted | denied
    created_utc_ns: int
    log_index: int
    grant_jti: str | None


@dataclass(frozen=True, slots=True)
class GrantRow:
    jti: str
    vehicle_id: str
    issuer: str
    grantee: str
    parent: str | None
    token: str
    log_index: int
    revoked_utc_ns: int | None
    revoke_index: int | None


_GRANT_COLS = (
    "jti, vehicle_id, issuer, grantee, parent, token, log_index, revoked_utc_ns, revoke_index"
)
_BATCH_COLS = (
    "device_id, batch_seq, header_hash, prev_header_hash, signed_header, salt_key, records_z, "
    "record_count, first_utc_ns, last_utc_ns, received_utc_ns, log_index"
)


def _grant(r: Sequence[Any]) -> GrantRow:
    return GrantRow(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7], r[8])


def _batch(r: Sequence[Any]) -> BatchRow:
    return BatchRow(r[0], int(r[1]), bytes(r[2]), bytes(r[3]), bytes(r[4]), bytes(r[5]),
                    decompress(bytes(r[6])), int(r[7]), int(r[8]), int(r[9]), int(r[10]),
                    int(r[11]))  # fmt: skip


class AccessTx:
    """Queries and writes of one open transaction."""

    def __init__(self, store: Store, tx: Tx) -> None:
        self.store = store
        self.tx = tx

    async def log(self, event: AccessEvent) -> int:
        """Append an access event to the transparency log and index it by vehicle."""
        index, _ = await self.store.append_event(self.tx, event, event.at_utc_ns)
        await self.tx.exec(
            "INSERT INTO access_log (log_index, vehicle_id, action, actor, subject, at_utc_ns) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (index, event.vehicle_id, int(event.action), event.actor, event.subject,
             event.at_utc_ns),
        )  # fmt: skip
        return index

    async def consume_nonce(self, keyid: str, nonce: str, expires_s: int, now_ns: int) -> None:
        await self.tx.exec("DELETE FROM nonces WHERE expires_ns < ?", (now_ns,))
        if await self.tx.one("SELECT 1 FROM nonces WHERE keyid = ? AND nonce = ?", (keyid, nonce)):
            raise Unauthorized(Reason.REPLAY, "this signed request was already used")
        await self.tx.exec(
            "INSERT INTO nonces (keyid, nonce, expires_ns) VALUES (?, ?, ?)",
            (keyid, nonce, expires_s * 1_000_000_000),
        )

    async def party(self, thumbprint: str) -> Party | None:
        r = await self.tx.one(
            "SELECT thumbprint, role, name, public_key, revoked_utc_ns, successor, revoke_index "
            "FROM parties WHERE thumbprint = ?",
            (thumbprint,),
        )
        if r is None:
            return None
        revoked, index = (None if v is None else int(v) for v in (r[4], r[6]))
        return Party(r[0], r[1], r[2], bytes(r[3]), revoked, r[5], index)

    async def retire_party(
        self, thumbprint: str, successor: str | None, event: RegistryEvent
    ) -> int:
        """Log a party key's revocation or rotation (a registry event on its chain) and mark
        the key retired in the same transaction; the event's log index."""
        index, _ = await self.store.append_event(self.tx, event, event.at_utc_ns)
        await self.tx.exec(
            "UPDATE parties SET revoked_utc_ns = ?, successor = ?, revoke_index = ? "
            "WHERE thumbprint = ? AND revoked_utc_ns IS NULL",
            (event.at_utc_ns, successor, index, thumbprint),
        )
        return index

    async def add_party(self, p: Party, now_ns: int) -> None:
        await self.tx.exec(
            "INSERT INTO parties (thumbprint, role, name, public_key, added_utc_ns) "
            "VALUES (?, ?, ?, ?, ?)",
            (p.thumbprint, p.role, p.name, p.public_key, now_ns),
        )

    async def vehicle_exists(self, vehicle_id: str) -> bool:
        row = await self.tx.one("SELECT 1 FROM vehicles WHERE vehicle_id = ?", (vehicle_id,))
        return row is not None

    async def add_vehicle(self, vehicle_id: str, label: str, now_ns: int) -> None:
        await self.tx.exec(
            "INSERT INTO vehicles (vehicle_id, label, added_utc_ns) VALUES (?, ?, ?)",
            (vehicle_id, label, now_ns),
        )

    async def periods(self, table: str, vehicle_id: str) -> list[Period]:
        who = {"installs": "device_id", "ownerships": "owner"}[table]
        rows = await self.tx.all(
            f"SELECT vehicle_id, {who}, start_ns, end_ns, log_index FROM {table} "  # noqa: S608
            "WHERE vehicle_id = ? ORDER BY start_ns",
            (vehicle_id,),
        )
        return [Period(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def installs_of(self, device_id: str) -> list[Period]:
        """Every installation of a device, in any vehicle."""
        rows = await self.tx.all(
            "SELECT vehicle_id, device_id, start_ns, end_ns, log_index FROM installs "
            "WHERE device_id = ? ORDER BY start_ns",
            (device_id,),
        )
        return [Period(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def end_period(self, table: str, p: Period, end_ns: int) -> None:
        who = {"installs": "device_id", "ownerships": "owner"}[table]
        await self.tx.exec(
            f"UPDATE {table} SET end_ns = ? WHERE vehicle_id = ? AND {who} = ? "  # noqa: S608
            "AND start_ns = ?",
            (end_ns, p.vehicle_id, p.who, p.start_ns),
        )

    async def add_period(self, table: str, p: Period) -> None:
        who = {"installs": "device_id", "ownerships": "owner"}[table]
        await self.tx.exec(
            f"INSERT INTO {table} (vehicle_id, {who}, start_ns, end_ns, log_index) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?)",
            (p.vehicle_id, p.who, p.start_ns, p.end_ns, p.log_index),
        )

    async def device_keys(self, device_id: str) -> list[DeviceKey]:
        rows = await self.tx.all(
            "SELECT device_id, key_id, spki, not_before_ns, not_after_ns, revoked_utc_ns, "
            "log_index FROM device_keys WHERE device_id = ? ORDER BY log_index",
            (device_id,),
        )
        return [DeviceKey(r[0], bytes(r[1]), bytes(r[2]), int(r[3]), r[4], r[5], int(r[6]))
                for r in rows]  # fmt: skip

    async def registry_leaves(self, from_index: int) -> list[tuple[int, bytes]]:
        """Registry-event leaves from an index on (rare: enrolments, rotations, revocations)."""
        rows = await self.tx.all(
            "SELECT idx, leaf FROM tlog_leaves WHERE idx >= ? AND substr(leaf, 1, 1) = ?",
            (from_index, b"\x02"),
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def add_request(self, r: AccessRequest) -> None:
        await self.tx.exec(
            "INSERT INTO access_requests (id, vehicle_id, party, body, status, created_utc_ns, "
            "log_index, grant_jti) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r.id, r.vehicle_id, r.party, json.dumps(r.body), r.status, r.created_utc_ns,
             r.log_index, r.grant_jti),
        )  # fmt: skip

    async def requests(self, where: str, params: Sequence[Any]) -> list[AccessRequest]:
        rows = await self.tx.all(
            "SELECT id, vehicle_id, party, body, status, created_utc_ns, log_index, grant_jti "  # noqa: S608 (where: ours)
            f"FROM access_requests WHERE {where} ORDER BY created_utc_ns",
            params,
        )
        return [AccessRequest(r[0], r[1], r[2], json.loads(r[3]), r[4], int(r[5]), int(r[6]),
                              r[7]) for r in rows]  # fmt: skip

    async def set_request(self, request_id: str, status: str, jti: str | None) -> None:
        await self.tx.exec(
            "UPDATE access_requests SET status = ?, grant_jti = ? WHERE id = ?",
            (status, jti, request_id),
        )

    async def grant(self, jti: str) -> GrantRow | None:
        r = await self.tx.one(f"SELECT {_GRANT_COLS} FROM grants WHERE jti = ?", (jti,))  # noqa: S608
        return None if r is None else _grant(r)

    async def grants_of(self, grantee: str, vehicle_id: str) -> list[GrantRow]:
        rows = await self.tx.all(
            f"SELECT {_GRANT_COLS} FROM grants WHERE grantee = ? AND vehicle_id = ? "  # noqa: S608
            "ORDER BY log_index DESC LIMIT 64",
            (grantee, vehicle_id),
        )
        return [_grant(r) for r in rows]

    async def children(self, jti: str) -> list[GrantRow]:
        rows = await self.tx.all(f"SELECT {_GRANT_COLS} FROM grants WHERE parent = ?", (jti,))  # noqa: S608
        return [_grant(r) for r in rows]

    async def add_grant(self, g: GrantRow) -> None:
        await self.tx.exec(
            f"INSERT INTO grants ({_GRANT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",  # noqa: S608
            (g.jti, g.vehicle_id, g.issuer, g.grantee, g.parent, g.token, g.log_index),
        )

    async def revoke(self, jti: str, now_ns: int, index: int) -> None:
        await self.tx.exec(
            "UPDATE grants SET revoked_utc_ns = ?, revoke_index = ? WHERE jti = ?",
            (now_ns, index, jti),
        )

    async def access_log(self, vehicle_id: str, limit: int) -> list[tuple[int, bytes]]:
        rows = await self.tx.all(
            "SELECT a.log_index, l.leaf FROM access_log a JOIN tlog_leaves l "
            "ON l.idx = a.log_index WHERE a.vehicle_id = ? ORDER BY a.log_index LIMIT ?",
            (vehicle_id, limit),
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def batch(self, device_id: str, seq: int) -> BatchRow | None:
        r = await self.tx.one(
            f"SELECT {_BATCH_COLS} FROM batches WHERE device_id = ? AND batch_seq = ?",  # noqa: S608
            (device_id, seq),
        )
        return None if r is None else _batch(r)

    async def batches(self, device_id: str, start_ns: int, end_ns: int) -> list[BatchRow]:
        """Batches meeting [start, end], and the one before them (what came before)."""
        rows = await self.tx.all(
            f"SELECT {_BATCH_COLS} FROM batches WHERE device_id = ? AND last_utc_ns >= ? "  # noqa: S608
            "AND first_utc_ns <= ? ORDER BY batch_seq",
            (device_id, start_ns, end_ns),
        )
        # Decompressing hundreds of batches is CPU: off the event loop (zlib frees the GIL).
        out = await asyncio.to_thread(lambda: [_batch(r) for r in rows])
        if out and out[0].batch_seq > 0:
            prev = await self.tx.one(
                f"SELECT {_BATCH_COLS} FROM batches WHERE device_id = ? AND batch_seq = ?",  # noqa: S608
                (device_id, out[0].batch_seq - 1),
            )
            if prev is not None:
                out.insert(0, _batch(prev))
        return out


class AccessStore:
    """Opens `AccessTx` transactions on the collector's store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AccessTx]:
        try:
            async with self.store.transaction() as tx:
                yield AccessTx(self.store, tx)
        except BaseException:
            self.store._pending_frontier = None  # the append was rolled back with the rest
            raise
        self.store._committed()
