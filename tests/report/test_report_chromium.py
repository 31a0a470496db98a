"""The report of the real RAV4 drive, opened in headless Chromium: the DOM and the pixels
show a map and plots drawn from the bundle's data, and nothing loads from anywhere."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.report import pixels
from tests.report.chromium import Rendered, render
from tests.report.rich_bundle import build_rich
from vnotary_cli.main import main

HOSTILE = "<script>alert(1)</script>"


@dataclass
class Report:
    html: str
    rendered: Rendered
    event: int


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    tmp = tmp_path_factory.mktemp("report")
    raw, w, event = build_rich(purpose=f"claim {HOSTILE}")
    (tmp / "claim.vnb").write_bytes(raw)
    trust = {"version": 1, "log_vkeys": [w.log_key.verifier.vkey],
             "collector_keys": [base64.b64encode(w.collector.public.spki()).decode()],
             "witnesses": [x.verifier.vkey for x in w.witnesses], "witness_quorum": 2}  # fmt: skip
    (tmp / "trust.json").write_text(json.dumps(trust))
    out = tmp / "report.html"
    code = main(["report", str(tmp / "claim.vnb"), "-o", str(out), "--trust",
                 str(tmp / "trust.json")])  # fmt: skip
    assert code == 0
    return Report(out.read_text(), render(out, tmp), event)


def _points(dom: str, element_id: str) -> int:
    m = re.search(rf'<svg id="{element_id}"[^>]*data-points="(\d+)"', dom)
    assert m, f"no <svg id={element_id}> with data in the rendered DOM"
    return int(m.group(1))


def test_dom_has_map_and_plots_with_data(report: Report) -> None:
    dom = report.rendered.dom
    assert 'data-verdict="OK"' in dom
    assert _points(dom, "map") > 500  # 10 Hz GGA + RMC fixes over 30 s
    assert re.search(r'<polyline id="track"[^>]*data-points="\d{3,}"', dom)
    assert 'id="event-marker"' in dom
    assert _points(dom, "chart-speed") > 500
    assert re.search(r'data-series="SPEED" data-points="\d{3,}"', dom)
    assert re.search(r'data-series="GNSS speed over ground" data-points="\d{3,}"', dom)
    assert _points(dom, "chart-brake") > 100
    assert _points(dom, "chart-imu") > 1000
    # The polyline really carries that many coordinates, inside the plot area.
    speed = re.search(r'data-series="SPEED"[^>]*points="([^"]+)"', dom)
    assert speed and len(speed.group(1).split()) > 500
    assert 'id="no-can-view"' not in dom


def test_dom_lists_checks_chain_grant_and_limitations(report: Report) -> None:
    dom = report.rendered.dom
    checks = re.search(r'<table id="checks">.*?</table>', dom, re.S)
    assert checks and checks.group(0).count("<tr>") == 15  # header + 14 checks
    assert checks.group(0).count('class="pass"') == 14
    assert "witnesses.quorum" in checks.group(0) and "witness.example/w2" in checks.group(0)
    batches = re.search(r'<table id="batches">.*?</table>', dom, re.S)
    assert batches and batches.group(0).count("<tr>") > 30
    assert re.search(r'<table id="counters">.*?<td>can0</td><td>\+\d+</td>', dom, re.S)
    assert "ENROL" in dom and "OWNER_BOUND" in dom and "DEVICE_INSTALLED" in dom
    assert 'id="anchor"' in dom and "31337" in dom
    limits = re.search(r'<ul class="limits" id="limits">(.*?)</ul>', dom, re.S)
    assert limits and limits.group(1).count("<li>") >= 8
    assert "calibrated" in limits.group(1) and "driving" in limits.group(1)
    assert "vnotary verify claim.vnb --trust trust.json" in dom
    assert "python -m notary_core.conformance" in dom


def test_hostile_purpose_is_text_not_script(report: Report) -> None:
    assert "<script" not in report.html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.html
    dom = report.rendered.dom
    assert "<script" not in dom.lower()  # the browser built no script element
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_self_contained(report: Report) -> None:
    html = report.html
    for pattern in (r"\ssrc=", r"\shref=", r"url\(", r"@import", r"<link", r"<iframe"):
        assert not re.search(pattern, html, re.I), pattern
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_screenshot_map_and_plots_not_blank(report: Report) -> None:
    with Image.open(report.rendered.screenshot) as shot:
        im = shot.convert("RGB")
    map_box = pixels.mask(im, pixels.MAP_BG).getbbox()
    assert map_box, "no map on screen"
    w, h = map_box[2] - map_box[0], map_box[3] - map_box[1]
    assert w > 200 and h > 200, map_box
    assert pixels.count(pixels.mask(im.crop(map_box), pixels.TRACK, 30)) > 300, "no track drawn"
    assert pixels.ink(im, map_box, pixels.MAP_BG) > 1000
    plot = pixels.mask(im, pixels.PLOT_BG)
    charts = pixels.bands(plot, 300, gap=60)  # dense series hide the fill of some rows
    assert len(charts) == 4, charts  # speed, brake pressed, brake pressure, IMU
    for top, bottom in charts:
        box = (0, top, im.width, bottom)
        assert bottom - top > 120
        assert pixels.ink(im, box, pixels.PLOT_BG) > 1500, f"chart at y={top} is blank"
    # The report is light on ink overall: a printable page, not a dark dashboard.
    dark = pixels.count(pixels.mask(im, (0, 0, 0), 60))
    assert dark < 0.05 * im.width * im.height


def test_screenshot_file_is_a_real_render(report: Report) -> None:
    with Image.open(report.rendered.screenshot) as im:
        assert im.size[0] == 1100 and Path(report.rendered.screenshot).stat().st_size > 50_000
