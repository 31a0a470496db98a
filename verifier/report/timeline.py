"""The report's "When" section: what the evidence proves about time, per batch and for the
window (issue 14 §5), and a timeline of it (inline SVG, like the report's other plots).

Proven: a batch was sealed *after* the chain block its header names (its beacon, checked
on chain by `time.beacon`: "not before") and *before* the block that anchors the checkpoint
holding it (`anchor.on_chain`: "not after"), and before the time an RFC 3161 TSA stamped that
checkpoint (`time.tsa`, with its certificate pinned: a second "not after"). Claimed: the
device's own times, with the clock source and uncertainty it signed. Measured: the GNSS_TIME
events, the device clock against its GNSS receiver. Each is labelled as what it is; nothing
unchecked is called proven.
"""

from __future__ import annotations

import math

from notary_core.evidence import Status
from notary_core.header import BatchHeader
from verifier.report.data import ReportData, utc
from verifier.report.html import kv, table
from verifier.report.svg import esc

UNBOUNDED_FROM_NS = 1 << 63
"""An uncertainty this large (the agent writes 2^64 - 1) means "no known bound"."""

_UNITS = ((86_400e9, "d"), (3_600e9, "h"), (60e9, "min"), (1e9, "s"), (1e6, "ms"), (1e3, "µs"))
W, ROW, ML, MR = 720, 26, 120, 16


def human_duration(ns: int) -> str:
    """A duration in the largest unit that keeps it >= 1, three significant digits at most:
    "1 h", "250 ms", "601 µs", "unbounded" (issue 13 §4: never "3.6e+06 ms")."""
    if ns >= UNBOUNDED_FROM_NS:
        return "unbounded"
    for size, unit in _UNITS:
        if abs(ns) >= size:
            return f"{_sig(ns / size)} {unit}"
    return f"{ns} ns"


def _sig(x: float) -> str:
    digits = max(0, 2 - math.floor(math.log10(abs(x)))) if x else 0
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _passed(d: ReportData, name: str) -> bool:
    return any(c.name == name and c.status is Status.PASS for c in d.transcript.checks)


def not_before_s(d: ReportData) -> dict[int, int]:
    """batch_seq -> beacon block time (s), only when `time.beacon` passed on chain."""
    if not _passed(d, "time.beacon"):
        return {}
    got = d.transcript.summary.get("not_before_s", {})
    return {int(k): int(v) for k, v in got.items()}


def not_after_s(d: ReportData) -> tuple[int | None, bool]:
    """(anchor block time, checked on chain?)."""
    a = d.bundle.anchor if d.bundle is not None else None
    if a is None:
        return None, False
    return a.block_time, _passed(d, "anchor.on_chain")


def section(d: ReportData) -> str:
    assert d.bundle is not None
    hs = d.headers
    head = "<h2>3. When: the proven interval</h2>"
    if not hs:
        return head + "<p>No signed batch header.</p>"
    nb = not_before_s(d)
    na, na_checked = not_after_s(d)
    r = d.bundle.request
    meets = [
        h for h in hs if h.first_utc_ns <= r.window_end_ns and h.last_utc_ns >= r.window_start_ns
    ]
    after = "not proven (no anchor)" if na is None else (
        f"{utc(na * 10**9)} (anchor block time, checked on chain)" if na_checked
        else f"{utc(na * 10**9)} (anchor block time as the bundle states it; not checked: "
             "run with --rpc)")  # fmt: skip
    missing = [h.batch_seq for h in meets if h.batch_seq not in nb]
    if not meets:
        before = "no batch meets the window"
    elif not missing:
        before = (f"{utc(min(nb[h.batch_seq] for h in meets) * 10**9)} (the earliest beacon "
                  "block of the window's batches, checked on chain)")  # fmt: skip
    elif not _passed(d, "time.beacon"):
        before = "not proven: the beacons were not checked on chain (run with --rpc)"
    else:
        before = f"not proven for batches {', '.join(map(str, missing))} (sealed without a beacon)"
    facts = kv([
        ("data window (requested)", f"{utc(r.window_start_ns)} → {utc(r.window_end_ns)}"),
        ("sealed not before", before), ("sealed not after", after),
        ("RFC 3161 timestamps (not after)", _tsa(d)),
        ("device clock over the window", _clocks(meets or hs)),
        ("GNSS cross-check", _gnss_summary(d)),
    ])  # fmt: skip
    ts = not_after_tsa_ns(d)
    rows = [(h.batch_seq, utc(h.first_utc_ns)[11:23], utc(h.last_utc_ns)[11:23],
             h.clock_source.name, f"± {human_duration(h.clock_uncertainty_ns)}",
             utc(nb[h.batch_seq] * 10**9) if h.batch_seq in nb else "—",
             "—" if na is None else utc(na * 10**9) + ("" if na_checked else " (unchecked)"),
             "—" if ts is None else utc(ts))
            for h in hs]  # fmt: skip
    batches = table(["batch", "claimed first", "claimed last", "clock", "uncertainty",
                     "not before (beacon)", "not after (anchor)", "not after (TSA)"], rows,
                    ["", "nowrap", "nowrap", "", "nowrap", "nowrap", "nowrap", "nowrap"],
                    tid="time-batches")  # fmt: skip
    gnss = ""
    if d.gnss_checks:
        gnss = "<h3>Device clock against its GNSS receiver</h3>" + table(
            ["at (device clock)", "device minus GNSS", "reported because"],
            [(utc(t), human_duration(a), detail) for t, a, detail in d.gnss_checks],
            ["nowrap", "nowrap", ""],
            tid="gnss-checks",
        )
    note = ("<p class=note>Proven: the beacon (a chain block the device learned from the "
            "collector's receipts) shows the batch was sealed after that block; the anchor, "
            "after which nothing in the checkpoint can change. Claimed: the device's own "
            "times and the clock it says they came from. The GNSS cross-check is the "
            "difference the device measured between its clock and its receiver's time, "
            "which includes the receiver's output delay.</p>")  # fmt: skip
    return head + note + facts + svg_timeline(d, nb, na) + batches + gnss


