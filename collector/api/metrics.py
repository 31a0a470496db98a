"""GET /metrics: the Prometheus text exposition of the store's figures (docs/collector.md
§ Metrics). Each scrape reads the store once (collector/store/figures.py) and renders a
fresh registry, so every API process of a shared store answers the same numbers."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.store.figures import Figures

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _seconds(ns: int) -> float:
    return ns / 1e9


class _Snapshot(Collector):
    def __init__(self, f: Figures, now_ns: int) -> None:
        self.f, self.now_ns = f, now_ns

    def collect(self) -> Iterable[Metric]:
        f, now = self.f, self.now_ns
        yield GaugeMetricFamily("vnotary_log_size", "Leaves in the transparency log", f.log_size)
        yield CounterMetricFamily(
            "vnotary_batches_stored", "Batches verified and stored (rate: ingest rate)",
            f.batches_stored,
        )  # fmt: skip
        q = CounterMetricFamily(
            "vnotary_quarantined", "Inputs kept in quarantine, by reason (REPLAY: re-sends)",
            labels=["reason"],
        )  # fmt: skip
        for reason, n in sorted(f.quarantined.items()):
            q.add_metric([reason], n)
        yield q
        yield CounterMetricFamily(
            "vnotary_quarantine_dropped",
            "Rejected inputs only counted, past their source's daily quarantine quota",
            f.quarantine_dropped,
        )
        yield GaugeMetricFamily("vnotary_gaps_open", "Open gaps in devices' batch chains",
                                f.gaps_open)  # fmt: skip
        if f.checkpoint_size is not None and f.checkpoint_signed_ns is not None:
            yield GaugeMetricFamily("vnotary_checkpoint_size", "Size of the latest signed "
                                    "checkpoint", f.checkpoint_size)  # fmt: skip
            yield GaugeMetricFamily(
                "vnotary_checkpoint_age_seconds", "Age of the latest signed checkpoint",
                _seconds(now - f.checkpoint_signed_ns),
            )  # fmt: skip
        if f.published_size is not None and f.published_ns is not None:
            yield GaugeMetricFamily(
                "vnotary_published_checkpoint_age_seconds",
                "Age of the latest checkpoint published with its witness quorum",
                _seconds(now - f.published_ns),
            )
        a = GaugeMetricFamily("vnotary_anchored_size", "Largest log size anchored on chain, "
                              "by status (sent, final)", labels=["status"])  # fmt: skip
        for status, size in sorted(f.anchored.items()):
            a.add_metric([status], size)
        yield a
        yield GaugeMetricFamily(
            "vnotary_anchor_lag_leaves",
            "Log size minus the largest final anchored size (the whole log before any)",
            f.log_size - f.anchored.get("final", 0),
        )
        al = GaugeMetricFamily(
            "vnotary_alarms_open",
            "Open alarms (witness refusals, signer guard), by kind; /readyz is 503 while any",
            labels=["kind"],
        )
        for kind, n in sorted(f.alarms_open.items()):
            al.add_metric([kind], n)
        yield al
        w = GaugeMetricFamily("vnotary_witness_cosigned_size", "Log size each witness last "
                              "cosigned", labels=["witness"])  # fmt: skip
        for witness, size in sorted(f.witness_sizes.items()):
            w.add_metric([witness], size)
        yield w
        d = GaugeMetricFamily(
            "vnotary_device_last_seen_seconds",
            "Unix time of the arrival of each device's highest stored batch",
            labels=["device"],
        )
        for device, ns in sorted(f.devices_last_seen_ns.items()):
            d.add_metric([device], _seconds(ns))
        yield d


def render(f: Figures, now_ns: int) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(f, now_ns))
    return generate_latest(registry)
