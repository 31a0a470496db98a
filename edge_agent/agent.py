"""The running agent: sources -> batcher -> sealer -> SQLite spool -> MQTT, receipts back.

One main thread owns the batcher, sealer, spool and delivery schedule; sources run in
their own threads and paho in its network thread, both handing over through queues.
A batch is committed to the spool before it is published and released only by a valid
collector receipt. Startup validates everything first and fails with one clear error.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from importlib import metadata

from edge_agent import device_key, system_linux
from edge_agent.batcher import Batcher, Chunk, ClosedBatch
from edge_agent.clock import ClockWatch
from edge_agent.config import Config, SourceConfig
from edge_agent.delivery import Delivery
from edge_agent.limits import AGENT_STREAM, CAPTURE_QUEUE_CHUNKS
from edge_agent.publisher import MqttPublisher
from edge_agent.sealer import Identity, Sealer
from edge_agent.sources.base import Emitter, Source
from edge_agent.sources.can import CanBusSource, ReplaySource
from edge_agent.spool import SPOOL_STREAM, Spool
from notary_core import records as rec
from notary_core.errors import BadData, NotaryError, Reason, Unreachable
from notary_core.receipt import open_receipt

log = logging.getLogger(__name__)
PRUNE_INTERVAL_NS = 60 * 10**9


def agent_version() -> str:
    try:
        return f"vnotary-edge/{metadata.version('vnotary')}"
    except metadata.PackageNotFoundError:
        return "vnotary-edge/dev"


def make_source(cfg: SourceConfig, clock: rec.ClockSource) -> Source:
    if cfg.type == "replay":
        return ReplaySource(cfg)
    if cfg.type == "can":
        return CanBusSource(cfg, clock)
    if cfg.type == "nmea":
        from edge_agent.sources.nmea import NmeaSerialSource  # noqa: PLC0415 - pyserial only here

        return NmeaSerialSource(cfg, clock)
    from edge_agent.sources.bridge import BridgeSerialSource  # noqa: PLC0415

    return BridgeSerialSource(cfg, clock)


class Agent:
    def __init__(self, cfg: Config) -> None:
        """Validate keys, spool location and TLS files; raise NotaryError with the reason."""
        self.cfg = cfg
        Spool.check_location(cfg.spool_path, cfg.min_free_bytes)
        self.signer = device_key.load_signer(cfg.key_file)
        self.collector_key = device_key.load_public(cfg.mqtt.collector_public_key)
        device_key.check_private_file(cfg.mqtt.key_file)
        for p in (cfg.mqtt.ca_file, cfg.mqtt.cert_file):
            if not os.access(p, os.R_OK):
                raise BadData(Reason.BAD_KEY, f"TLS file {p} is missing or unreadable")
        self.spool = Spool(cfg.spool_path, cfg.spool_max_bytes, int(cfg.retention_s * 1e9))
        self.head = self.spool.head()
        counters = self.spool.counters()
        self.batcher = Batcher(int(cfg.window_s * 1e9), cfg.max_records, counters)
        self.clock, self.uncertainty = system_linux.clock_status()
        identity = Identity(cfg.device_id, system_linux.boot_id(), agent_version(), cfg.config_hash)
        self.sealer = Sealer(self.signer, identity)
        self.chunks: queue.Queue[Chunk] = queue.Queue(CAPTURE_QUEUE_CHUNKS)
        self.receipts: queue.Queue[bytes] = queue.Queue()
        self.sources = [make_source(s, self.clock) for s in cfg.sources]
        if any(isinstance(s, ReplaySource) for s in self.sources):
            self.clock = rec.ClockSource.REPLAY
        start = {k: c.seen for k, c in counters.items()}
        self.events = Emitter(self.chunks, start, self.clock)
        self._emitters = [Emitter(self.chunks, start, s.clock) for s in self.sources]
        self.delivery = Delivery(cfg.mqtt.inflight, int(cfg.mqtt.receipt_timeout_s * 1e9))
        self.publisher = MqttPublisher(cfg.mqtt, cfg.device_id, self.receipts)
        self._epoch = 0
        self.bad_receipts = 0

    def run(self, stop: threading.Event) -> int:
        self.events.event(AGENT_STREAM, rec.EventType.AGENT_START, detail=agent_version())
        self.events.flush()
        threads = [
            threading.Thread(target=s.run, args=(e, stop), name=f"source-{s.name}", daemon=True)
            for s, e in zip(self.sources, self._emitters, strict=True)
        ]
        for t in threads:
            t.start()
        self.publisher.start()
        watch, last_prune = ClockWatch(), 0
        try:
            while not stop.is_set():
                now = time.monotonic_ns()
                self._take_chunks(now)
                if (due := self.batcher.due(now)) is not None:
                    self._seal_commit(due)
                self._take_receipts()
                self._send(now)
                if (step := watch.observe(now, time.time_ns())) is not None:
                    self.events.event(
                        AGENT_STREAM, rec.EventType.CLOCK_STEP, step.step_ns, step.new_utc_ns
                    )
                    self.events.flush()
                if now - last_prune > PRUNE_INTERVAL_NS:
                    self.spool.prune(time.time_ns())
                    last_prune = now
                if self.cfg.exit_when_done and self._done():
                    break
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
            self._take_chunks(time.monotonic_ns())
            if (last := self.batcher.flush()) is not None:
                self._seal_commit(last)
            self.publisher.stop()
            self.spool.close()
        return 0

    def _done(self) -> bool:
        return (
            all(s.finished.is_set() for s in self.sources)
            and self.chunks.empty()
            and len(self.batcher) == 0
            and not self.spool.unacked()
        )

    def _take_chunks(self, now: int) -> None:
        try:
            chunk = self.chunks.get(timeout=0.01)
        except queue.Empty:
            return
        while True:
            for closed in self.batcher.add(chunk, now):
                self._seal_commit(closed)
            try:
                chunk = self.chunks.get_nowait()
            except queue.Empty:
                return

    def _seal_commit(self, closed: ClosedBatch) -> None:
        """Seal and durably commit; retry while the spool fails (the head does not move)."""
        while True:
            sealed = self.sealer.seal(
                self.head, closed, os.urandom(32), self.clock, self.uncertainty
            )
            try:
                discard = self.spool.commit(sealed, time.time_ns())
                break
            except Unreachable as exc:
                log.error("%s: retrying in 1 s", exc)
                time.sleep(1)
        self.head = self.head.after(sealed)
        self.delivery.sealed(self.head.next_seq - 1)
        if discard is not None:
            self.delivery.forget(set(discard.seqs))
            self.batcher.count(SPOOL_STREAM, dropped=discard.records, gaps=discard.batches)
            self.events.event(
                AGENT_STREAM,
                rec.EventType.SPOOL_DISCARD,
                discard.batches,
                discard.first_seq,
                f"spool over {self.cfg.spool_max_bytes} bytes: {discard.records} records discarded",
            )
            self.events.flush()

    def _take_receipts(self) -> None:
        while True:
            try:
                raw = self.receipts.get_nowait()
            except queue.Empty:
                return
            try:
                receipt = open_receipt(raw, self.collector_key)
                if receipt.device_id != self.cfg.device_id:
                    raise BadData(Reason.KEY_MISMATCH, f"receipt for {receipt.device_id!r}")
            except NotaryError as exc:
                self.bad_receipts += 1
                log.warning("receipt refused: %s", exc)
                continue
            if self.spool.ack(receipt, raw, time.time_ns()):
                self.delivery.acked(receipt.batch_seq)

    def _send(self, now: int) -> None:
        if not self.publisher.ready:
            return
        if self.publisher.epoch != self._epoch:
            self._epoch = self.publisher.epoch
            self.delivery.reconnected(self.spool.unacked())
        while (seq := self.delivery.next_batch(now)) is not None:
            payload = self.spool.payload(seq)
            if payload is None:  # pruned or discarded meanwhile
                self.delivery.acked(seq)
                continue
            if not self.publisher.publish(payload):
                self.delivery.reconnected(self.spool.unacked())
                return
