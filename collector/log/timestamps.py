"""RFC 3161 timestamps of anchored checkpoints (docs/collector.md § Timestamps): a second,
legally recognised "not after" beside the chain (docs/protocol.md §12.2 key 13).

Each round (`Timestamper.tick`, on the anchoring interval) asks every configured TSA for a
token over SHA-256 of the note text of each final-anchored checkpoint it has no token for,
newest first and at most `PER_ROUND` per TSA, so that after an outage the checkpoint the
next bundles use is stamped first. A request carries a fresh 64-bit nonce and certReq; the
answer must be a granted token over our digest with our nonce (notary_core.tsa), and is
stored in the same store as the anchors (schema migration 6). A TSA that is down, slow or
refusing is logged and asked again next round: anchoring never waits for it.
"""

from __future__ import annotations

import abc
import logging
import secrets
from dataclasses import dataclass

from collector.store.base import Store
from notary_core import tsa
from notary_core.errors import NotaryError, Unreachable

log = logging.getLogger(__name__)

PER_ROUND = 4
"""Checkpoints stamped per TSA per round: the newest first; a backlog drains over rounds."""


class TsaUnavailable(Unreachable):
    """The TSA did not answer, or not over HTTP as RFC 3161 §3.4 says; retry later."""


class TsaClient(abc.ABC):
    """A TSA endpoint. `stamp` raises only TsaUnavailable on failure."""

    url: str

    @abc.abstractmethod
    async def stamp(self, query: bytes) -> bytes:
        """POST a DER TimeStampReq; return the DER TimeStampResp."""

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Stored:
    size: int
    tsa: str
    token: bytes
    gen_time_ns: int


class Timestamper:
    def __init__(self, store: Store, clients: list[TsaClient]) -> None:
        self.store = store
        self.clients = clients

    async def tick(self, now_ns: int) -> list[Stored]:
        """One round over every TSA; returns the tokens stored. Never raises for a TSA's
        fault (logged, retried next round); a store outage propagates (Unreachable)."""
        got: list[Stored] = []
        for client in self.clients:
            for size, note in await self.store.unstamped(client.url, PER_ROUND):
                try:
                    got.append(await self._stamp(client, size, note, now_ns))
                except TsaUnavailable as exc:
                    log.warning("timestamp of checkpoint %d delayed: %s", size, exc)
                    break  # that TSA is down: the next round asks again
                except NotaryError as exc:  # refused, or answered another digest or nonce
                    log.error("TSA %s gave no usable token for checkpoint %d: %s",
                              client.url, size, exc)  # fmt: skip
                    break
        return got

    async def _stamp(self, client: TsaClient, size: int, note: bytes, now_ns: int) -> Stored:
        digest = tsa.imprint_of(note)
        nonce = secrets.randbits(64)
        token = tsa.token_from_response(await client.stamp(tsa.request(digest, nonce)), digest,
                                        nonce)  # fmt: skip
        row = Stored(size, client.url, token.der, token.gen_time_ns)
        await self.store.add_timestamp(row.size, row.tsa, row.token, row.gen_time_ns, now_ns)
        log.info("checkpoint %d time-stamped by %s", size, client.url)
        return row
