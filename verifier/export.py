"""`vnotary export`: the verified records of a bundle for an expert's own tools.

`candump` writes the CAN frames as a can-utils `candump -l` log (python-can's LogReader,
cantools, SavvyCAN and `canplayer` read it); `csv` writes every disclosed record, one row
each, for a spreadsheet. The bundle is verified first (as `vnotary verify`, with --trust
and --rpc): a FAIL bundle exports nothing (exit 1), an INCONCLUSIVE one is exported and
says so. Neither format has room for provenance, so a manifest beside the output
(`OUT.manifest.json`) names the bundle's sha256, the verdict, its reasons and the sha256 of
the export itself; the same line goes to stdout.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from notary_core import records as rec
from notary_core.bundle import parse_bundle
from notary_core.errors import BadData
from notary_core.evidence import Status, Transcript, Verdict, verify_bundle
from notary_core.header import SignedHeader
from verifier.chain_rpc import DEFAULT_CONFIRMATIONS, anchor_lookup
from verifier.cli import EXIT, EXIT_UNREADABLE, load_trust

FORMATS = ("candump", "csv")
CAN_ERR_FLAG = 0x20000000  # linux/can.h: an error frame in candump's ID field
CANFD_BRS, CANFD_ESI = 0x01, 0x02  # linux/can.h, the flags digit after `##`
CSV_COLUMNS = ("batch_seq", "leaf_index", "stream", "seq", "kind", "utc", "utc_ns",
               "mono_ns", "clock", "can_id", "ext", "rtr", "err", "fd", "dlc", "data",
               "text")  # fmt: skip


def verified_records(data: bytes) -> Iterator[tuple[int, int, rec.Record]]:
    """(batch_seq, leaf index, record) of every disclosed record, in bundle order. Call only
    after `verify_bundle` said OK or INCONCLUSIVE: then every one parses."""
    for batch in parse_bundle(data).bundle.batches:
        seq = SignedHeader.parse(batch.signed_header).header.batch_seq
        for d in batch.disclosed:
            yield seq, d.leaf_index, rec.decode(d.record)


def candump_line(r: rec.Record) -> str | None:
    """One `candump -l` line, or None for a record that is not a CAN frame."""
    f = r.body
    if not isinstance(f, rec.CanFrame):
        return None
    stamp = f"({r.utc_ns // 10**9}.{r.utc_ns % 10**9 // 1000:06d})"
    ext = bool(f.flags & rec.CanFlags.EXT)
    can_id = f.can_id | (CAN_ERR_FLAG if f.flags & rec.CanFlags.ERR else 0)
    ident = f"{can_id:08X}" if ext or can_id > 0x7FF else f"{can_id:03X}"
    if f.flags & rec.CanFlags.FD:
        fd = (CANFD_BRS if f.flags & rec.CanFlags.BRS else 0) | (
            CANFD_ESI if f.flags & rec.CanFlags.ESI else 0
        )
        return f"{stamp} {r.stream} {ident}##{fd:X}{f.data.hex().upper()}"
    if f.flags & rec.CanFlags.RTR:
        return f"{stamp} {r.stream} {ident}#R{f.dlc or ''}"
    return f"{stamp} {r.stream} {ident}#{f.data.hex().upper()}"


def csv_row(batch_seq: int, leaf: int, r: rec.Record) -> dict[str, object]:
    when = datetime.fromtimestamp(r.utc_ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    row: dict[str, object] = {
        "batch_seq": batch_seq, "leaf_index": leaf, "stream": r.stream, "seq": r.seq,
        "kind": r.kind.name.lower(), "utc": f"{when}.{r.utc_ns % 10**9:09d}Z",
        "utc_ns": r.utc_ns, "mono_ns": r.mono_ns, "clock": r.clock.name.lower(),
    }  # fmt: skip
    b = r.body
    if isinstance(b, rec.CanFrame):
        row |= {"can_id": f"0x{b.can_id:x}", "dlc": b.dlc, "data": b.data.hex(),
                **{k: int(bool(b.flags & fl)) for k, fl in (
                    ("ext", rec.CanFlags.EXT), ("rtr", rec.CanFlags.RTR),
                    ("err", rec.CanFlags.ERR), ("fd", rec.CanFlags.FD))}}  # fmt: skip
    elif isinstance(b, rec.NmeaSentence):
        row |= {"text": b.raw.decode("ascii", "replace"), "data": b.raw.hex()}
    else:  # IMU samples, bridge frames, agent events: their fields as text
        row["text"] = repr(b)
    return row


def render(data: bytes, fmt: str) -> tuple[str, int, int]:
    """(text, records written, records left out) of a verified bundle."""
    out = io.StringIO()
    written = skipped = 0
    if fmt == "csv":
        w = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        for seq, leaf, r in verified_records(data):
            w.writerow(csv_row(seq, leaf, r))
            written += 1
        return out.getvalue(), written, 0
    for _seq, _leaf, r in verified_records(data):
        line = candump_line(r)
        if line is None:
            skipped += 1
            continue
        out.write(line + "\n")
        written += 1
    return out.getvalue(), written, skipped


def manifest(
    data: bytes, t: Transcript, fmt: str, text: str, n: int, left: int
) -> dict[str, object]:
    return {
        "bundle_sha256": hashlib.sha256(data).hexdigest(),
        "verdict": str(t.verdict),
        "reasons": t.reasons,  # of the checks that failed
        "undecided": [
            f"{c.name}: {c.reason or c.detail}" for c in t.checks if c.status is Status.UNDECIDED
        ],  # why not OK (INCONCLUSIVE)
        "format": fmt,
        "records": n,
        "left_out": left,  # candump: the records that are not CAN frames (use csv for them)
        "export_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def run(args: argparse.Namespace) -> int:
    bundle_path = Path(args.bundle)
    try:
        data = bundle_path.read_bytes()
        trust = load_trust(Path(args.trust)) if args.trust else None
    except (OSError, ValueError, KeyError) as exc:
        print(f"vnotary export: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    t = verify_bundle(data, trust, anchor_lookup(args.rpc, args.confirmations))
    if t.verdict is Verdict.FAIL:
        print(f"vnotary export: the bundle FAILS verification ({', '.join(t.reasons)}): "
              "nothing exported", file=sys.stderr)  # fmt: skip
        return EXIT[Verdict.FAIL]
    try:
        text, n, left = render(data, args.format)
    except BadData as exc:  # verify_bundle passed these records: a bug, not a verdict
        raise RuntimeError(f"a verified record did not decode: {exc}") from exc
    suffix = {"candump": ".log", "csv": ".csv"}[args.format]
    out = Path(args.output) if args.output else bundle_path.with_suffix(suffix)
    doc = manifest(data, t, args.format, text, n, left)
    side = out.with_name(out.name + ".manifest.json")
    try:
        out.write_text(text, encoding="ascii" if args.format == "candump" else "utf-8")
        side.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"vnotary export: cannot write: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"verdict: {t.verdict}; bundle sha256 {doc['bundle_sha256']}; {n} records to {out} "
          f"({left} left out); manifest {side}")  # fmt: skip
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", help="the evidence bundle file")
    p.add_argument("--format", choices=FORMATS, required=True,
                   help="candump: CAN frames as a candump -l log; csv: every record")  # fmt: skip
    p.add_argument("-o", "--output", help="output file (default: BUNDLE.log or BUNDLE.csv)")
    p.add_argument("--trust", help="JSON file of pinned log keys, collector keys and contracts")
    p.add_argument("--rpc", help="EVM JSON-RPC URL: also confirm the anchor on chain")
    p.add_argument(
        "--confirmations", type=int, default=DEFAULT_CONFIRMATIONS,
        help=f"confirmations that make an anchor final (default {DEFAULT_CONFIRMATIONS})",
    )  # fmt: skip
