#!/usr/bin/env python3
"""Mutation testing of the consensus-critical core (docs/testing.md), with mutmut 3.

    python scripts/mutation.py              every mutant of [tool.mutmut] (make mutation)
    python scripts/mutation.py --sample 150 --seed 19
                                            a seeded sample (make mutation-sample)
    python scripts/mutation.py --ledger     record what mutants/ holds, and score it

The verdicts live on in the repository, in `mutation-ledger.json`: per source file, each
function's hash (mutmut's own) and each mutant's verdict. A run starts from it, so a mutant
whose function has not changed since its verdict is not run again (mutmut's incremental
mode, across checkouts), and writes it back when it ends or is interrupted. A full run tries
every survivor again (a test may have been written against it since). `--fresh` ignores the
ledger: every mutant is run.

Runs with the C accelerators off (VNOTARY_PURE_PYTHON=1: the Python path is what is mutated
and tested), then prints the score: killed / (killed + survived), mutants that timed out
counted as killed, those no test executes ("no tests") counted as survivors, those listed
as equivalent in docs/testing.md left out. Exits 1 below --threshold (a ratio), and lists
the survivors so each can be killed or listed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]
KILLED = {"killed", "timeout", "segfault"}
# A mutant no test executes ("no tests") survives as surely as one the tests run and miss.
LIVE = {"survived", "no tests", "suspicious"}
COUNTED = KILLED | LIVE
# docs/testing.md, table "Equivalent mutants": `notary_core.x.y__mutmut_N` | one-line reason
LEDGER = ROOT / "mutation-ledger.json"
SURVIVED_CODES = {0, 33}  # mutmut's exit codes for "survived" and "no tests"
EQUIVALENT = re.compile(r"^\|\s*`([\w.]+__mutmut_\d+)`\s*\|", re.MULTILINE)


def _env() -> dict[str, str]:
    return {**os.environ, "VNOTARY_PURE_PYTHON": "1"}


def results() -> dict[str, str]:
    """Every mutant mutmut knows, by name, with its status (`not checked` before a run)."""
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def restore_ledger() -> int:
    """Seed mutants/ with the ledger's verdicts where mutmut has none of its own; mutmut
    then keeps each one whose function's hash is unchanged. Returns the verdicts seeded."""
    if not LEDGER.is_file():
        return 0
    seeded = 0
    for path, entry in json.loads(LEDGER.read_text(encoding="utf-8")).items():
        meta = ROOT / "mutants" / f"{path}.meta"
        if meta.exists():
            continue
        meta.parent.mkdir(parents=True, exist_ok=True)
        verdicts = entry["verdicts"]
        meta.write_text(json.dumps({
            "exit_code_by_key": verdicts, "hash_by_function_name": entry["hashes"],
            "type_check_error_by_key": {}, "durations_by_key": {},
            "estimated_durations_by_key": {},
        }), encoding="utf-8")  # fmt: skip
        seeded += len(verdicts)
    return seeded


def retry_survivors() -> int:
    """Forget every survivor's verdict, so that a full run tries it again: a test may have
    been written against it since (mutmut itself re-runs a mutant only when its function
    changes). A kill stands until then. Returns the survivors forgotten."""
    forgotten = 0
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data["exit_code_by_key"]
        live = [k for k, v in codes.items() if v in SURVIVED_CODES]
        if live:
            codes.update(dict.fromkeys(live))
            meta.write_text(json.dumps(data), encoding="utf-8")
            forgotten += len(live)
    return forgotten


