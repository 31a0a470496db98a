"""Witnessing: every signed checkpoint goes to the configured witnesses (C2SP tlog-witness),
and is published (API, anchor, bundles) only once a quorum cosigned it.

Each round takes the newest signed checkpoint and asks every witness that has not
cosigned it yet, with the old size that witness last cosigned and a consistency proof
from there. Cosignatures are verified against the pinned witness key before they are
stored. What the witness answers decides:

    200         store the cosignature; the witness is now at this size
    409 + size  our record of its size was stale (a crash between its commit and our
                store): retry once from its size; its size above our checkpoint: REWRITE
    409 (same size) / 422    the witness holds a history our tree does not extend: REWRITE
    400 / 403 / 404          the witness refuses us: MALFORMED, UNKNOWN_KEY (it does not pin
                             our key), ORIGIN_MISMATCH (it does not know our log)
    200 without a valid cosignature by its pinned key: BAD_SIGNATURE
    5xx, no answer           an outage: publication waits, nothing is lost

A refusal is an alarm: logged CRITICAL once and kept open in the store (`/readyz`) until
that witness cosigns again. Only the leader runs rounds (collector/service.py).
"""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass

from collector.store.base import CheckpointRow, Store
from collector.store.witnessed import WitnessedStore
from notary_core.errors import BadData, Reason, Unreachable
from notary_core.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    WitnessVerifier,
    add_signatures,
    cosignatures,
    parse_cosignature_lines,
    parse_size,
    require_quorum,
)

log = logging.getLogger(__name__)
_REFUSAL = {400: Reason.MALFORMED, 403: Reason.UNKNOWN_KEY, 404: Reason.ORIGIN_MISMATCH}


class WitnessUnavailable(Unreachable):
    """The witness did not answer, or answered 5xx: retry next round."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes


class WitnessClient(abc.ABC):
    """One witness. `add_checkpoint` raises only WitnessUnavailable."""

    verifier: WitnessVerifier

    @property
    def name(self) -> str:
        return self.verifier.name

    @abc.abstractmethod
    async def add_checkpoint(self, body: bytes) -> Reply: ...

    async def close(self) -> None:
        return None


async def witness_sizes(clients: list[WitnessClient], empty_note: bytes) -> dict[str, int]:
    """The size each reachable witness last cosigned for our log (tlog-witness: "a client
    [...] MAY initially make a request with an old size of zero to obtain it"). The request
    carries our checkpoint of the empty tree, which every history extends: a witness that
    never saw the log cosigns it and stays at 0; one that did answers 409 with its size."""
    body = AddCheckpoint(0, (), empty_note).encode()

    async def one(c: WitnessClient) -> tuple[str, int | None]:
        try:
            reply = await c.add_checkpoint(body)
        except WitnessUnavailable as exc:
            log.warning("witness %s unavailable for the size probe: %s", c.name, exc.message)
            return c.name, None
        if reply.status == 200:
            return c.name, 0
        if reply.status == 409 and reply.content_type.startswith(SIZE_CONTENT_TYPE):
            try:
                return c.name, parse_size(reply.body)
            except BadData:
                pass
        log.warning("witness %s answered the size probe with %d", c.name, reply.status)
        return c.name, None

    answers = await asyncio.gather(*(one(c) for c in clients))
    return {name: size for name, size in answers if size is not None}


class Witnessing:
    def __init__(self, store: Store, clients: list[WitnessClient], quorum: int) -> None:
        self.store, self.clients, self.quorum = store, clients, quorum
        self.ws = WitnessedStore(store)

    async def tick(self, now_ns: int) -> CheckpointRow | None:
        """One round; returns the checkpoint published by it, if any."""
        cp = await self.store.latest_checkpoint()
        published = await self.ws.latest_published()
        if cp is None or (published is not None and published.size >= cp.size):
            return None
        have = await self.ws.cosignatures(cp.size)
        asking = [c for c in self.clients if c.name not in have]
        got = await asyncio.gather(*(self._ask(c, cp, now_ns) for c in asking))
        lines = [*have.values(), *(x for x in got if x is not None)]
        if len(lines) < self.quorum:
            return None
        note = add_signatures(cp.note, sorted(lines))
        require_quorum(note, [c.verifier for c in self.clients], self.quorum)
        await self.ws.publish(cp.size, note, now_ns)
        log.info("published checkpoint %d with %d cosignatures", cp.size, len(lines))
        return CheckpointRow(cp.size, cp.root, note, now_ns)

    async def _ask(self, c: WitnessClient, cp: CheckpointRow, now_ns: int) -> str | None:
        old = await self.ws.witness_size(c.name)
        for _ in range(2):
            if old > cp.size:
                lost = f"it cosigned size {old}, our newest checkpoint is {cp.size}: entries lost"
                await self._alarm(Reason.REWRITE, c, lost, now_ns)
                return None
            try:
                proof = [] if old in (0, cp.size) else await self.store.consistency_proof(
                    old, cp.size)  # fmt: skip
            except BadData as exc:  # the store lost nodes of its own tree
                await self._alarm(Reason.REWRITE, c, f"no consistency proof from size {old}: "
                                  f"{exc.message}", now_ns)  # fmt: skip
                return None
            try:
                reply = await c.add_checkpoint(AddCheckpoint(old, tuple(proof), cp.note).encode())
            except WitnessUnavailable as exc:
                log.warning("witness %s unavailable: %s", c.name, exc.message)
                return None
            if reply.status == 200:
                return await self._cosigned(c, cp, reply, now_ns)
            if reply.status == 409 and reply.content_type.startswith(SIZE_CONTENT_TYPE):
                try:
                    size = parse_size(reply.body)
                except BadData:
                    size = old
                if size != old:
                    old = size
                    await self.ws.set_witness_size(c.name, size, now_ns)
                    continue
            await self._refused(c, cp, old, reply, now_ns)
            return None
        return None

    async def _cosigned(
        self, c: WitnessClient, cp: CheckpointRow, reply: Reply, now_ns: int
    ) -> str | None:
        try:
            note = add_signatures(cp.note, parse_cosignature_lines(reply.body))
            valid = cosignatures(note, [c.verifier]).valid
        except BadData as exc:
            valid, why = (), exc.message
        else:
            why = "no line verifies under its pinned key"
        if not valid:
            await self._alarm(Reason.BAD_SIGNATURE, c, f"answered 200 without a cosignature: "
                              f"{why}", now_ns)  # fmt: skip
            return None
        await self.ws.add_cosignature(cp.size, c.name, valid[0].line, now_ns)
        await self.ws.clear_alarms(c.name, now_ns)
        return valid[0].line

    async def _refused(
        self, c: WitnessClient, cp: CheckpointRow, old: int, reply: Reply, now_ns: int
    ) -> None:
        text = reply.body[:300].decode("utf-8", "replace").strip()
        if reply.status in (409, 422):
            await self._alarm(Reason.REWRITE, c, f"refused size {cp.size} from size {old} "
                              f"({reply.status}): it holds a history our tree does not extend: "
                              f"{text}", now_ns)  # fmt: skip
        elif reply.status in _REFUSAL:
            await self._alarm(_REFUSAL[reply.status], c, f"refused ({reply.status}): {text}",
                              now_ns)  # fmt: skip
        else:
            log.warning("witness %s answered %d: %s", c.name, reply.status, text)

    async def _alarm(self, kind: str, c: WitnessClient, detail: str, now_ns: int) -> None:
        if await self.ws.raise_alarm(str(kind), c.name, detail, now_ns):
            log.critical("ALARM %s from witness %s: %s", kind, c.name, detail)
