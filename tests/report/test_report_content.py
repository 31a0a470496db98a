"""The report's content without a browser: degraded bundles, hostile views, the CLI, NMEA."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notary_core.evidence import verify_bundle
from tests.core.bundle_factory import build, make_world
from tests.datasets import DATA
from tests.report.rich_bundle import build_rich
from verifier.report.build import generate
from verifier.report.data import extract, utc
from verifier.report.nmea import checksum_ok, parse_fix
from verifier.report.svg import _decimate, nice_ticks
from vnotary_cli.main import main

NMEA = DATA / "nmea" / "gpsd-ublox-neo-m9n-nmea.log"


def _report(raw: bytes, **kw: str) -> str:
    return generate(raw, verify_bundle(raw), bundle_name="b.vnb", **kw)


def test_factory_bundle_without_views_says_so() -> None:
    html = _report(build(make_world()))
    assert 'id="no-can-view"' in html and "No decoded CAN view in this bundle" in html
    assert 'data-verdict="INCONCLUSIVE"' in html
    # The factory's GGA sentence carries a wrong checksum: counted, never plotted.
    assert 'id="no-track"' in html and '<svg id="map"' not in html
    assert "That the anchor is on chain: this report was made without --rpc." in html
    assert "--trust TRUST.json --rpc https://RPC-OF-THE-ANCHOR-CHAIN" in html


def test_tampered_bundle_reports_fail_with_reasons() -> None:
    raw = bytearray(build(make_world()))
    raw[-100] ^= 1  # inside the collector's signature
    html = _report(bytes(raw))
    assert 'data-verdict="FAIL"' in html and "BAD_SIGNATURE" in html


def test_unparseable_bundle_still_renders() -> None:
    html = _report(b"not a bundle")
    assert 'data-verdict="UNREADABLE"' in html and "could not be parsed" in html  # not FAIL
    assert 'id="reproduce"' in html


def test_hostile_views_are_escaped() -> None:
    name = '"><img src=x onerror=alert(1)>'
    raw, _w, _ev = build_rich(signal_name=name, half_window_s=5)
    html = _report(raw)
    assert "<img" not in html and "onerror=alert(1)&gt;" in html
    views = {"dbc": {"name": "</style><script>x()</script>"},
             "signals": {"S": {"t": [1], "v": ["x"]}}, "event": {"utc_ns": True}}  # fmt: skip
    raw, _w, _ev = build_rich(views=views, half_window_s=5)
    html = _report(raw)
    assert "<script" not in html and "</style><script" not in html
    assert "decoded signal &#x27;S&#x27; is malformed: not plotted" in html


def test_cli_writes_default_output_and_reports_unreadable(tmp_path: Path) -> None:
    bundle = tmp_path / "claim.vnb"
    bundle.write_bytes(build(make_world()))
    assert main(["report", str(bundle)]) == 0
    assert (tmp_path / "claim.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["report", str(tmp_path / "missing.vnb")]) == 4
    assert main(["report", str(bundle), "--trust", str(tmp_path / "missing.json")]) == 4


def test_nmea_fixes_from_real_receiver_log() -> None:
    lines = [x.encode() for x in NMEA.read_text().splitlines() if x.startswith("$")]
    fixes = [f for f in (parse_fix(x, 0) for x in lines) if f is not None]
    assert len(fixes) > 10
    first = fixes[0]  # $GNRMC,223745.00,A,3806.62964,N,12237.61382,W,0.040,...
    assert first.lat == pytest.approx(38 + 6.62964 / 60)
    assert first.lon == pytest.approx(-(122 + 37.61382 / 60))
    assert first.speed_mps == pytest.approx(0.040 * 1852 / 3600)
    assert all(checksum_ok(x) for x in lines)


@pytest.mark.parametrize(
    "raw",
    [
        b"$GNRMC,223745.00,A,3806.62964,N,12237.61382,W,0.040,,110720,,,D,V*0F",  # checksum
        b"$GNRMC,223745.00,V,3806.62964,N,12237.61382,W,0.040,,110720,,,D,V*19",  # warning
        b"$GNGGA,223745.00,3806.62964,N,12237.61382,W,0,12,0.54,83.1,M,-29.5,M,,0000*46",
        b"$GNGGA,223745.00,9906.62964,N,12237.61382,W,2,12,0.54,83.1,M,-29.5,M,,0000*4D",
        b"GNGGA,no dollar*00",
    ],
)
def test_nmea_without_a_trustworthy_fix_gives_none(raw: bytes) -> None:
    assert parse_fix(raw, 0) is None


def test_ticks_and_decimation_keep_extremes() -> None:
    assert nice_ticks(0, 30, 8) == [0, 5, 10, 15, 20, 25, 30]
    assert nice_ticks(48.2, 71.3) == [50, 55, 60, 65, 70]
    t = list(range(100_000))
    v = [0.0] * 100_000
    v[54_321] = 99.0
    pts = _decimate(t, v)
    assert len(pts) <= 1500 and (54_321, 99.0) in pts


def test_counter_deltas_are_last_minus_first() -> None:
    raw, w, _ev = build_rich(half_window_s=5)
    d = extract(raw, verify_bundle(raw, w.trust()))
    deltas = {name: delta for name, _a, _b, delta in d.counter_deltas()}
    h0, h1 = d.headers[0], d.headers[-1]
    assert deltas["imu"][0] == h1.streams["imu"].seen - h0.streams["imu"].seen > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", utc(d.fixes[0].utc_ns))


def test_a_version_2_report_shows_completeness_per_item_and_the_device_head() -> None:
    """Issue 12 §4: completeness per scope item and the proven device head; issue 13 §4:
    the event comes from the request and the counters say which batches they cover."""
    from tests.core.bundle_v2_factory import build2, make_world2

    w = make_world2()
    raw = build2(w)
    t = verify_bundle(raw, w.trust())
    html = generate(raw, t, bundle_name="b.vnb")
    assert t.verdict.value == "OK"
    assert "Completeness per granted item" in html and 'id="completeness"' in html
    per = t.summary["completeness"]
    for item, v in per.items():
        assert re.search(rf"<td[^>]*>{re.escape(item)}</td><td[^>]*>{v['disclosed']}</td>"
                         rf"<td[^>]*>{v['counted']}</td>", html), item  # fmt: skip
    assert f"{t.summary['boundary_records']} boundary record(s)" in html
    assert f"at the checkpoint (index of heads): {t.summary['device_head']['batch_seq']}" in html
    event = extract(raw, t).event
    assert event is not None and event[1] == "hard braking"  # the request's (v2), no DBC view
    assert "the segment's first, its baseline" in html


def test_durations_in_human_units() -> None:
    """Issue 13 §4: "1 h", "250 ms", never "3.6e+06 ms"."""
    from verifier.report.timeline import human_duration

    assert [
        human_duration(n)
        for n in (
            3_600 * 10**9,
            250_000_000,
            600_809,
            1_500,
            12,
            0,
            2**64 - 1,
            90 * 10**9,
            2 * 86_400 * 10**9,
        )
    ] == ["1 h", "250 ms", "601 µs", "1.5 µs", "12 ns", "0 ns", "unbounded", "1.5 min", "2 d"]
