"""Verified ingest with group commit: messages + time in, outcomes (and receipts) out.

Per message, in order: bound, open its compressed envelope (protocol §5.1) and parse, match
the topic, find the device key valid at the batch's time, verify signature and Merkle root,
compress the records (all CPU, outside any transaction). Then one transaction for the
whole group checks each batch's hash chain in arrival order (seeing the group's earlier
batches), stores batches, log leaves, gaps and quarantine rows, and commits once. Only then
are receipts made. Anything rejected is kept in quarantine with its reason and bytes (as
received); nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from collector import limits
from collector.ingest import timecheck
from collector.store.base import BatchRow, DeviceKey, IngestGroup, Store, compress
from notary_core import cose, envelope
from notary_core import limits as core_limits
from notary_core.batch import SealedBatch, split_records_block
from notary_core.errors import BadData, Reason, too_large
from notary_core.header import BatchHeader, Beacon
from notary_core.receipt import Receipt, ReceiptStatus
from notary_core.records import ClockSource

# A REJECTED receipt tells the agent to stop re-sending: only for faults that a re-send can
# never cure. UNKNOWN_DEVICE / UNKNOWN_KEY may be cured by registering the device later.
FINAL_REASONS = frozenset(
    {
        Reason.BAD_SIGNATURE,
        Reason.ROOT_MISMATCH,
        Reason.COUNT_MISMATCH,
        Reason.CHAIN_BROKEN,
        Reason.KEY_MISMATCH,
        Reason.MALFORMED,
        Reason.NON_CANONICAL,
        Reason.TOO_LARGE,
        Reason.FORK,
        Reason.REVOKED_KEY,
        Reason.KEY_NOT_VALID,
        Reason.TIME_REGRESSION,
        Reason.FUTURE_TIME,
    }
)

TOPIC_RE = re.compile(r"vn/v1/dev/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/batch")


def receipt_topic(device_id: str) -> str:
    return f"vn/v1/dev/{device_id}/receipt"


def device_from_topic(topic: str) -> str:
    m = TOPIC_RE.fullmatch(topic[: limits.MAX_TOPIC])
    if m is None:
        raise BadData(Reason.TOPIC_MISMATCH, f"not a batch topic: {topic[:80]!r}")
    return m.group(1)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # stored | replay | rejected
    reason: str | None
    device_id: str | None
    batch_seq: int | None
    log_index: int | None
    receipt: bytes | None  # signed; publish to receipt_topic(device_id) if present
    gap: tuple[int, int] | None = None  # first and last missing seq, newly opened
    quarantine_id: int | None = None


def key_for(keys: list[DeviceKey], header: BatchHeader) -> DeviceKey:
    """The registered key that signed this header and was valid at the batch's time."""
    if not keys:
        raise BadData(Reason.UNKNOWN_DEVICE, f"device {header.device_id!r} unregistered")
    for k in keys:
        if k.key_id != header.key_id:
            continue
        if k.revoked_utc_ns is not None:
            raise BadData(Reason.REVOKED_KEY, "the device key is revoked")
        t = header.first_utc_ns
        if t < k.not_before_ns or (
            k.not_after_ns is not None and header.last_utc_ns >= k.not_after_ns
        ):
            raise BadData(Reason.KEY_NOT_VALID, "batch time outside the key's validity")
        return k
    raise BadData(Reason.UNKNOWN_KEY, "the header's key id is not registered for the device")


@dataclass(slots=True)
class _Item:
    """One message of a group after the CPU phase: verified, or holding its rejection."""

    topic: str
    payload: bytes
    device: str | None = None  # from the topic
    header: BatchHeader | None = None
    sealed: SealedBatch | None = None
    records_z: bytes = b""
    error: BadData | None = None


