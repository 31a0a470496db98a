"""`vnotary monitor`: follow a collector's checkpoints and alarm on a fork or a rewrite.

Each round: for every source (today the collector; the anchor contract plugs in as a
second `monitor.sources.Source`), fetch its newest head, authenticate it (pinned log key,
pinned witnesses' quorum), judge it against the last head verified (monitor.follow), and
either advance the durable state, or write the evidence of the alarm and stop.

Exit codes: 0 every head checked and consistent, 1 FORK or REWRITE alarm (evidence file
named on stderr; sticky until the state directory is moved away), 3 something could not be
checked (unreachable, not authentic), 2 usage, 4 unreadable trust or state.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from monitor.follow import Head, Judgement, Verdict, judge, proof_sizes
from monitor.sources import CollectorSource, Proofs, Source
from monitor.state import MonitorState
from notary_core.checkpoint import Checkpoint, NoteVerifier, split_note
from notary_core.errors import BadData, Unreachable
from notary_core.witness import WitnessVerifier
from verifier.cli import load_trust

EXIT_OK, EXIT_ALARM, EXIT_USAGE, EXIT_UNDECIDED, EXIT_UNREADABLE = 0, 1, 2, 3, 4


def _say(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {text}", flush=True)


def _known(state: MonitorState, head: Head, last: Head) -> Head | None:
    """The checkpoint this monitor verified earlier at `head`'s size, if any."""
    note = state.note_at(head.size)
    if note is None or head.size == last.size:
        return None
    cp = Checkpoint.parse_body(split_note(note)[0])
    return Head(f"{last.source} (verified earlier)", cp.origin, cp.size, cp.root, note)


def one_round(state: MonitorState, sources: list[Source], proofs: Proofs) -> int:
    last, alarm = state.load()
    if alarm is not None:
        print(f"vnotary monitor: ALARM still open, evidence in {alarm}", file=sys.stderr)
        return EXIT_ALARM
    code = EXIT_OK
    for src in sources:
        try:
            head = src.latest(None if last is None else last.origin)
        except (BadData, Unreachable) as exc:
            _say(f"{src.name}: could not check: {exc}")
            code = EXIT_UNDECIDED
            continue
        earlier = None if last is None else _known(state, head, last)
        base = earlier or last
        sizes = proof_sizes(base, head)
        try:
            proof = None if sizes is None else proofs.consistency(*sizes)
        except Unreachable as exc:
            _say(f"{src.name}: size {head.size}, no proof to check it with: {exc.message}")
            code = EXIT_UNDECIDED
            continue
        j: Judgement = judge(base, head, proof)
        who = f", cosigned by {', '.join(head.cosigners)}" if head.cosigners else ""
        _say(f"{src.name}: size {head.size}{who}: {j.verdict}: {j.message}")
        if j.verdict.alarm:
            assert base is not None
            path = state.alarm(j, base, head, sizes, time.time())
            print(f"vnotary monitor: {j.verdict} ALARM on {head.origin}: {j.message}; both "
                  f"signed checkpoints are in {path}", file=sys.stderr)  # fmt: skip
            return EXIT_ALARM
        if j.verdict is Verdict.ADVANCED:
            state.verified(head, time.time())
            last = head
    return code


def run(args: argparse.Namespace) -> int:
    try:
        trust = load_trust(Path(args.trust))
        log_keys = [NoteVerifier.from_vkey(v) for v in sorted(trust.log_vkeys)]
        witnesses = [WitnessVerifier.from_vkey(v) for v in sorted(trust.witnesses)]
        if not log_keys:
            raise ValueError(f"{args.trust}: pins no log key (log_vkeys)")
        state = MonitorState(Path(args.state))
        state.load()
    except (OSError, ValueError, KeyError, BadData) as exc:
        print(f"vnotary monitor: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        quorum = len(witnesses) if trust.witness_quorum is None else trust.witness_quorum
        collector = CollectorSource(args.collector, log_keys, witnesses, quorum)
    except ValueError as exc:
        print(f"vnotary monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sources: list[Source] = [collector]  # + the anchor contract's events, once built
    if not witnesses:
        _say("warning: no witnesses pinned: a split view shown to this monitor alone is not "
             "ruled out")  # fmt: skip
    while True:
        code = one_round(state, sources, collector)
        if args.once or code == EXIT_ALARM:
            return code
        time.sleep(args.interval)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collector", required=True, help="the collector's API base URL")
    p.add_argument("--state", required=True, help="directory for the monitor's durable state")
    p.add_argument("--trust", required=True,
                   help="trust file: the log key, the witnesses and their quorum")  # fmt: skip
    p.add_argument("--once", action="store_true", help="one round, then exit (for a timer)")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between rounds")