def save_ledger() -> int:
    """Write every verdict mutants/ holds (with its function hashes) to the ledger, one
    mutant per line, so that its diff shows what a run changed. Returns the verdicts."""
    out: dict[str, dict[str, dict[str, object]]] = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        verdicts = {k: v for k, v in sorted(data["exit_code_by_key"].items()) if v is not None}
        if verdicts:
            path = str(meta.relative_to(ROOT / "mutants"))[: -len(".meta")]
            out[path] = {"hashes": dict(sorted(data["hash_by_function_name"].items())),
                         "verdicts": verdicts}  # fmt: skip
    if out:
        LEDGER.write_text(json.dumps(out, indent=0, sort_keys=True, ensure_ascii=False) + "\n",
                          encoding="utf-8")  # fmt: skip
    return sum(len(e["verdicts"]) for e in out.values())


def equivalent() -> set[str]:
    return set(EQUIVALENT.findall((ROOT / "docs" / "testing.md").read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sample", type=int, help="run only this many mutants, drawn with --seed")
    p.add_argument("--seed", type=int, default=19, help="the sample's seed (default 19)")
    p.add_argument("--threshold", type=float, default=0.9, help="minimum score (default 0.9)")
    p.add_argument("--only", help="a mutant name glob, e.g. 'notary_core.grant*'")
    p.add_argument("--fresh", action="store_true", help="ignore mutation-ledger.json")
    p.add_argument(
        "--ledger",
        action="store_true",
        help="run nothing: record what mutants/ holds in the ledger, and score it",
    )
    args = p.parse_args(argv)
    if args.ledger:
        print(f"mutation ledger: {save_ledger()} verdicts", flush=True)
        return score(args, results(), [])
    if not args.fresh and not (ROOT / "mutants").exists():
        print(f"mutation ledger: {restore_ledger()} verdicts seeded", flush=True)
    names: list[str] = []
    if args.sample is not None:
        # A pattern that names no mutant: mutmut generates them all, then stops (mutmut 3.8
        # asserts that the filter matched, after generating), and runs none.
        subprocess.run([*MUTMUT, "run", "vnotary-none-*"], cwd=ROOT, env=_env(), check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        every = sorted(n for n in results() if args.only is None or re.fullmatch(
            args.only.replace(".", r"\.").replace("*", ".*"), n))  # fmt: skip
        if not every:
            raise SystemExit("mutation sample: mutmut generated no mutants (run mutmut run)")
        rng = random.Random(args.seed)  # noqa: S311 - a reproducible sample, not a secret
        names = rng.sample(every, min(args.sample, len(every)))
        print(f"mutation sample: {len(names)} of {len(every)} mutants, seed {args.seed}",
              flush=True)  # fmt: skip
    elif args.only:
        names = [args.only]
    else:
        print(f"mutation run: {retry_survivors()} survivors to try again", flush=True)
    try:
        subprocess.run([*MUTMUT, "run", *names], cwd=ROOT, env=_env(), check=True)
    finally:  # an interrupted run keeps what it found
        if args.sample is None:
            print(f"mutation ledger: {save_ledger()} verdicts", flush=True)
    return score(args, results(), names)


def score(args: argparse.Namespace, got: dict[str, str], names: list[str]) -> int:
    chosen = {n: s for n, s in got.items() if not args.sample or n in set(names)}
    if args.only and not args.sample:
        rx = re.compile(args.only.replace(".", r"\.").replace("*", ".*"))
        chosen = {n: s for n, s in chosen.items() if rx.fullmatch(n)}
    skip = equivalent()
    counted = {n: s for n, s in chosen.items() if s in COUNTED and n not in skip}
    killed = sum(s in KILLED for s in counted.values())
    survivors = sorted(n for n, s in counted.items() if s in LIVE)
    other = sorted({s for s in chosen.values() if s not in COUNTED})
    ratio = killed / len(counted) if counted else 0.0
    for n in survivors:
        print(f"  {counted[n]}: {n}  (mutmut show {n})")
    rest = f": {', '.join(other)}" if other else ""
    print(f"mutation score: {killed}/{len(counted)} = {ratio:.1%} "
          f"(threshold {args.threshold:.0%}); "
          f"{len(chosen) - len(counted)} equivalent or not run{rest}")  # fmt: skip
    return 0 if ratio >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(main())
