"""What the evidence report shows, extracted from a bundle and its verification transcript.

Everything here is read from untrusted bytes: nothing is assumed well-formed beyond what
the core's parsers guarantee, and the decoded CAN `views` (non-normative, filled by the
collector) are type-checked field by field and dropped with a note when they are not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from notary_core import grant, heads, logleaf
from notary_core import records as rec
from notary_core.bundle import EvidenceBundle, LoggedEntry, parse_bundle
from notary_core.errors import BadData
from notary_core.evidence import Transcript
from notary_core.header import BatchHeader, SignedHeader, StreamCounters
from verifier.report.nmea import Fix, parse_fix

MAX_VIEW_POINTS = 1_000_000
"""A decoded signal longer than this is not plotted: an hour of a 100 Hz signal is 360k."""


@dataclass(frozen=True)
class Series:
    """One time series for a chart: UTC ns and values, with its unit and where it came from."""

    name: str
    unit: str
    source: str
    t: tuple[int, ...]
    v: tuple[float, ...]


@dataclass(frozen=True)
class Logged:
    """A log entry of the bundle, decoded (or the reason it could not be)."""

    log_index: int
    event: logleaf.AccessEvent | logleaf.RegistryEvent | None
    error: str = ""


@dataclass
class ReportData:
    transcript: Transcript
    bundle: EvidenceBundle | None
    parse_error: str = ""
    fixes: list[Fix] = field(default_factory=list)
    imu: list[Series] = field(default_factory=list)
    can: list[Series] = field(default_factory=list)
    view_notes: list[str] = field(default_factory=list)
    dbc: dict[str, str] = field(default_factory=dict)
    event: tuple[int, str] | None = None
    headers: list[BatchHeader] = field(default_factory=list)
    header_hashes: list[bytes] = field(default_factory=list)
    record_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    clock_sources: Counter[str] = field(default_factory=Counter)
    nmea_rejected: int = 0
    gnss_checks: list[tuple[int, int, str]] = field(default_factory=list)  # (utc, a, detail)
    grants: list[tuple[grant.Grant | None, str]] = field(default_factory=list)
    device_log: list[Logged] = field(default_factory=list)
    access_log: list[Logged] = field(default_factory=list)
    device_keys: list[bytes] = field(default_factory=list)  # (v2) SPKI of each enrolled key
    boundary: int = 0  # (v2) disclosed records outside the window (shown, never plotted)

    @property
    def total_records(self) -> int:
        return sum(h.record_count for h in self.headers)

    @property
    def disclosed(self) -> int:
        return sum(self.record_counts.values())

    def counter_deltas_over_segment(
        self,
    ) -> list[tuple[str, StreamCounters, StreamCounters, list[int], str]]:
        """Per stream: the increase of the cumulative counters over the segment, and which
        batches that covers. From the device's first batch, the baseline is zero and every
        batch counts; otherwise the first header is the baseline (its own batch is before
        the increase), which the text says (issue 13 §4: count every batch, or say which)."""
        hs = self.headers
        if not hs:
            return []
        if hs[0].batch_seq == 0:
            zero = StreamCounters()
            last = hs[-1].streams
            return [(n, zero, last[n], last[n].as_list(), f"0 → {hs[-1].batch_seq}")
                    for n in sorted(last)]  # fmt: skip
        span = f"{hs[0].batch_seq + 1} → {hs[-1].batch_seq}" if len(hs) > 1 else "none"
        return [(n, a, b, delta, span) for n, a, b, delta in self.counter_deltas()]

    def counter_deltas(self) -> list[tuple[str, StreamCounters, StreamCounters, list[int]]]:
        """Per stream: cumulative counters at the first and last header, and their increase
        over the segment (the counters are cumulative since the agent's first batch)."""
        if not self.headers:
            return []
        first, last = self.headers[0].streams, self.headers[-1].streams
        out = []
        for name in sorted(set(first) | set(last)):
            a, b = first.get(name, StreamCounters()), last.get(name, StreamCounters())
            out.append((name, a, b, [y - x for x, y in zip(a.as_list(), b.as_list(), strict=True)]))
        return out


def extract(data: bytes, transcript: Transcript) -> ReportData:
    """Decode everything the report shows from the bundle bytes."""
    try:
        bundle = parse_bundle(data).bundle
    except BadData as exc:
        return ReportData(transcript, None, parse_error=f"{exc.reason}: {exc.message}")
    out = ReportData(transcript, bundle)
    _records(out, bundle)
    _views(out, bundle.views)
    for token in bundle.grants:
        try:
            out.grants.append((grant.open_grant(token)[0], ""))
        except BadData as exc:
            out.grants.append((None, f"{exc.reason}: {exc.message}"))
    if bundle.version >= 2:
        _chains_v2(out, bundle)
    else:
        out.device_log = [_logged(e, registry=True) for e in bundle.device_events]
        out.access_log = [_logged(e, registry=False) for e in (*bundle.vehicle_events,
                                                               *bundle.grant_events)]  # fmt: skip
    return out


def _chains_v2(out: ReportData, bundle: EvidenceBundle) -> None:
    """(v2) The device and rule chains, each entry with its log index, walked back from the
    heads of the index proof (what the verifier checked: docs/protocol.md §12.3)."""
    if bundle.request.event is not None:
        out.event = bundle.request.event  # the request names it (v2), not the views
    x = bundle.index
    if x is None:
        return
    try:
        device_last = heads.DeviceHead.parse(x.device_value).chain.last_index
        rule_last = heads.VehicleHead.parse(x.vehicle_value).rules.last_index
    except BadData:
        device_last = rule_last = None
    out.device_log = _walk(bundle.device_chain, device_last, "device")
    out.access_log = _walk(bundle.rule_chain, rule_last, "rule")
    for _, e in ((g.log_index, g.event) for g in out.device_log):
        if isinstance(e, logleaf.RegistryEvent) and e.action != logleaf.RegistryAction.REVOKE:
            out.device_keys.append(e.key_spki)


def _walk(entries: tuple[bytes, ...], last: int | None, kind: str) -> list[Logged]:
    """Each entry with its log index: the last's is the head's, each other's is named by the
    link of the one after it (-1 where the chain does not say)."""
    out: list[Logged] = []
    index = last
    for leaf in reversed(entries):
        at = -1 if index is None else index
        try:
            parsed = logleaf.parse_leaf(leaf)
        except BadData as exc:
            out.append(Logged(at, None, f"{exc.reason}: {exc.message}"))
            index = None
            continue
        link = None
        if isinstance(parsed, logleaf.RegistryEvent):
            link = parsed.link
            out.append(Logged(at, parsed))
        elif isinstance(parsed, logleaf.AccessEvent):
            link = parsed.device_link if kind == "device" else parsed.rule_link
            out.append(Logged(at, parsed))
        index = None if link is None else link.prev_index
    return out[::-1]


def _logged(e: LoggedEntry, registry: bool) -> Logged:
    try:
        if registry:
            return Logged(e.log_index, logleaf.RegistryEvent.from_leaf(e.leaf))
        return Logged(e.log_index, logleaf.AccessEvent.from_leaf(e.leaf))
    except BadData as exc:
        return Logged(e.log_index, None, f"{exc.reason}: {exc.message}")


def _records(out: ReportData, bundle: EvidenceBundle) -> None:
    accel: list[list[float]] = [[], [], []]
    imu_t: list[int] = []
    for x in bundle.batches:
        try:
            signed = SignedHeader.parse(x.signed_header)
        except BadData:
            continue
        out.headers.append(signed.header)
        out.header_hashes.append(signed.header_hash)
        start, end = bundle.request.window_start_ns, bundle.request.window_end_ns
        for d in x.disclosed:
            try:
                r = rec.decode(d.record)
            except BadData:
                out.record_counts["(undecodable)", "-"] += 1
                continue
            if bundle.version >= 2 and not start <= r.utc_ns <= end:
                out.boundary += 1  # a boundary record (§12.3): proven, not analysed
                continue
            out.record_counts[r.stream, r.kind.name] += 1
            out.clock_sources[r.clock.name] += 1
            body = r.body
            if isinstance(body, rec.NmeaSentence):
                fix = parse_fix(body.raw, r.utc_ns)
                if fix is not None:
                    out.fixes.append(fix)
                elif body.raw[3:6] in (b"GGA", b"RMC"):
                    out.nmea_rejected += 1
            elif isinstance(body, rec.AgentEvent) and body.event == rec.EventType.GNSS_TIME:
                out.gnss_checks.append((r.utc_ns, body.a, body.detail))
            elif isinstance(body, rec.ImuSample):
                imu_t.append(r.utc_ns)
                for axis in range(3):
                    accel[axis].append(body.accel[axis])
    out.fixes.sort(key=lambda f: f.utc_ns)
    out.gnss_checks.sort()
    if imu_t:
        for axis, name in enumerate(("accel x", "accel y", "accel z")):
            out.imu.append(Series(name, "m/s²", "imu (disclosed records)", tuple(imu_t),
                                  tuple(accel[axis])))  # fmt: skip


def _views(out: ReportData, views: Mapping[str, Any]) -> None:
    dbc = views.get("dbc")
    if isinstance(dbc, Mapping):
        out.dbc = {k: str(dbc.get(k, "")) for k in ("name", "sha256")}
    event = views.get("event")
    if isinstance(event, Mapping) and _is_int(event.get("utc_ns")):
        out.event = (int(event["utc_ns"]), str(event.get("label", "event")))
    signals = views.get("signals")
    if signals is None:
        return
    if not isinstance(signals, Mapping):
        out.view_notes.append("the decoded view's 'signals' is not a map: ignored")
        return
    for name, s in signals.items():
        series = _series(str(name), s)
        if series is None:
            out.view_notes.append(f"decoded signal {str(name)!r} is malformed: not plotted")
        else:
            out.can.append(series)


def _series(name: str, s: Any) -> Series | None:
    if not isinstance(s, Mapping):
        return None
    t, v = s.get("t"), s.get("v")
    if not (isinstance(t, list | tuple) and isinstance(v, list | tuple)):
        return None
    if len(t) != len(v) or len(t) > MAX_VIEW_POINTS:
        return None
    if not all(_is_int(x) for x in t) or not all(_is_number(x) for x in v):
        return None
    pairs = sorted(zip(t, v, strict=True))
    return Series(name, str(s.get("unit", "")), str(s.get("source", "")),
                  tuple(int(a) for a, _ in pairs), tuple(float(b) for _, b in pairs))  # fmt: skip


def utc(ns: int) -> str:
    """ISO 8601 UTC with milliseconds: how every time in the report is written."""
    try:
        t = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns (out of range)"
    return t.strftime("%Y-%m-%d %H:%M:%S") + f".{ns // 1_000_000 % 1000:03d} UTC"


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    if not isinstance(x, int | float):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False
