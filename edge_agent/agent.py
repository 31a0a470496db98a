"""The running agent: sources -> batcher -> sealer -> SQLite spool -> MQTT, receipts back.

One main thread owns the batcher, sealer, spool and delivery schedule; sources run in
their own threads and paho in its network thread, both handing over through queues.
A batch is committed to the spool, and its head to the head file, before it is published;
it is checked against its own root before each send and released only by a valid
collector receipt. Startup validates everything first and fails with one clear error.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import replace
from importlib import metadata
from typing import TYPE_CHECKING

from edge_agent import device_key, headfile, recovery, sdnotify, system_linux
from edge_agent.batcher import Batcher, Chunk, ClosedBatch
from edge_agent.chrony import ClockMonitor
from edge_agent.clock import ClockWatch
from edge_agent.config import Config, SourceConfig
from edge_agent.delivery import Delivery
from edge_agent.discipline import ClockLabel, ClockReading, from_adjtimex, worst
from edge_agent.limits import (
    AGENT_STREAM,
    CAPTURE_QUEUE_CHUNKS,
    PROBE_TIMEOUT_S,
    SPOOL_WARN_FRACTIONS,
)
from edge_agent.losses import carried_reports, loss_event, unsealed
from edge_agent.publisher import MqttPublisher, check_tls
from edge_agent.sealer import Identity, Sealer
from edge_agent.sources.base import Emitter, Source
from edge_agent.sources.can import CanBusSource, ReplaySource
from edge_agent.spool import SPOOL_STREAM, Spool, SpoolDamaged
from notary_core import records as rec
from notary_core.errors import BadData, NotaryError, Reason, Unreachable
from notary_core.header import Beacon
from notary_core.receipt import ReceiptStatus, open_receipt_any

if TYPE_CHECKING:
    from edge_agent.metrics_http import MetricsServer

log = logging.getLogger(__name__)
PRUNE_INTERVAL_NS = 60 * 10**9
METRICS_INTERVAL_NS = 10**9  # how often the metrics server gets a new snapshot


class StoppedUnsealed(Unreachable):
    """Asked to stop while the spool could not be written: what was not committed is lost."""


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


def replay_of(source: Source) -> bool:
    return isinstance(source, ReplaySource)


class Agent:
    def __init__(self, cfg: Config) -> None:
        """Validate keys, spool location and TLS files; raise NotaryError with the reason."""
        self.cfg = cfg
        Spool.check_location(cfg.spool_path, cfg.min_free_bytes)
        self.signer = device_key.load_signer(cfg.key_file)
        self.collector_keys = tuple(map(device_key.load_public, cfg.mqtt.collector_public_keys))
        device_key.check_private_file(cfg.mqtt.key_file)
        for p in (cfg.mqtt.ca_file, cfg.mqtt.cert_file):
            if not os.access(p, os.R_OK):
                raise BadData(Reason.BAD_KEY, f"TLS file {p} is missing or unreadable")
        check_tls(cfg.mqtt)  # before the spool is opened: a bad config changes nothing
        self.metrics = self._metrics_server()  # also before: a busy port changes nothing
        self.files = recovery.SpoolFiles(
            cfg.spool_path, cfg.head_path, cfg.spool_max_bytes, int(cfg.retention_s * 1e9)
        )
        self.spool = recovery.open_checked(self.files, self.signer.public, time.time_ns())
        kept, _why = headfile.read(cfg.head_path)
        self.beacon = None if kept is None else kept.beacon  # survives restarts (§6.1)
        self.record = self._record()
        self.head = self.record.head
        issued, sealed = self.spool.seqs()
        counters = self.spool.counters()
        self.batcher = Batcher(int(cfg.window_s * 1e9), cfg.max_records, counters, sealed)
        # The kernel's word until the clock thread's first chrony reading (at once when it
        # starts): no subprocess on the start-up path.
        self.clock_label = ClockLabel(from_adjtimex(*system_linux.adjtimex()))
        self.clock = self.clock_label.source  # at start; the monitor keeps the label current
        self._batch_clock: ClockReading | None = None  # the widest reading of the open batch
        identity = Identity(cfg.device_id, system_linux.boot_id(), agent_version(), cfg.config_hash)
        self.sealer = Sealer(self.signer, identity)
        self.chunks: queue.Queue[Chunk] = queue.Queue(CAPTURE_QUEUE_CHUNKS)
        self.receipts: queue.Queue[bytes] = queue.Queue()
        self.sources = [make_source(s, self.clock) for s in cfg.sources]
        # Records of a replay carry the recorded time (REPLAY); the header says so too.
        replay = any(replay_of(s) for s in self.sources)
        self.header_clock = rec.ClockSource.REPLAY if replay else self.clock
        start = {k: c.seen for k, c in counters.items()}  # spools written before `issued`
        start.update({k: max(v, start.get(k, 0)) for k, v in {**sealed, **issued}.items()})
        self.events = Emitter(self.chunks, start, self.clock_label)
        self._emitters = [
            Emitter(self.chunks, start, s.clock if replay_of(s) else self.clock_label,
                    self.clock_label)
            for s in self.sources
        ]  # fmt: skip
        self._unsealed = unsealed(issued, sealed)
        self.delivery = Delivery(
            cfg.mqtt.inflight, int(cfg.mqtt.receipt_timeout_s * 1e9), int(PROBE_TIMEOUT_S * 1e9)
        )
        self.publisher = MqttPublisher(cfg.mqtt, cfg.device_id, self.receipts)
        self._epoch = 0
        self._reported: set[tuple[int, int]] = set()  # loss reports emitted, not yet sealed
        self._warned = 0.0
        self.bad_receipts = 0

    def run(self, stop: threading.Event) -> int:
        log.info(
            "%s: device %s, chain continues at batch %d, spool %s (%d unacknowledged)",
            agent_version(),
            self.cfg.device_id,
            self.head.next_seq,
            self.cfg.spool_path,
            len(self.spool.unacked()),
        )
        self.events.event(AGENT_STREAM, rec.EventType.AGENT_START, detail=agent_version())
        for stream, count, first in self._unsealed:
            log.warning("%d records of %s were read but never sealed (agent died)", count, stream)
            self.batcher.count(stream, dropped=count)
            self.events.event(AGENT_STREAM, rec.EventType.UNSEALED, count, first, stream)
        self._report_losses()
        threads = [
            threading.Thread(target=s.run, args=(e, stop), name=f"source-{s.name}", daemon=True)
            for s, e in zip(self.sources, self._emitters, strict=True)
        ]
        threads.append(threading.Thread(target=ClockMonitor(self.cfg.clock, self.clock_label).run,
                                        args=(stop,), name="clock", daemon=True))  # fmt: skip
        for t in threads:
            t.start()
        self.publisher.start()
        watch, last_prune, last_metrics = ClockWatch(), 0, 0
        watchdog = sdnotify.Watchdog()
        sdnotify.notify("READY=1")  # spool open (in __init__), sources and publisher started
        code = 0
        try:
            while not stop.is_set():
                now = time.monotonic_ns()
                watchdog.ping(now)  # a pass stuck in _seal_commit's retry stops the pings
                self._batch_clock = worst(self._batch_clock, self.clock_label.reading)
                self._take_chunks(now, stop)
                if (due := self.batcher.due(now)) is not None:
                    self._seal_commit(due, stop)
                self._take_receipts()
                self._send(time.monotonic_ns())
                self._watch_clock(watch)
                if now - last_metrics >= METRICS_INTERVAL_NS:
                    self._update_metrics()
                    last_metrics = now
                if now - last_prune > PRUNE_INTERVAL_NS:
                    self._prune()
                    last_prune = now
                if self.cfg.exit_when_done and self._done():
                    break
        except StoppedUnsealed as exc:
            log.error("stopped: %s", exc)
            code = 1
        finally:
            stop.set()
            sdnotify.notify("STOPPING=1")  # sealing the open window may take TimeoutStopSec
            for t in threads:
                t.join(timeout=5)
            try:
                if code == 0:
                    self._take_chunks(time.monotonic_ns(), stop, wait=False)
                    if (last := self.batcher.flush()) is not None:
                        self._seal_commit(last, stop)
            except StoppedUnsealed as exc:
                log.error("stopped: %s", exc)
                code = 1
            self.publisher.stop()
            self.spool.close()
            if self.metrics is not None:
                self.metrics.close()
        log.info("stopped at batch %d", self.head.next_seq)
        return code

    def _metrics_server(self) -> MetricsServer | None:
        m = self.cfg.metrics
        if m.port is None:
            return None
        from edge_agent.metrics_http import MetricsServer  # noqa: PLC0415 (opt-in)

        try:
            return MetricsServer(m.address, m.port)
        except OSError as exc:
            raise Unreachable(f"metrics port {m.address}:{m.port}: {exc.strerror}") from None

    def _update_metrics(self) -> None:
        """Hand the metrics server a snapshot (read here: the spool is this thread's)."""
        if self.metrics is None:
            return
        from edge_agent.metrics_http import Snapshot  # noqa: PLC0415 (opt-in)

        try:
            st = self.spool.status()
        except (sqlite3.Error, Unreachable) as exc:
            log.debug("metrics not updated: %s", exc)
            return
        self.metrics.update(
            Snapshot(
                spool_depth=st["spool_depth"],
                spool_unacked_bytes=st["spool_bytes"],
                spool_total_bytes=st["spool_total_bytes"],
                spool_max_bytes=self.cfg.spool_max_bytes,
                oldest_unacked_sealed_utc_ns=st["oldest_unacked_sealed_utc_ns"],
                next_batch_seq=self.head.next_seq,
                rejected_batches=st["rejected_batches"],
                bad_receipts=self.bad_receipts,
                broker_connected=self.publisher.ready,
                counters=self.batcher.counters(),
            )
        )

    def _prune(self) -> None:
        try:
            self.spool.prune(time.time_ns())
        except Unreachable as exc:
            log.error("pruning the spool failed: %s", exc.message)

    def _watch_clock(self, watch: ClockWatch) -> None:
        """Both clocks read together, here only: a slow commit is not a clock step."""
        mono_ns, utc_ns = system_linux.now_pair()
        if (step := watch.observe(mono_ns, utc_ns)) is not None:
            log.warning("clock step of %+.3f s", step.step_ns / 1e9)
            self.events.event(AGENT_STREAM, rec.EventType.CLOCK_STEP, step.step_ns, step.new_utc_ns)
            self.events.flush()

    def _done(self) -> bool:
        return (
            all(s.finished.is_set() for s in self.sources)
            and self.chunks.empty()
            and len(self.batcher) == 0
            and not self.spool.unacked()
        )

    def _take_chunks(self, now: int, stop: threading.Event, wait: bool = True) -> None:
        try:
            chunk = self.chunks.get(timeout=0.01) if wait else self.chunks.get_nowait()
        except queue.Empty:
            return
        while True:
            for closed in self.batcher.add(chunk, now):
                self._seal_commit(closed, stop)
            try:
                chunk = self.chunks.get_nowait()
            except queue.Empty:
                return

    def _issued(self) -> dict[str, int]:
        """Sequence numbers handed out so far, per stream, across every emitter."""
        out: dict[str, int] = {}
        for e in (self.events, *self._emitters):
            for _ in range(10):
                try:
                    seqs = dict(e.seq)  # a source thread may add a stream meanwhile
                    break
                except RuntimeError:
                    continue
            for k, v in seqs.items():
                out[k] = max(v, out.get(k, 0))
        return out

    def _seal_commit(self, closed: ClosedBatch, stop: threading.Event) -> None:
        """Seal, commit to the spool, then write the head file; retry while either fails
        (the head does not move), give up only when asked to stop, naming the cause."""
        carries = carried_reports(closed.records)
        clock = worst(self._batch_clock, self.clock_label.reading)
        self._batch_clock = None
        source = (
            rec.ClockSource.REPLAY if self.header_clock is rec.ClockSource.REPLAY else clock.source
        )
        sealed, committed, discard = None, False, None
        while True:
            try:
                if not committed:
                    sealed = self.sealer.seal(
                        self.head,
                        closed,
                        os.urandom(32),
                        source,
                        clock.uncertainty_ns,
                        self.beacon,
                    )
                    discard = self.spool.commit(
                        sealed,
                        time.time_ns(),
                        issued=self._issued(),
                        sealed_seqs=closed.next_seqs,
                        protect=self.delivery.in_flight(),
                        carries=carries,
                    )
                    committed = True
                    self.head = self.head.after(sealed)
                self.record = self._record()
                headfile.write(self.files.head_path, self.record)
                break
            except SpoolDamaged as exc:
                self._replace_spool(str(exc))
            except Unreachable as exc:
                if stop.is_set():
                    lost = "" if committed else f"; {len(closed.records)} records not sealed"
                    raise StoppedUnsealed(f"{exc.message}{lost}") from None
                log.error("%s: retrying in 1 s", exc)
                stop.wait(1)
        self._reported -= set(carries)
        self.delivery.sealed(self.head.next_seq - 1)
        if discard is not None:
            self.delivery.forget(set(discard.seqs))
            self.batcher.count(SPOOL_STREAM, dropped=discard.records, gaps=discard.batches)
            log.warning("spool over its cap: %d batches discarded", discard.batches)
        self._report_losses()
        self._warn_depth()

    def _report_losses(self) -> None:
        """Every loss not carried by a committed batch goes into the next batch, once."""
        for loss in self.spool.pending_losses():
            if loss.key not in self._reported:
                self._reported.add(loss.key)
                self.events.event(AGENT_STREAM, *loss_event(loss))
        self.events.flush()

    def _warn_depth(self) -> None:
        used = self.spool.total_bytes() / self.cfg.spool_max_bytes
        level = max((f for f in SPOOL_WARN_FRACTIONS if used >= f), default=0.0)
        if level > self._warned:
            log.warning("spool at %.0f%% of spool.max_bytes", used * 100)
        self._warned = level

    def _replace_spool(self, why: str) -> None:
        self.spool, lost = recovery.replace_damaged(
            self.spool, self.files, self.record, self.signer.public, why, time.time_ns()
        )
        self.batcher.count(SPOOL_STREAM, gaps=lost)
        self.record = self._record()
        self._reported.clear()
        self.delivery.reconnected(self.spool.unacked())
        self._report_losses()

    def _record(self) -> headfile.HeadRecord:
        return replace(recovery.record_of(self.spool), beacon=self.beacon)

    def _learn(self, beacon: Beacon | None) -> None:
        """Keep the newest beacon (§6.1: a higher block number, or another chain's), durably
        in the head file; a failed write only delays that until the next commit."""
        held = self.beacon
        if beacon is None or (
            held is not None
            and beacon.chain_id == held.chain_id
            and beacon.block_number <= held.block_number
        ):
            return
        self.beacon = beacon
        log.info("chain beacon: block %d of chain %d", beacon.block_number, beacon.chain_id)
        self.record = replace(self.record, beacon=beacon)
        try:
            headfile.write(self.files.head_path, self.record)
        except Unreachable as exc:
            log.error("the new beacon is not yet durable: %s", exc.message)

    def _take_receipts(self) -> None:
        while True:
            try:
                raw = self.receipts.get_nowait()
            except queue.Empty:
                return
            try:
                receipt = open_receipt_any(raw, self.collector_keys)
                if receipt.device_id != self.cfg.device_id:
                    raise BadData(Reason.KEY_MISMATCH, f"receipt for {receipt.device_id!r}")
            except NotaryError as exc:
                self.bad_receipts += 1
                log.warning("receipt refused: %s", exc)
                continue
            self._learn(receipt.beacon)
            try:
                released = self.spool.ack(receipt, raw, time.time_ns())
            except SpoolDamaged as exc:
                self._replace_spool(str(exc))
                continue
            except Unreachable as exc:  # the batch stays unacknowledged: re-sent, re-receipted
                log.error("receipt for batch %d not recorded: %s", receipt.batch_seq, exc.message)
                continue
            if not released:
                continue
            self.delivery.acked(receipt.batch_seq)
            if receipt.status == ReceiptStatus.REJECTED:
                log.error(
                    "ALARM: the collector REJECTED batch %d (header %s): it is quarantined "
                    "there, not evidence; see the collector's quarantine",
                    receipt.batch_seq,
                    receipt.header_hash.hex(),
                )
                self.events.event(
                    AGENT_STREAM,
                    rec.EventType.RECEIPT_REJECTED,
                    receipt.batch_seq,
                    0,
                    receipt.header_hash.hex(),
                )
                self.events.flush()

    def _send(self, now: int) -> None:
        if not self.publisher.ready:
            return
        if self.publisher.epoch != self._epoch:
            self._epoch = self.publisher.epoch
            self.delivery.reconnected(self.spool.unacked())
        while (seq := self.delivery.next_batch(now)) is not None:
            try:
                got = self.spool.payload(seq)
                if got is not None:
                    recovery.check_batch(seq, got[0], got[1], self.signer.public)
            except SpoolDamaged as exc:
                self._replace_spool(str(exc))
                return
            if got is None:  # pruned or discarded meanwhile
                self.delivery.forget({seq})
                continue
            if not self.publisher.publish(got[1]):
                self.delivery.reconnected(self.spool.unacked())
                return
