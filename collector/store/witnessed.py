"""SQL of witnessing over the collector's Store: cosignatures per checkpoint, what each
witness last cosigned, publication, and alarms (schema migration 4).

A checkpoint is *published* when its `cosigned_note` is set: the signed note with the
cosignature lines of a quorum of witnesses. Everything outside the log (the API, the
anchorer, evidence bundles) reads only published checkpoints. Nothing here is trusted:
the witnesses' own state is the authority (a 409 tells the true size), and a published
note proves itself by its signatures.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.store.base import CheckpointRow, Store, Tx


@dataclass(frozen=True, slots=True)
class Alarm:
    id: int
    kind: str  # a Reason: REWRITE, FORK, UNKNOWN_KEY, ...
    source: str  # "signer" or a witness name
    detail: str
    raised_utc_ns: int


class WitnessedStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def cosignatures(self, size: int) -> dict[str, str]:
        """Witness name -> cosignature line, for the checkpoint of this size."""
        async with self.store.transaction() as tx:
            rows = await tx.all("SELECT witness, line FROM cosignatures WHERE size = ?", (size,))
        return {str(r[0]): str(r[1]) for r in rows}

    async def add_cosignature(self, size: int, witness: str, line: str, now_ns: int) -> None:
        """Store a verified cosignature and advance the witness's size, in one transaction."""
        async with self.store.transaction() as tx:
            await tx.exec(
                "INSERT INTO cosignatures (size, witness, line, received_utc_ns) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING",
                (size, witness, line, now_ns),
            )
            await _set_size(tx, witness, size, now_ns)

    async def witness_size(self, witness: str) -> int:
        """What the witness last cosigned, as far as we know (0: nothing yet)."""
        async with self.store.transaction() as tx:
            row = await tx.one("SELECT size FROM witness_state WHERE witness = ?", (witness,))
        return 0 if row is None else int(row[0])

    async def set_witness_size(self, witness: str, size: int, now_ns: int) -> None:
        async with self.store.transaction() as tx:
            await _set_size(tx, witness, size, now_ns)

    async def publish(self, size: int, cosigned_note: bytes, now_ns: int) -> None:
        async with self.store.transaction() as tx:
            await tx.exec(
                "UPDATE checkpoints SET cosigned_note = ?, published_utc_ns = ? "
                "WHERE size = ? AND cosigned_note IS NULL",
                (cosigned_note, now_ns, size),
            )

    async def latest_published(self) -> CheckpointRow | None:
        return await self.store.latest_published_checkpoint()

    async def raise_alarm(self, kind: str, source: str, detail: str, now_ns: int) -> bool:
        """Open an alarm unless one of this kind and source is open; True if it is new."""
        async with self.store.transaction() as tx:
            row = await tx.one(
                "SELECT id FROM alarms WHERE kind = ? AND source = ? AND cleared_utc_ns IS NULL",
                (kind, source),
            )
            if row is not None:
                await tx.exec("UPDATE alarms SET detail = ? WHERE id = ?", (detail[:2000], row[0]))
                return False
            await tx.exec(
                "INSERT INTO alarms (kind, source, detail, raised_utc_ns) VALUES (?, ?, ?, ?)",
                (kind, source, detail[:2000], now_ns),
            )
        return True

    async def clear_alarms(self, source: str, now_ns: int) -> None:
        async with self.store.transaction() as tx:
            await tx.exec(
                "UPDATE alarms SET cleared_utc_ns = ? WHERE source = ? AND cleared_utc_ns IS NULL",
                (now_ns, source),
            )

    async def open_alarms(self) -> list[Alarm]:
        async with self.store.transaction() as tx:
            rows = await tx.all(
                "SELECT id, kind, source, detail, raised_utc_ns FROM alarms "
                "WHERE cleared_utc_ns IS NULL ORDER BY id"
            )
        return [Alarm(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]


async def _set_size(tx: Tx, witness: str, size: int, now_ns: int) -> None:
    await tx.exec(
        "INSERT INTO witness_state (witness, size, updated_utc_ns) VALUES (?, ?, ?) "
        "ON CONFLICT (witness) DO UPDATE SET size = excluded.size, "
        "updated_utc_ns = excluded.updated_utc_ns",
        (witness, size, now_ns),
    )