def not_after_tsa_ns(d: ReportData) -> int | None:
    """The earliest genTime of the tokens verified under pinned TSA certificates, only when
    `time.tsa` passed; None otherwise (an unpinned token proves nothing here)."""
    got = d.transcript.summary.get("not_after_tsa_ns")
    return int(got) if _passed(d, "time.tsa") and isinstance(got, int) else None


def _tsa(d: ReportData) -> str:
    """The second "not after" (issue 14 §3): each token with its TSA and time, and whether it
    was verified against a pinned TSA certificate (`time.tsa` passed) or only listed."""
    assert d.bundle is not None
    n = len(d.bundle.timestamps)
    if not n:
        return "none in the bundle"
    listed = d.transcript.summary.get("tsa") or []
    counted = [t for t in listed if t.get("counted")]
    at = not_after_tsa_ns(d)
    if at is not None and counted:
        who = ", ".join(sorted({str(t["tsa"]) for t in counted}))
        return (f"{utc(at)} (TSA time, {len(counted)} of {n} token(s) over the checkpoint "
                f"verified against pinned TSA certificates: {who})")  # fmt: skip
    if _passed(d, "time.tsa"):
        return f"{n} token(s) in the bundle, none by a TSA you pinned: not counted"
    claimed = [t["gen_time_ns"] for t in listed if isinstance(t.get("gen_time_ns"), int)]
    when = f", claiming {utc(min(claimed))}" if claimed else ""
    return (f"{n} token(s) in the bundle{when}, not verified"
            + ("" if any(c.name == "time.tsa" for c in d.transcript.checks)
               else " (no TSA certificate pinned: --trust with tsa_certs)"))  # fmt: skip


def _clocks(hs: list[BatchHeader]) -> str:
    sources = sorted({h.clock_source.name for h in hs})
    widest = max(h.clock_uncertainty_ns for h in hs)
    return f"{', '.join(sources)}; uncertainty up to ± {human_duration(widest)} (claimed)"


def _gnss_summary(d: ReportData) -> str:
    if not d.gnss_checks:
        return "no GNSS_TIME event among the disclosed records"
    offs = [a for _t, a, _d in d.gnss_checks]
    return (f"{len(offs)} measurement(s), device clock minus GNSS from {human_duration(min(offs))}"
            f" to {human_duration(max(offs))}")  # fmt: skip


