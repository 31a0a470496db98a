"""`vnotary verify`: check an evidence bundle offline, optionally confirm its anchor on chain."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from notary_core.errors import BadData, NotaryError
from notary_core.evidence import Status, Transcript, Trust, Verdict, verify_bundle
from notary_core.witness import WitnessVerifier
from verifier.chain_rpc import DEFAULT_CONFIRMATIONS, anchor_lookup

EXIT = {Verdict.OK: 0, Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 3}
EXIT_UNREADABLE = 4


TRUST_KEYS = ("log_vkeys", "collector_keys", "anchor_contracts", "witnesses", "witness_quorum")


def load_trust(path: Path) -> Trust:
    """A trust file (JSON): what you pinned, not the bundle's word.

    {"log_vkeys": [...], "collector_keys": [base64 SPKI, ...],
     "anchor_contracts": [{"chain_id": 1, "address": "0x..."}],
     "witnesses": ["<name>+<key ID>+<base64(0x04 || key)>", ...], "witness_quorum": k}

    Unknown keys, a file that pins nothing, a witness key that does not parse and a quorum
    outside 1..len(witnesses) are refused (ValueError), never taken as "trust nothing"."""
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a trust file is a JSON object")
    unknown = sorted(set(doc) - set(TRUST_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}")
    if not any(doc.get(k) for k in TRUST_KEYS):
        raise ValueError(f"{path}: the trust file pins nothing")
    witnesses = doc.get("witnesses", [])
    quorum = doc.get("witness_quorum", 0)
    try:
        for v in witnesses:
            WitnessVerifier.from_vkey(v)
    except (BadData, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: witnesses: {exc}") from None
    if not isinstance(quorum, int) or isinstance(quorum, bool):
        raise ValueError(f"{path}: witness_quorum must be an integer")
    if not (1 <= quorum <= len(witnesses) if witnesses else quorum == 0):
        raise ValueError(f"{path}: witness_quorum must be 1..{len(witnesses)} with witnesses")
    return Trust(
        log_vkeys=frozenset(doc.get("log_vkeys", [])),
        collector_keys=frozenset(base64.b64decode(k) for k in doc.get("collector_keys", [])),
        anchor_contracts=frozenset(
            (int(c["chain_id"]), bytes.fromhex(c["address"].removeprefix("0x")))
            for c in doc.get("anchor_contracts", [])
        ),
        witness_vkeys=frozenset(witnesses),
        witness_quorum=quorum,
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
    except (OSError, ValueError, KeyError) as exc:
        print(f"vnotary verify: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    check_anchor = anchor_lookup(args.rpc, args.confirmations)
    try:
        transcript = verify_bundle(data, trust, check_anchor)
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
    p.add_argument(
        "--trust", help="JSON file of pinned witness keys and quorum, log and collector keys, "
        "contracts",
    )  # fmt: skip
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