class Ingestor:
    """One per collector process; call `ingest_group` from a single task (not reentrant)."""

    def __init__(
        self,
        store: Store,
        signer: cose.Signer,
        times: timecheck.TimeTolerance | None = None,
        gap_grace_ns: int = 0,
    ) -> None:
        self.store = store
        self.signer = signer
        self.times = times or timecheck.TimeTolerance()
        # > 0: a hole is pending until it outlives this (Store.confirm_gaps), so batches of a
        # device reordered across collectors open no gap record (docs/collector.md § Gaps)
        self.gap_grace_ns = gap_grace_ns
        self._beacon: tuple[int, Beacon | None] = (-(1 << 63), None)  # (read at, beacon)

    async def ingest(self, topic: str, payload: bytes, now_ns: int) -> Outcome:
        return (await self.ingest_group([(topic, payload)], now_ns))[0]

    async def ingest_group(
        self, messages: Sequence[tuple[str, bytes]], now_ns: int
    ) -> list[Outcome]:
        """Ingest messages in one transaction; outcomes in the same order. Every outcome
        (and receipt) describes committed state; on Unreachable nothing was committed and
        the whole group may be retried (the store is idempotent by (device, batch_seq))."""
        items = [self._parse(topic, payload) for topic, payload in messages]
        devices = {i.header.device_id for i in items if i.header is not None and not i.error}
        keys = await self.store.device_keys_of(devices)
        for item in items:
            if item.error is None:
                self._verify(item, keys.get(item.device or "", []))
        wanted = [(i.header.device_id, i.header.batch_seq) for i in items if i.sealed and i.header]
        async with self.store.ingest_group(now_ns, self.gap_grace_ns > 0) as group:
            await group.prefetch(wanted)
            done = [await self._commit(group, item, now_ns) for item in items]
        beacon = await self._latest_beacon(now_ns)
        return [self._with_receipt(outcome, item, now_ns, beacon) for outcome, item in done]

    async def _latest_beacon(self, now_ns: int) -> Beacon | None:
        """The latest final anchor's block for receipts (§6.1), read at most once a second."""
        at, beacon = self._beacon
        if now_ns - at >= 10**9 or now_ns < at:
            beacon = await self.store.latest_beacon()
            self._beacon = (now_ns, beacon)
        return beacon

    def _parse(self, topic: str, payload: bytes) -> _Item:
        item = _Item(topic, payload)
        try:
            item.device = device_from_topic(topic)
            if len(payload) > core_limits.MAX_BATCH_PAYLOAD:
                raise too_large("payload", len(payload), core_limits.MAX_BATCH_PAYLOAD)
            # §5.1: a compressed envelope inflates (bounded) to the canonical sealed batch;
            # a bare one comes back as it is. Quarantine keeps the payload as received.
            sealed = SealedBatch.from_bytes(envelope.unwrap(payload))
            item.header = sealed.signed.header
            if item.header.device_id != item.device:
                raise BadData(
                    Reason.TOPIC_MISMATCH,
                    f"topic names {item.device!r}, header names {item.header.device_id!r}",
                )
            item.sealed = sealed
        except BadData as exc:
            item.error = exc
        return item

    @staticmethod
    def _verify(item: _Item, keys: list[DeviceKey]) -> None:
        assert item.sealed is not None and item.header is not None
        try:
            key = key_for(keys, item.header)
            item.sealed.verify(cose.PublicKey.from_spki(key.spki))
            item.records_z = compress(item.sealed.records_block)
        except BadData as exc:
            item.error, item.sealed = exc, None

    async def _commit(self, group: IngestGroup, item: _Item, now_ns: int) -> tuple[Outcome, _Item]:
        """The hash-chain checks and the writes of one message, inside the group."""
        sealed, header = item.sealed, item.header
        if item.error is not None or sealed is None or header is None:
            return await self._reject(group, item, item.error), item
        header_hash = sealed.signed.header_hash
        ctx = await group.chain_context(header.device_id, header.batch_seq)
        if ctx.same is not None:
            if ctx.same[0] != header_hash:
                err = BadData(Reason.FORK, "another header is stored at this batch_seq")
                return await self._reject(group, item, err), item
            qid = await self._keep(group, item, str(Reason.REPLAY), "already stored")
            # The agent may have lost our receipt: answer again, with the original log index.
            return Outcome(
                "replay",
                str(Reason.REPLAY),
                header.device_id,
                header.batch_seq,
                ctx.same[1],
                None,
                quarantine_id=qid,
            ), item
        broken = None
        if ctx.prev_hash is not None and ctx.prev_hash != header.prev_header_hash:
            broken = "prev_header_hash is not the stored predecessor"
        elif ctx.next_prev_hash is not None and ctx.next_prev_hash != header_hash:
            broken = "the stored successor names another predecessor"
        if broken is not None:
            return await self._reject(group, item, BadData(Reason.CHAIN_BROKEN, broken)), item
        if (bad_time := await self._check_times(group, header, sealed, now_ns)) is not None:
            return await self._reject(group, item, bad_time), item
        expected = 0 if ctx.max_seq is None else ctx.max_seq + 1
        row = BatchRow(
            header.device_id,
            header.batch_seq,
            header_hash,
            header.prev_header_hash,
            sealed.signed.raw,
            sealed.salt_key,
            sealed.records_block,
            header.record_count,
            header.first_utc_ns,
            header.last_utc_ns,
            now_ns,
        )
        index = await group.add_batch(row, item.records_z)
        gap = (expected, header.batch_seq - 1) if header.batch_seq > expected else None
        return Outcome(
            "stored",
            str(Reason.GAP) if gap else None,
            header.device_id,
            header.batch_seq,
            index,
            None,
            gap,
        ), item

    async def _check_times(
        self, group: IngestGroup, h: BatchHeader, sealed: SealedBatch, now_ns: int
    ) -> BadData | None:
        """§6.2: FUTURE_TIME against the arrival, TIME_REGRESSION against the nearest stored
        predecessor unless the pair's CLOCK_STEP events explain it (collector/ingest/timecheck)."""
        if (err := timecheck.future_time(h, now_ns, self.times)) is not None:
            return err
        if h.clock_source == ClockSource.REPLAY:
            return None
        prev = await group.predecessor(h.device_id, h.batch_seq)
        back = timecheck.regression_ns(h, prev)
        if prev is None or back <= self.times.regression_ns:
            return None
        steps = timecheck.backward_steps_ns(split_records_block(sealed.records_block))
        steps += timecheck.backward_steps_ns(await group.records_of(h.device_id, prev.batch_seq))
        return timecheck.time_regression(h, prev, back, steps, self.times)

    def _with_receipt(
        self, out: Outcome, item: _Item, now_ns: int, beacon: Beacon | None = None
    ) -> Outcome:
        """Sign the receipt of a committed outcome (never before the commit)."""
        h = item.header
        if h is None:
            return out
        if out.status in ("stored", "replay") and out.log_index is not None:
            header_hash = item.sealed.signed.header_hash if item.sealed else h.hash()
            status, index = ReceiptStatus.STORED, out.log_index
        elif h.device_id == item.device and out.reason in FINAL_REASONS:
            # Only the authenticated publisher (topic device == header device) is told to stop.
            header_hash, status, index = h.hash(), ReceiptStatus.REJECTED, -1
        else:
            return out
        receipt = Receipt(h.device_id, h.batch_seq, header_hash, status, now_ns, index, beacon)
        return replace(out, receipt=receipt.sign(self.signer))

    @staticmethod
    async def _keep(group: IngestGroup, item: _Item, reason: str, detail: str) -> int | None:
        """Quarantine within the publisher's daily quota (None: only counted). The source is
        the topic's device, the one the broker authenticated, whatever the payload claims;
        replays have a quota of their own, so re-sends never crowd out rejections."""
        payload = item.payload
        kept = payload[: limits.MAX_QUARANTINE_PAYLOAD]
        if len(kept) < len(payload):
            detail = f"{detail} (kept {len(kept)} of {len(payload)} bytes)"
        h = item.header
        source = item.device or "(no device topic)"
        if reason == str(Reason.REPLAY):
            source += " (replays)"
        return await group.quarantine(
            item.topic[: limits.MAX_TOPIC],
            h.device_id if h else None,
            h.batch_seq if h else None,
            reason,
            detail,
            kept,
            source,
        )

    async def _reject(self, group: IngestGroup, item: _Item, exc: BadData | None) -> Outcome:
        assert exc is not None
        reason = str(exc.reason)
        qid = await self._keep(group, item, reason, exc.message)
        h = item.header
        return Outcome(
            "rejected",
            reason,
            h.device_id if h else item.device,
            h.batch_seq if h else None,
            None,
            None,
            quarantine_id=qid,
        )
