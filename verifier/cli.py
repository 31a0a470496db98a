"""`vnotary verify`: check an evidence bundle offline, optionally confirm its anchor on chain.

Exit codes (docs/protocol.md §12.2), so that a script never reads a crash as forged evidence:

    0  OK            every check passed, tied to what you pinned or checked on chain
    1  FAIL          a bundle, and some check failed (forged, altered, incomplete)
    3  INCONCLUSIVE  nothing failed, something could not be decided (no trust pinned, no
                     anchor, a window still open, the chain node unreachable)
    4  UNREADABLE    not a bundle at all (empty, random, truncated, no known magic), or the
                     bundle or trust file cannot be read (missing, or a trust file refused:
                     the message names the JSON path of the bad field); nothing was verified
    5  ERROR         the verifier itself failed: one line on stderr, `--json` prints
                     {"verdict": "ERROR", ...}; no verdict on the bundle
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from notary_core.errors import Reason
from notary_core.evidence import Status, Transcript, Trust, Verdict, verify_bundle
from verifier.chain_rpc import DEFAULT_CONFIRMATIONS, anchor_lookup, block_lookup
from verifier.trust import TrustFileError, load_trust_bytes

EXIT = {Verdict.OK: 0, Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 3, Verdict.UNREADABLE: 4,
        Verdict.ERROR: 70}  # fmt: skip
EXIT_UNREADABLE = EXIT[Verdict.UNREADABLE]
EXIT_ERROR = EXIT_INTERNAL = EXIT[Verdict.ERROR]  # a bug, never a verdict: 1 means FAIL only
EXIT_BROKEN_PIPE = 141


TRUST_KEYS = ("log_vkeys", "collector_keys", "anchor_contracts", "witnesses", "witness_quorum")


def load_trust(path: Path) -> Trust:
    """A trust file (§13, docs/trust.schema.json), validated: what you pinned, not the
    bundle's word. Raises TrustFileError (a ValueError) naming the bad field, OSError."""
    return load_trust_bytes(path.read_bytes())


def render(t: Transcript) -> str:
    marks = {Status.PASS: "ok  ", Status.FAIL: "FAIL", Status.UNDECIDED: "??  "}
    lines = [f"verdict: {t.verdict}"]
    s = t.summary
    if s:
        lines.append(
            f"bundle {s.get('bundle_id')}: vehicle {s.get('vehicle')}, device {s.get('device')}, "
            f"{s.get('disclosed_records')} disclosed records in batches {s.get('batches')}"
        )
    if s.get("witnesses"):
        lines.append(f"checkpoint cosigned by {len(s['witnesses'])} pinned witnesses: "
                     + ", ".join(s["witnesses"]))  # fmt: skip
    for c in t.checks:
        reason = f" [{c.reason}]" if c.reason else ""
        lines.append(f"  {marks[c.status]} {c.name}{reason}: {c.detail}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        data = Path(args.bundle).read_bytes()
        trust = load_trust(Path(args.trust)) if args.trust else None
    except TrustFileError as exc:
        print(f"vnotary verify: trust file {args.trust} refused: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as exc:
        print(f"vnotary verify: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        check_anchor = anchor_lookup(args.rpc, args.confirmations, args.collector)
    except ValueError as exc:  # a URL that is not http(s)
        print(f"vnotary verify: {exc}", file=sys.stderr)
        return 2
    try:
        transcript = verify_bundle(data, trust, check_anchor, block_lookup(args.rpc))
    except Exception as exc:  # a crash must never read as FAIL: exit 70, no verdict
        error = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        print(f"vnotary verify: internal error, no verdict: {error}", file=sys.stderr)
        if args.json:
            doc = {"verdict": str(Verdict.ERROR), "reasons": [str(Reason.INTERNAL_ERROR)],
                   "error": error, "checks": [], "summary": {}}  # fmt: skip
            print(json.dumps(doc, indent=2))
        return EXIT_ERROR
    if args.json:
        print(json.dumps(transcript.to_dict(), indent=2))
    else:
        print(render(transcript))
    return EXIT[transcript.verdict]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", help="the evidence bundle file")
    p.add_argument("--trust", help="trust file (JSON, docs/trust.schema.json): pinned log and "
                   "collector keys, contracts, witnesses, TSA certificates")  # fmt: skip
    p.add_argument("--rpc", help="EVM JSON-RPC URL: also confirm the anchor on chain")
    p.add_argument(
        "--confirmations", type=int, default=DEFAULT_CONFIRMATIONS,
        help=f"confirmations that make an anchor final (default {DEFAULT_CONFIRMATIONS})",
    )  # fmt: skip
    p.add_argument(
        "--collector", metavar="URL",
        help="collector API: with --rpc, fetch the consistency proof from the bundle's "
        "checkpoint to a newer anchored head (the proof is checked, the collector not trusted)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the machine-readable transcript")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vnotary-verify", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BrokenPipeError:  # `| head`: as `vnotary verify` does (vnotary_cli/exits.py)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception:
        traceback.print_exc()
        print(f"vnotary-verify: internal error (exit {EXIT_INTERNAL}), no verdict", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