def svg_timeline(d: ReportData, nb: dict[int, int], na: int | None) -> str:
    """Rows: the window, each batch's claimed span (with its uncertainty), the proven
    not-before ticks and the not-after line, the GNSS measurements. x is UTC over the window
    and its batches; a bound further out (an anchor hours later) is drawn at the edge with
    its distance written beside it, so the window stays readable."""
    assert d.bundle is not None
    r = d.bundle.request
    bounded = [h for h in d.headers if h.clock_uncertainty_ns < UNBOUNDED_FROM_NS]
    core = [r.window_start_ns, r.window_end_ns, *(h.first_utc_ns for h in d.headers),
            *(h.last_utc_ns for h in d.headers)]  # fmt: skip
    span = max(max(core) - min(core), 10**9)
    lo, hi = min(core) - span // 10, max(core) + span // 10
    pw = W - ML - MR

    def x(t: int) -> float:
        return ML + pw * (min(max(t, lo), hi) - lo) / (hi - lo)

    rows = ["window", "batches (claimed)", "not before", "not after", "GNSS check"]
    height = ROW * len(rows) + 34
    parts = [f'<text x="{ML - 8}" y="{ROW * i + 18}" class="tick" text-anchor="end">{esc(n)}</text>'
             for i, n in enumerate(rows)]  # fmt: skip
    w0, w1 = x(r.window_start_ns), x(r.window_end_ns)
    parts.append(f'<rect class="tl-window" x="{w0:.1f}" y="4" height="{ROW - 8}" '
                 f'width="{max(1.0, w1 - w0):.1f}"/>')  # fmt: skip
    for h in d.headers:
        y = ROW + 4
        if h in bounded:
            a = x(h.first_utc_ns - h.clock_uncertainty_ns)
            b = x(h.last_utc_ns + h.clock_uncertainty_ns)
            parts.append(f'<rect class="tl-unc" x="{a:.1f}" y="{y + 6}" '
                         f'width="{max(1.0, b - a):.1f}" height="{ROW - 20}"/>')  # fmt: skip
        a, b = x(h.first_utc_ns), x(h.last_utc_ns)
        parts.append(f'<rect class="tl-batch" data-batch="{h.batch_seq}" x="{a:.1f}" y="{y}" '
                     f'width="{max(2.0, b - a):.1f}" height="{ROW - 8}"><title>batch {h.batch_seq}'
                     f" {h.clock_source.name} ± {esc(human_duration(h.clock_uncertainty_ns))}"
                     "</title></rect>")  # fmt: skip
    for seq, t in sorted(nb.items()):
        px = x(t * 10**9)
        parts.append(f'<line class="tl-nb" data-batch="{seq}" x1="{px:.1f}" x2="{px:.1f}" '
                     f'y1="{2 * ROW + 4}" y2="{3 * ROW - 4}"/>')  # fmt: skip
    if nb:
        parts.append(_beyond(min(nb.values()) * 10**9, lo, hi, x, 2 * ROW + 18))
    if na is not None:
        px = x(na * 10**9)
        parts.append(f'<line class="tl-na" x1="{px:.1f}" x2="{px:.1f}" '
                     f'y1="{3 * ROW + 4}" y2="{4 * ROW - 4}"/>')  # fmt: skip
        parts.append(_beyond(na * 10**9, lo, hi, x, 3 * ROW + 18))
    for t, _a, _detail in d.gnss_checks:
        parts.append(f'<circle class="tl-gnss" cx="{x(t):.1f}" cy="{4 * ROW + 13}" r="3"/>')
    parts.append(f'<text x="{ML}" y="{height - 6}" class="tick">{esc(utc(lo))}</text>'
                 f'<text x="{W - MR}" y="{height - 6}" class="tick" text-anchor="end">'
                 f"{esc(utc(hi))}</text>")  # fmt: skip
    return (f'<div class="figure"><svg id="timeline" class="chart" role="img" '
            f'viewBox="0 0 {W} {height}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>time line: claimed and proven times</title>{''.join(parts)}</svg>"
            '<p class="cap">Blue: each batch as the device dates it, pale: widened by its stated '
            "uncertainty; green ticks: proven not-before (beacon blocks); red line: proven "
            "not-after (the anchor); dots: the device's GNSS cross-checks. A bound beyond the "
            "axis is drawn at its edge with its distance.</p></div>")  # fmt: skip


def _beyond(t: int, lo: int, hi: int, x: object, y: int) -> str:
    """A label beside a mark clamped to an edge: how far beyond the axis it really is."""
    if lo <= t <= hi:
        return ""
    px = x(t)  # type: ignore[operator]
    if t > hi:
        return (f'<text x="{px - 6:.1f}" y="{y}" class="tick" text-anchor="end">'
                f"{esc(human_duration(t - hi))} later →</text>")  # fmt: skip
    return (
        f'<text x="{px + 6:.1f}" y="{y}" class="tick">← {esc(human_duration(lo - t))} '
        "earlier</text>"
    )
