#!/usr/bin/env python3
"""Mutation testing of the consensus-critical core (docs/testing.md), with mutmut 3.

    python scripts/mutation.py              every mutant of [tool.mutmut] (make mutation)
    python scripts/mutation.py --sample 150 --seed 19
                                            a seeded sample (make mutation-sample)

Runs with the C accelerators off (VNOTARY_PURE_PYTHON=1: the Python path is what is mutated
and tested), then prints the score: killed / (killed + survived), mutants that timed out
counted as killed, those no test executes ("no tests") counted as survivors, those listed
as equivalent in docs/testing.md left out. Exits 1 below --threshold (a ratio), and lists
the survivors so each can be killed or listed.
"""

from __future__ import annotations

import argparse
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


def equivalent() -> set[str]:
    return set(EQUIVALENT.findall((ROOT / "docs" / "testing.md").read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sample", type=int, help="run only this many mutants, drawn with --seed")
    p.add_argument("--seed", type=int, default=19, help="the sample's seed (default 19)")
    p.add_argument("--threshold", type=float, default=0.9, help="minimum score (default 0.9)")
    p.add_argument("--only", help="a mutant name glob, e.g. 'notary_core.grant*'")
    args = p.parse_args(argv)
    names: list[str] = []
    if args.sample is not None:
        # A pattern that names no mutant: mutmut generates them all and runs none.
        subprocess.run([*MUTMUT, "run", "vnotary-none-*"], cwd=ROOT, env=_env(), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        every = sorted(n for n in results() if args.only is None or re.fullmatch(
            args.only.replace(".", r"\.").replace("*", ".*"), n))  # fmt: skip
        rng = random.Random(args.seed)  # noqa: S311 - a reproducible sample, not a secret
        names = rng.sample(every, min(args.sample, len(every)))
        print(f"mutation sample: {len(names)} of {len(every)} mutants, seed {args.seed}",
              flush=True)  # fmt: skip
    elif args.only:
        names = [args.only]
    subprocess.run([*MUTMUT, "run", *names], cwd=ROOT, env=_env(), check=True)
    got = results()
    chosen = {n: s for n, s in got.items() if not args.sample or n in set(names)}
    if args.only and not args.sample:
        rx = re.compile(args.only.replace(".", r"\.").replace("*", ".*"))
        chosen = {n: s for n, s in chosen.items() if rx.fullmatch(n)}
    skip = equivalent()
    counted = {n: s for n, s in chosen.items() if s in COUNTED and n not in skip}
    killed = sum(s in KILLED for s in counted.values())
    survivors = sorted(n for n, s in counted.items() if s in LIVE)
    other = sorted({s for s in chosen.values() if s not in COUNTED})
    score = killed / len(counted) if counted else 0.0
    for n in survivors:
        print(f"  {counted[n]}: {n}  (mutmut show {n})")
    rest = f": {', '.join(other)}" if other else ""
    print(f"mutation score: {killed}/{len(counted)} = {score:.1%} "
          f"(threshold {args.threshold:.0%}); "
          f"{len(chosen) - len(counted)} equivalent or not run{rest}")  # fmt: skip
    return 0 if score >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(main())
