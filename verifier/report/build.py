"""`vnotary report BUNDLE`: the human evidence report, one self-contained HTML file.

The report renders the verifier's own transcript (it verifies, then shows), the disclosed
GNSS track and signal plots, the device, hash chain, anchor and grants, the limitations and
the commands to reproduce the verification. It loads nothing from the network: SVG and CSS
are inline and a Content-Security-Policy forbids any fetch or script.

    from verifier.report.build import generate
    html = generate(bundle_bytes, transcript, bundle_name="claim.vnb")
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from notary_core.evidence import Transcript, Trust, verify_bundle
from verifier.chain_rpc import DEFAULT_CONFIRMATIONS, anchor_lookup, block_lookup
from verifier.cli import EXIT_UNREADABLE, load_trust
from verifier.report import custody, sections, timeline
from verifier.report.data import extract, utc
from verifier.report.html import page
from verifier.report.svg import esc

REPORT_VERSION = "1"


def generate(
    data: bytes,
    transcript: Transcript,
    *,
    bundle_name: str,
    trust_name: str | None = None,
    rpc: str | None = None,
    generated_utc_ns: int = 0,
) -> str:
    """The report as an HTML string, from the bundle bytes and their verification transcript.
    Pure: the time of generation is passed in (0 leaves it out)."""
    d = extract(data, transcript)
    made = f" · generated {utc(generated_utc_ns)}" if generated_utc_ns else ""
    head = (
        '<header class="top"><h1>Vehicle data evidence report</h1>'
        f'<div class="sub">bundle <span class="mono">{esc(bundle_name)}</span>{esc(made)} · '
        f"report format {REPORT_VERSION}. The bundle file is the evidence; this page is a "
        "reading of it and of its verification.</div></header>"
    )
    parts = [head, sections.verdict(d)]
    if d.bundle is not None:
        parts += [
            sections.track(d),
            timeline.section(d),
            sections.signals(d),
            sections.records(d),
            sections.device(d),
            sections.chain(d),
            custody.anchor(d),
            custody.authorization(d),
        ]
    parts += [custody.limitations(d), custody.reproduce(data, bundle_name, trust_name, rpc)]
    parts.append(
        "<footer>Produced by the open vnotary verifier from the bundle alone"
        + (" and the chain node named above" if rpc else "")
        + ". Times are UTC as recorded by the device, with the clock source it states.</footer>"
    )
    title = "Evidence report"
    if d.bundle is not None:
        title += f" · {d.bundle.request.vehicle_id} · {d.bundle.bundle_id}"
    return page(title, "".join(parts))


def run(args: argparse.Namespace) -> int:
    """Verify the bundle (with --trust/--rpc as `vnotary verify` does) and write the report."""
    bundle_path = Path(args.bundle)
    try:
        data = bundle_path.read_bytes()
        trust: Trust | None = load_trust(Path(args.trust)) if args.trust else None
    except (OSError, ValueError, KeyError) as exc:
        print(f"vnotary report: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        check_anchor = anchor_lookup(args.rpc, args.confirmations, args.collector)
    except ValueError as exc:  # a URL that is not http(s)
        print(f"vnotary report: {exc}", file=sys.stderr)
        return 2
    transcript = verify_bundle(data, trust, check_anchor, block_lookup(args.rpc))
    html = generate(
        data,
        transcript,
        bundle_name=bundle_path.name,
        trust_name=Path(args.trust).name if args.trust else None,
        rpc=args.rpc,
        generated_utc_ns=time.time_ns(),
    )
    out = Path(args.output) if args.output else bundle_path.with_suffix(".html")
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        print(f"vnotary report: cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"verdict: {transcript.verdict}; report written to {out}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", help="the evidence bundle file")
    p.add_argument("-o", "--output", help="the HTML file to write (default: BUNDLE.html)")
    p.add_argument(
        "--trust", help="JSON file of pinned witness keys and quorum, log and collector keys, "
        "contracts",
    )  # fmt: skip
    p.add_argument("--rpc", help="EVM JSON-RPC URL: also confirm the anchor on chain")
    p.add_argument(
        "--confirmations", type=int, default=DEFAULT_CONFIRMATIONS,
        help=f"confirmations that make an anchor final (default {DEFAULT_CONFIRMATIONS})",
    )  # fmt: skip
    p.add_argument(
        "--collector", metavar="URL",
        help="collector API: with --rpc, fetch the consistency proof to a newer anchored head",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vnotary-report", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
