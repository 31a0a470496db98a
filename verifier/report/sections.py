"""The report's evidence sections: verdict, map, signal plots, records, device, hash chain."""

from __future__ import annotations

import hashlib

from notary_core import cose, logleaf
from notary_core.errors import BadData
from notary_core.evidence import Status
from verifier.report.data import ReportData, Series, utc
from verifier.report.html import kv, table
from verifier.report.svg import COLOURS, esc, line_chart, track_map
from verifier.report.timeline import human_duration

MAX_BATCH_ROWS = 400
KMH_PER_MPS = 3.6
_STATUS_CLASS = {Status.PASS: "pass", Status.FAIL: "fail", Status.UNDECIDED: "undecided"}


def verdict(d: ReportData) -> str:
    t = d.transcript
    word = str(t.verdict)
    meaning = {
        "OK": "Every check passed and the bundle is tied to a key or a chain you trust.",
        "FAIL": "At least one check failed: do not rely on this data. Reasons: "
        + ", ".join(t.reasons),
        "INCONCLUSIVE": "Nothing failed, but something could not be decided (see the checks "
        "marked 'undecided').",
        "UNREADABLE": "This file is not an evidence bundle at all (empty, truncated, or no "
        "vnotary bundle magic): nothing in it was verified.",
        "ERROR": "The verifier itself failed: there is no verdict on this bundle.",
    }[word]
    rows = "".join(
        f"<tr><td class=mono>{esc(c.name)}</td>"
        f'<td class="{_STATUS_CLASS[c.status]}">{esc(c.status)}</td>'
        f"<td class=mono>{esc(c.reason)}</td><td>{esc(c.detail)}</td></tr>"
        for c in t.checks
    )
    checks = ("<table id=checks><thead><tr><th>check</th><th>result</th><th>reason</th>"
              f"<th>detail</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip
    box = (f'<div id="verdict" class="verdict {esc(word)}" data-verdict="{esc(word)}">'
           f'<div class="word">{esc(word)}</div><div>{esc(meaning)}</div></div>')  # fmt: skip
    summary = ""
    if d.bundle is not None:
        b, r = d.bundle, d.bundle.request
        summary = kv([
            ("bundle id", b.bundle_id), ("vehicle", r.vehicle_id),
            ("recording device", r.device_id),
            ("data window", f"{utc(r.window_start_ns)} → {utc(r.window_end_ns)} "
                            f"({(r.window_end_ns - r.window_start_ns) / 1e9:g} s)"),
            ("streams disclosed", ", ".join(r.scope)), ("purpose stated", r.purpose),
            ("issued to (key thumbprint)", r.grantee), ("issued at", utc(b.issued_utc_ns)),
            ("disclosed records", f"{d.disclosed} of {d.total_records} in "
                                  f"{len(d.headers)} signed batches"),
        ], mono=("issued to (key thumbprint)",))  # fmt: skip
    else:
        summary = f'<p class="warnbox">The bundle could not be parsed: {esc(d.parse_error)}</p>'
    return f"<h2>1. Verdict</h2>{box}{summary}<h3>Checks</h3>{checks}"


def _window(d: ReportData) -> tuple[int, int]:
    assert d.bundle is not None
    return d.bundle.request.window_start_ns, d.bundle.request.window_end_ns


def track(d: ReportData) -> str:
    head = "<h2>2. Where: GNSS track</h2>"
    if not d.fixes:
        return head + '<p class="note" id="no-track">No GNSS position in the disclosed records.</p>'
    event = d.event[0] if d.event else None
    first, last = d.fixes[0], d.fixes[-1]
    facts = kv([
        ("positions plotted", f"{len(d.fixes)} (GGA/RMC fixes from disclosed NMEA records)"),
        ("start", f"{first.lat:.6f}, {first.lon:.6f} at {utc(first.utc_ns)}"),
        ("end", f"{last.lat:.6f}, {last.lon:.6f} at {utc(last.utc_ns)}"),
        ("event", f"{d.event[1]} at {utc(d.event[0])}" if d.event else "none marked"),
        ("sentences without a valid fix", d.nmea_rejected),
    ])  # fmt: skip
    legend = ('<p class="cap legend"><span>● start</span><span>■ end</span>'
              '<span style="color:#b3261e">◉ event</span> Equirectangular projection of the '
              "receiver's WGS 84 positions; no map tiles, no map matching.</p>")  # fmt: skip
    return (f'{head}<div class="grid2"><div class="figure">{track_map(d.fixes, event)}{legend}'
            f"</div><div>{facts}</div></div>")  # fmt: skip


def _figure(svg: str, series: list[Series], caption: str) -> str:
    keys = "".join(f'<span><i style="background:{COLOURS[i % len(COLOURS)]}"></i>'
                   f"{esc(s.name)}{f' ({esc(s.unit)})' if s.unit else ''} — {esc(s.source)}</span>"
                   for i, s in enumerate(series))  # fmt: skip
    return (
        f'<div class="figure">{svg}<p class="cap legend">{keys}</p>'
        f'<p class="cap">{esc(caption)}</p></div>'
    )


def signals(d: ReportData) -> str:
    t0, t1 = _window(d)
    event = d.event[0] if d.event else None
    out = ["<h2>4. What: speed, brake and acceleration over the window</h2>"]
    if d.can:
        dbc = d.dbc or {"name": "(not named)", "sha256": ""}
        out.append('<p class="note">Decoded view, not evidence: the CAN signals below were '
                   f"decoded by the collector with DBC {esc(dbc.get('name'))} (sha256 "
                   f'<span class="mono">{esc(dbc.get("sha256"))}</span>). The evidence is '
                   "the raw frames; an expert re-decodes them to rely on them.</p>")  # fmt: skip
    else:
        out.append('<p class="note" id="no-can-view">No decoded CAN view in this bundle.</p>')
    for note in d.view_notes:
        out.append(f'<p class="warnbox">{esc(note)}</p>')
    speed = [s for s in d.can if "SPEED" in s.name.upper()]
    gnss = [f for f in d.fixes if f.speed_mps is not None]
    if gnss:
        speed.append(Series("GNSS speed over ground", "km/h", "gnss RMC (disclosed records)",
                            tuple(f.utc_ns for f in gnss),
                            tuple(KMH_PER_MPS * (f.speed_mps or 0.0) for f in gnss)))  # fmt: skip
    brake = [s for s in d.can if "BRAKE" in s.name.upper()]
    other = [s for s in d.can if s not in speed and s not in brake]
    groups = [("chart-speed", speed, "speed", False)]
    groups += [(f"chart-brake{'-' + str(i) if i else ''}", [s], s.name, set(s.v) <= {0.0, 1.0})
               for i, s in enumerate(brake)]  # fmt: skip
    groups += [(f"chart-signal-{i}", [s], s.name, False) for i, s in enumerate(other[:8])]
    for cid, group, title, step in groups:
        if group:
            unit = group[0].unit
            svg = line_chart(cid, group, t0, t1, event, f"{title} ({unit})" if unit else title,
                             step)  # fmt: skip
            out.append(_figure(svg, group, "Dashed red line: the event."))
    if d.imu:
        horizontal = d.imu[:2]
        z = d.imu[2].v
        svg = line_chart("chart-imu", horizontal, t0, t1, event, "acceleration (m/s²)")
        out.append(_figure(svg, horizontal, "IMU sensor frame, not aligned to the vehicle; "
                           f"gravity not removed. Vertical axis z ranged {min(z):.2f} to "
                           f"{max(z):.2f} m/s²."))  # fmt: skip
    else:
        out.append('<p class="note">No IMU samples in the disclosed records.</p>')
    return "".join(out)


def records(d: ReportData) -> str:
    rows = [(s, k, n) for (s, k), n in sorted(d.record_counts.items())]
    clocks = ", ".join(f"{k}: {n}" for k, n in sorted(d.clock_sources.items())) or "none"
    return ("<h2>5. Disclosed records</h2><p>Each record below is disclosed with its salt and "
            "proven against the Merkle root its device signed. Clock sources of their times: "
            f"{esc(clocks)}.</p>"
            + table(["stream", "kind", "records"], rows, tid="record-counts"))  # fmt: skip


def device(d: ReportData) -> str:
    assert d.bundle is not None
    b = d.bundle
    spki = b.device_key or (d.device_keys[-1] if d.device_keys else b"")  # v2: from its chain
    try:
        key = cose.PublicKey.from_spki(spki)
        alg, kid = ("Ed25519 (EdDSA)" if key.alg == cose.Alg.EDDSA else "P-256 (ES256)"), key.kid
    except BadData as exc:
        alg, kid = f"unreadable key: {exc.message}", b""
    facts = kv([
        ("device id", b.request.device_id), ("key algorithm", alg), ("key id", kid.hex()),
        ("SPKI sha256", hashlib.sha256(spki).hexdigest()),
    ], mono=("key id", "SPKI sha256"))  # fmt: skip
    rows = []
    for e in d.device_log:
        ev = e.event
        if isinstance(ev, logleaf.RegistryEvent):
            until = "open" if ev.not_after_ns is None else utc(ev.not_after_ns)
            rows.append((e.log_index, ev.action.name, ev.device_id, ev.key_id.hex(),
                         utc(ev.not_before_ns), until, utc(ev.at_utc_ns)))  # fmt: skip
        elif isinstance(ev, logleaf.AccessEvent):  # v2: the device's installations
            until = "open" if ev.window_end_ns >= 2**63 - 1 else utc(ev.window_end_ns)
            rows.append((e.log_index, ev.action.name, ev.vehicle_id, "",
                         utc(ev.window_start_ns), until, utc(ev.at_utc_ns)))  # fmt: skip
        else:
            rows.append((e.log_index, "unreadable", e.error, "", "", "", ""))
    enrol = table(["log index", "action", "device", "key id", "valid from", "valid until",
                   "logged at"], rows, ["", "", "", "mono"], tid="enrolment")  # fmt: skip
    return f"<h2>6. Device, key and enrolment</h2>{facts}<h3>Registry events in the log</h3>{enrol}"


def chain(d: ReportData) -> str:
    hs = d.headers
    if not hs:
        return "<h2>7. Hash chain and completeness</h2><p>No signed batch header.</p>"
    rows = [(h.batch_seq, utc(h.first_utc_ns)[11:23], utc(h.last_utc_ns)[11:23], h.record_count,
             h.clock_source.name, f"± {human_duration(h.clock_uncertainty_ns)}",
             h.boot_id.hex()[:8], hh.hex())
            for h, hh in zip(hs, d.header_hashes, strict=True)]  # fmt: skip
    cut = ""
    if len(rows) > MAX_BATCH_ROWS:
        half = MAX_BATCH_ROWS // 2
        cut = f"<p class=note>{len(rows) - MAX_BATCH_ROWS} batches between are not listed.</p>"
        rows = rows[:half] + rows[-half:]
    batches = table(["batch", "first record", "last record", "records", "clock", "uncertainty",
                     "boot", "header hash (sha256)"], rows, ["", "nowrap", "nowrap", "", "",
                     "nowrap", "mono nowrap", "mono"], tid="batches")  # fmt: skip
    base = "the device's first batch" if hs[0].batch_seq == 0 else f"batch {hs[0].batch_seq}"
    counters = table(
        ["stream", "seen", "stored", "dropped", "bus errors", "CRC failures", "sequence gaps",
         "batches counted"],
        [(name, *(f"+{x}" for x in delta), span)
         for name, _a, _b, delta, span in d.counter_deltas_over_segment()],
        tid="counters")  # fmt: skip
    lost = [n for n, _a, _b, delta, _s in d.counter_deltas_over_segment() if any(delta[2:])]
    warn = (f'<p class="warnbox">The device reported losses or errors on: {esc(", ".join(lost))}'
            ".</p>" if lost else "<p>No loss, bus error, CRC failure or sequence gap was "
            "reported over the segment.</p>")  # fmt: skip
    return (f"<h2>7. Hash chain and completeness</h2><p>Batches {hs[0].batch_seq} to "
            f"{hs[-1].batch_seq}, {esc(utc(hs[0].first_utc_ns)[:10])} (times of day in UTC): "
            "each signed header names the hash of the one before, so a "
            f"missing, reordered or replayed batch breaks the chain. Agent "
            f"{esc(hs[-1].agent_version)}, config hash "
            f'<span class="mono">{hs[-1].config_hash.hex()}</span>.</p>{batches}{cut}'
            "<h3>Completeness counters over the segment</h3><p>The device's own counters are "
            f"cumulative; shown is their increase over the batches after {esc(base)} (the "
            "segment's first, its baseline), through the last: every batch that meets the "
            "window when the first does not.</p>"
            f"{counters}{warn}{_complete(d)}")  # fmt: skip


def _complete(d: ReportData) -> str:
    """(v2) What the verifier proved per granted item, and the device's proven head."""
    s = d.transcript.summary
    per = s.get("completeness")
    if not isinstance(per, dict):
        return ""
    rows = [(item, v.get("disclosed"), v.get("counted")) for item, v in sorted(per.items())]
    head = s.get("device_head") or {}
    checks = {c.name: c for c in d.transcript.checks}
    c = checks.get("records.complete")
    status = "proven" if c is not None and c.status.value == "pass" else "NOT proven"
    return ("<h3>Completeness per granted item</h3><p>For every batch that meets the window, "
            "the disclosed records of each granted item were checked against the count the "
            f"device signed in its header: {status}. {d.boundary} boundary record(s) just "
            "outside the window are disclosed because a batch's count covers the whole batch; "
            "they are proven but not plotted.</p>"
            + table(["granted item", "disclosed", "counted by the device"], rows,
                    tid="completeness")
            + f"<p>Newest batch of the device at the checkpoint (index of heads): "
            f"{esc(str(head.get('batch_seq')))} (log index {esc(str(head.get('log_index')))}"
            ").</p>")  # fmt: skip
