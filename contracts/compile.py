"""Compile every contracts/*.vy reproducibly into collector/log/contracts/<Name>.json.

    python contracts/compile.py           write the artifacts
    python contracts/compile.py --check   fail if recompiling differs from the committed ones

Anchor (version 1, event-only: verifiable, no longer deployed), AnchorV2 (version 2, keeps
its head: what `vnotary collector contract deploy` and the demo deploy) and AnchorV2Proof
(version 2 plus an on-chain consistency check: measured by bench/bench_anchor.py, not
deployed). The artifacts are package data of `collector.log.contracts` (read with
importlib.resources, so an installed collector can deploy and call them). The compiler
(vyper, pinned exactly in pyproject's dev extra) and the EVM
version are part of each artifact: shanghai deploys on every common chain (no MCOPY/TSTORE
from cancun).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import vyper
from vyper.compiler.settings import OptimizationLevel, Settings

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "collector" / "log" / "contracts"
VYPER_VERSION = "0.4.3"
EVM_VERSION = "shanghai"


def build(source_path: Path) -> str:
    """The artifact text of one contract source."""
    if not vyper.__version__.startswith(VYPER_VERSION):
        sys.exit(f"vyper {VYPER_VERSION} is required, found {vyper.__version__}")
    source = source_path.read_text(encoding="utf-8")
    settings = Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS)
    out = vyper.compile_code(
        source, output_formats=["abi", "bytecode", "bytecode_runtime"], settings=settings
    )
    artifact = {
        "contractName": source_path.stem,
        "compiler": f"vyper {VYPER_VERSION}",
        "evmVersion": EVM_VERSION,
        "optimize": "gas",
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
    }
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    sources = sorted(HERE.glob("*.vy"))
    wanted = {OUT / f"{src.stem}.json": build(src) for src in sources}
    if args.check:
        stale = [p.name for p, text in wanted.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]  # fmt: skip
        orphans = [p.name for p in OUT.glob("*.json") if p not in wanted]
        for name in stale:
            print(f"{name} is stale: run python contracts/compile.py", file=sys.stderr)
        for name in orphans:
            print(f"{name} has no source in contracts/", file=sys.stderr)
        if stale or orphans:
            return 1
        print(f"{', '.join(p.name for p in wanted)} match their sources")
        return 0
    for path, text in wanted.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
