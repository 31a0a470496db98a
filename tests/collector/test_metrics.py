"""GET /metrics on a real API app over both stores: the figures move as batches are stored
and quarantined (by another store handle, as `collector run` is another process), as
checkpoints are signed, anchors land and alarms open."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.api.app import create_app
from collector.api.metrics import render
from collector.ingest.pipeline import Ingestor
from collector.settings import Settings, write_key
from collector.store.base import AnchorRow
from collector.store.figures import Figures
from collector.store.open import open_store
from collector.store.witnessed import WitnessedStore
from edge_agent.metrics_http import AgentMetrics, Snapshot
from notary_core.header import StreamCounters
from tests.collector.fleet import T0, Device

pytestmark = pytest.mark.anyio
NOW = T0 + 10**12
REPO = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _scrape(client: httpx.AsyncClient) -> Samples:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return _samples(r.text)


async def test_metrics_follow_ingest_checkpoints_anchors_and_alarms(
    store_url: str, tmp_path: Path, records: list[bytes]
) -> None:
    write_key(tmp_path / "collector.key")
    settings = Settings(store=store_url, key_file=str(tmp_path / "collector.key"),
                        origin="collector.test/log")  # fmt: skip
    app = create_app(settings)
    dev, stranger = Device("veh-1"), Device("veh-2")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c.t") as c,
        await open_store(store_url) as store,
    ):
        before = await _scrape(c)
        assert before[("vnotary_batches_stored_total", ())] == 0
        assert before[("vnotary_log_size", ())] == 0
        assert before[("vnotary_quarantine_dropped_total", ())] == 0
        assert not any(name == "vnotary_quarantined_total" for name, _ in before)
        assert ("vnotary_checkpoint_age_seconds", ()) not in before  # none signed yet

        await store.add_device_key(dev.device_id, dev.spki, dev.signer.kid, T0, None, T0)
        ingestor = Ingestor(store, settings.receipt_signer())
        topic = "vn/v1/dev/{}/batch"
        for i in range(2):
            sealed = dev.seal(records[i * 100 : (i + 1) * 100])
            out = await ingestor.ingest(topic.format("veh-1"), sealed.to_bytes(), NOW + i)
            assert out.status == "stored"
        replayed = await ingestor.ingest(topic.format("veh-1"), sealed.to_bytes(), NOW + 5)
        assert replayed.status == "replay"
        unknown = stranger.seal(records[:10]).to_bytes()
        assert (await ingestor.ingest(topic.format("veh-2"), unknown, NOW)).status == "rejected"
        garbage = await ingestor.ingest(topic.format("veh-1"), b"\xff", NOW)
        assert (garbage.status, garbage.reason) == ("rejected", "MALFORMED")

        after = await _scrape(c)
        assert after[("vnotary_batches_stored_total", ())] == 2
        assert after[("vnotary_log_size", ())] == 3  # the device key's registry leaf + 2
        assert after[("vnotary_quarantined_total", (("reason", "REPLAY"),))] == 1
        assert after[("vnotary_quarantined_total", (("reason", "UNKNOWN_DEVICE"),))] == 1
        assert after[("vnotary_quarantined_total", (("reason", "MALFORMED"),))] == 1
        assert after[("vnotary_device_last_seen_seconds", (("device", "veh-1"),))] == pytest.approx(
            (NOW + 1) / 1e9
        )
        assert ("vnotary_device_last_seen_seconds", (("device", "veh-2"),)) not in after
        assert after[("vnotary_anchor_lag_leaves", ())] == 3  # nothing anchored yet

        signer = settings.checkpoint_signer(store, [])
        await signer.sign_if_grown(time.time_ns())
        signed = await store.latest_checkpoint()
        assert signed is not None and signed.size == 4  # + its index leaf
        await store.upsert_anchor(
            AnchorRow(signed.size, signed.root, b"", "final", None, None, None, 1, None, 1, NOW)
        )
        await WitnessedStore(store).raise_alarm("REWRITE", "witness.test/w1", "refused", NOW)

        later = await _scrape(c)
        assert later[("vnotary_checkpoint_size", ())] == 4
        assert 0 <= later[("vnotary_checkpoint_age_seconds", ())] < 60
        assert later[("vnotary_anchored_size", (("status", "final"),))] == 4
        assert later[("vnotary_anchor_lag_leaves", ())] == 0
        assert later[("vnotary_alarms_open", (("kind", "REWRITE"),))] == 1
        assert (await c.get("/readyz")).status_code == 503  # the same alarm, the same store


def test_the_dashboard_and_the_docs_name_only_metrics_that_exist() -> None:
    """Every vnotary_* name in deploy/grafana/vnotary.json, docs/collector.md § Metrics and
    edge_agent/README.md § Metrics is one the collector or the agent exports, and every
    exported one is documented."""
    full = Figures(1, 1, {"MALFORMED": 1}, 0, 0, 1, 1, 1, 1, {"final": 1}, {"REWRITE": 1},
                   {"w": 1}, {"d": 1})  # fmt: skip
    collector = {
        s.name
        for fam in text_string_to_metric_families(render(full, 2).decode())
        for s in fam.samples
    }
    agent_metrics = AgentMetrics()
    agent_metrics.snapshot = Snapshot(counters={"can0": StreamCounters()})
    agent = {s.name for fam in agent_metrics.collect() for s in fam.samples}
    exported = collector | agent
    dashboard = json.loads((REPO / "deploy/grafana/vnotary.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert set(re.findall(r"vnotary_\w+", exprs)) <= exported
    documented: set[str] = set()
    for doc in ("docs/collector.md", "edge_agent/README.md"):
        text = (REPO / doc).read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
        documented |= set(re.findall(r"vnotary_\w+", text))
    assert documented == exported
