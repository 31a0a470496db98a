"""Inline SVG for the report: time-series line charts and a tile-free map of a GNSS track.

No fonts, scripts or images are fetched: each figure is one <svg> element with its data in
the markup, so the report reads offline and prints as drawn. Every text placed in a figure
goes through `esc`, since names and units come from the (untrusted) bundle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from verifier.report.data import Series, utc
from verifier.report.nmea import Fix

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad")
MAX_PLOT_POINTS = 1500
W, H = 720, 220
ML, MR, MT, MB = 64, 16, 14, 38  # margins: room for tick labels and axis titles
METRES_PER_DEG = 111_320.0


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k steps) spanning [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def nice_below(x: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above x (a scale bar's length)."""
    mag = 10 ** math.floor(math.log10(x))
    return float(max(m * mag for m in (1, 2, 5) if m * mag <= x))


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.3g}"


def _decimate(t: Sequence[float], v: Sequence[float]) -> list[tuple[float, float]]:
    """At most MAX_PLOT_POINTS points, keeping each bucket's min and max (no lost peaks)."""
    n = len(t)
    if n <= MAX_PLOT_POINTS:
        return list(zip(t, v, strict=True))
    out: list[tuple[float, float]] = []
    size = math.ceil(n / (MAX_PLOT_POINTS // 2))
    for i in range(0, n, size):
        chunk = range(i, min(i + size, n))
        lo, hi = min(chunk, key=lambda k: v[k]), max(chunk, key=lambda k: v[k])
        out.extend((t[k], v[k]) for k in sorted({lo, hi}))
    return out


def line_chart(
    chart_id: str,
    series: Sequence[Series],
    t0_ns: int,
    t1_ns: int,
    event_ns: int | None,
    y_title: str,
    step: bool = False,
) -> str:
    """An SVG chart of one or more series over [t0, t1], x in seconds from t0."""
    span = max((t1_ns - t0_ns) / 1e9, 1e-3)
    values = [x for s in series for x in s.v]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.06
    lo, hi = lo - pad, hi + pad
    pw, ph = W - ML - MR, H - MT - MB

    def px(sec: float) -> float:
        return ML + pw * sec / span

    def py(v: float) -> float:
        return MT + ph * (1 - (v - lo) / (hi - lo))

    parts = [f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" class="plot-bg"/>']
    for v in nice_ticks(lo, hi):
        y = py(v)
        parts.append(f'<line x1="{ML}" x2="{ML + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{ML - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                     f"{_fmt(v)}</text>")  # fmt: skip
    for sec in nice_ticks(0, span, 8):
        x = px(sec)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MT}" y2="{MT + ph}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{MT + ph + 16}" class="tick" text-anchor="middle">'
                     f"{_fmt(sec)}</text>")  # fmt: skip
    total = 0
    for i, s in enumerate(series):
        pts = _decimate([(t - t0_ns) / 1e9 for t in s.t], s.v)
        coords: list[str] = []
        for k, (sec, v) in enumerate(pts):
            if step and k:
                coords.append(f"{px(sec):.1f},{py(pts[k - 1][1]):.1f}")
            coords.append(f"{px(sec):.1f},{py(v):.1f}")
        total += len(pts)
        parts.append(f'<polyline class="series" data-series="{esc(s.name)}" '
                     f'data-points="{len(pts)}" stroke="{COLOURS[i % len(COLOURS)]}" '
                     f'points="{" ".join(coords)}"/>')  # fmt: skip
    if event_ns is not None and t0_ns <= event_ns <= t1_ns:
        x = px((event_ns - t0_ns) / 1e9)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MT}" y2="{MT + ph}" class="event"/>')
    parts.append(
        f'<text x="{ML + pw / 2}" y="{H - 4}" class="axis" text-anchor="middle">'
        f"time (s) from {esc(utc(t0_ns))}</text>"
        f'<text transform="translate(14 {MT + ph / 2}) rotate(-90)" class="axis" '
        f'text-anchor="middle">{esc(y_title)}</text>'
    )
    return (f'<svg id="{esc(chart_id)}" class="chart" data-points="{total}" role="img" '
            f'viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{esc(y_title)}</title>{''.join(parts)}</svg>")  # fmt: skip


def track_map(fixes: Sequence[Fix], event_ns: int | None, size: int = 520) -> str:
    """The GNSS track, equirectangular, scaled to its bounding box; start, end, event."""
    lat0 = sum(f.lat for f in fixes) / len(fixes)
    k = math.cos(math.radians(lat0))
    xs, ys = [f.lon * k for f in fixes], [f.lat for f in fixes]
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    extent = max(x_hi - x_lo, y_hi - y_lo, 1e-5)  # ~1 m: a standing vehicle still draws
    m = 40
    scale = (size - 2 * m) / extent
    # The long side of the track spans `size`; the short side gets at least half of it.
    width = max(size // 2, round((x_hi - x_lo) * scale) + 2 * m)
    height = max(size // 2, round((y_hi - y_lo) * scale) + 2 * m)
    ox = (width - (x_hi - x_lo) * scale) / 2
    oy = (height - (y_hi - y_lo) * scale) / 2

    def pt(f: Fix) -> tuple[float, float]:
        return ox + (f.lon * k - x_lo) * scale, height - (oy + (f.lat - y_lo) * scale)

    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(pt, fixes))
    (sx, sy), (ex, ey) = pt(fixes[0]), pt(fixes[-1])
    parts = [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" class="map-bg"/>',
        f'<polyline id="track" class="track" data-points="{len(fixes)}" points="{coords}"/>',
        f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="6" class="start"><title>start</title></circle>',
        f'<rect x="{ex - 5:.1f}" y="{ey - 5:.1f}" width="10" height="10" class="end">'
        "<title>end</title></rect>",
    ]
    if event_ns is not None:
        nearest = min(fixes, key=lambda f: abs(f.utc_ns - event_ns))
        vx, vy = pt(nearest)
        parts.append(f'<g id="event-marker" class="event-marker"><circle cx="{vx:.1f}" '
                     f'cy="{vy:.1f}" r="9"/><circle cx="{vx:.1f}" cy="{vy:.1f}" r="3"/>'
                     f"<title>event at {esc(utc(nearest.utc_ns))}</title></g>")  # fmt: skip
    metres = extent * METRES_PER_DEG
    bar = nice_below(metres / 3)
    bar_px = bar / METRES_PER_DEG * scale
    label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    parts.append(
        f'<g class="scale"><line x1="16" x2="{16 + bar_px:.1f}" y1="{height - 16}" '
        f'y2="{height - 16}"/><text x="16" y="{height - 22}">{esc(label)}</text></g>'
        f'<g class="north"><path d="M{width - 24} 16 l6 16 l-6 -5 l-6 5 z"/>'
        f'<text x="{width - 24}" y="44" text-anchor="middle">N</text></g>'
        f'<text x="8" y="16" class="tick">{y_hi:.5f}°, {x_lo / k:.5f}°</text>'
        f'<text x="{width - 8}" y="{height - 6}" class="tick" text-anchor="end">'
        f"{y_lo:.5f}°, {x_hi / k:.5f}°</text>"
    )
    return (f'<svg id="map" class="map" data-points="{len(fixes)}" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>GNSS track</title>{''.join(parts)}</svg>")  # fmt: skip
