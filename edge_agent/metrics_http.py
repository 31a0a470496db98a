"""The agent's Prometheus metrics on prometheus-client's own HTTP server (opt-in: the
config's `[metrics] port`; edge_agent/README.md § Metrics).

The spool's SQLite connection belongs to the agent's main thread, so the server's thread
never reads it: the main loop hands over a `Snapshot` (at most once a second, and at each
commit) and a scrape renders the latest one. Ages are computed at scrape time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from notary_core.header import StreamCounters

log = logging.getLogger(__name__)

# StreamCounters field -> (metric, help); cumulative since the device's first batch, kept
# across restarts by the spool, so rate() is frames per second per stream.
_COUNTERS = (
    ("seen", "vnotary_agent_frames_seen", "Observations read from each stream"),
    ("stored", "vnotary_agent_frames_stored", "Observations placed in batches, per stream"),
    ("dropped", "vnotary_agent_frames_dropped",
     "Observations lost, per stream (capture queue full, spool discards on stream 'spool')"),
    ("bus_errors", "vnotary_agent_bus_errors", "CAN bus error frames, per stream"),
    ("crc_failures", "vnotary_agent_crc_failures", "Serial frames failing their CRC, per stream"),
    ("gaps", "vnotary_agent_sequence_gaps", "Sequence gaps seen in each stream"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Snapshot:
    spool_depth: int = 0  # unacknowledged batches
    spool_unacked_bytes: int = 0
    spool_total_bytes: int = 0
    spool_max_bytes: int = 0
    oldest_unacked_sealed_utc_ns: int | None = None
    next_batch_seq: int = 0
    rejected_batches: int = 0
    bad_receipts: int = 0
    broker_connected: bool = False
    counters: dict[str, StreamCounters] = field(default_factory=dict)


class AgentMetrics(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()  # replaced whole by the main thread (atomic assignment)

    def collect(self) -> Iterable[Metric]:
        s, now, gauge = self.snapshot, time.time_ns(), GaugeMetricFamily

        yield gauge("vnotary_agent_spool_depth", "Batches sealed and not yet receipted",
                    s.spool_depth)  # fmt: skip
        yield gauge("vnotary_agent_spool_unacked_bytes", "Bytes of the unreceipted batches",
                    s.spool_unacked_bytes)  # fmt: skip
        yield gauge("vnotary_agent_spool_bytes", "Bytes of every spooled batch (what "
                    "spool.max_bytes bounds)", s.spool_total_bytes)  # fmt: skip
        yield gauge("vnotary_agent_spool_max_bytes", "spool.max_bytes", s.spool_max_bytes)
        oldest = s.oldest_unacked_sealed_utc_ns
        yield gauge("vnotary_agent_oldest_unacked_age_seconds", "Age of the oldest batch not "
                    "yet receipted (0 when none)",
                    0.0 if oldest is None else max(0.0, (now - oldest) / 1e9))  # fmt: skip
        yield gauge("vnotary_agent_next_batch_seq", "The batch_seq the next batch gets",
                    s.next_batch_seq)  # fmt: skip
        yield gauge("vnotary_agent_broker_connected", "1 while connected and subscribed to "
                    "the receipt topic", 1.0 if s.broker_connected else 0.0)  # fmt: skip
        yield gauge("vnotary_agent_rejected_batches", "Batches the collector answered "
                    "REJECTED still in the spool (kept spool.retention_s)",
                    s.rejected_batches)  # fmt: skip
        yield CounterMetricFamily("vnotary_agent_bad_receipts", "Receipts refused (bad "
                                  "signature, another device), since start",
                                  s.bad_receipts)  # fmt: skip
        for attr, name, doc in _COUNTERS:
            family = CounterMetricFamily(name, doc, labels=["stream"])
            for stream, c in sorted(s.counters.items()):
                family.add_metric([stream], getattr(c, attr))
            yield family


class MetricsServer:
    """prometheus-client's HTTP server on its own daemon thread; `close` stops it."""

    def __init__(self, address: str, port: int) -> None:
        self.metrics = AgentMetrics()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.metrics)
        self._server, self._thread = start_http_server(port, address, registry)
        self.port = int(self._server.server_port)
        log.info("metrics on http://%s:%d/metrics", address, self.port)

    def update(self, snapshot: Snapshot) -> None:
        self.metrics.snapshot = snapshot

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
