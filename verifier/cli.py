"""`vnotary verify`: check an evidence bundle offline, optionally confirm its anchor on chain."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from notary_core.errors import NotaryError
from notary_core.evidence import Status, Transcript, Trust, Verdict, verify_bundle
from verifier.chain_rpc import DEFAULT_CONFIRMATIONS, anchor_lookup, block_lookup

EXIT = {Verdict.OK: 0, Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 3}
EXIT_UNREADABLE = 4


def load_trust(path: Path) -> Trust:
    """A trust file (JSON): {"log_vkeys": [...], "collector_keys": [base64 SPKI, ...],
    "anchor_contracts": [{"chain_id": 1, "address": "0x..."}]}: what you pinned, not the
    bundle's word."""
    doc: dict[str, Any] = json.loads(path.read_text())
    return Trust(
        log_vkeys=frozenset(doc.get("log_vkeys", [])),
        collector_keys=frozenset(base64.b64decode(k) for k in doc.get("collector_keys", [])),
        anchor_contracts=frozenset(
            (int(c["chain_id"]), bytes.fromhex(c["address"].removeprefix("0x")))
            for c in doc.get("anchor_contracts", [])
        ),
    )


def render(t: Transcript) -> str:
    marks = {Status.PASS: "ok  ", Status.FAIL: "FAIL", Status.UNDECIDED: "??  "}
    lines = [f"verdict: {t.verdict}"]
    s = t.summary
    if s:
        lines.append(
            f"bundle {s.get('bundle_id')}: vehicle {s.get('vehicle')}, device {s.get('device')}, "
            f"{s.get('disclosed_records')} disclosed records in batches {s.get('batches')}"
        )
    for c in t.checks:
        reason = f" [{c.reason}]" if c.reason else ""
        lines.append(f"  {marks[c.status]} {c.name}{reason}: {c.detail}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        data = Path(args.bundle).read_bytes()
        trust = load_trust(Path(args.trust)) if args.trust else None
    except (OSError, ValueError, KeyError) as exc:
        print(f"vnotary verify: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    check_anchor = anchor_lookup(args.rpc, args.confirmations)
    try:
        transcript = verify_bundle(data, trust, check_anchor, block_lookup(args.rpc))
    except NotaryError as exc:  # verify_bundle reports, it should never raise; belt and braces
        print(f"vnotary verify: {exc}", file=sys.stderr)
        return EXIT[Verdict.FAIL]
    if args.json:
        print(json.dumps(transcript.to_dict(), indent=2))
    else:
        print(render(transcript))
    return EXIT[transcript.verdict]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", help="the evidence bundle file")
    p.add_argument("--trust", help="JSON file of pinned log keys, collector keys and contracts")
    p.add_argument("--rpc", help="EVM JSON-RPC URL: also confirm the anchor on chain")
    p.add_argument(
        "--confirmations", type=int, default=DEFAULT_CONFIRMATIONS,
        help=f"confirmations that make an anchor final (default {DEFAULT_CONFIRMATIONS})",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the machine-readable transcript")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vnotary-verify", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
