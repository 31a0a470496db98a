"""Compile the anchor contracts reproducibly: contracts/<Name>.vy into contracts/<Name>.json.

    python contracts/compile.py           write the artifacts
    python contracts/compile.py --check   fail if recompiling differs from the committed ones

Anchor (version 1, event-only: verifiable, no longer deployed), AnchorV2 (version 2, keeps
its head: what `vnotary collector contract deploy` and the demo deploy) and AnchorV2Proof
(version 2 plus an on-chain consistency check: measured by bench/bench_anchor.py, not
deployed). The compiler (vyper, pinned exactly in pyproject's dev extra) and the EVM
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
CONTRACTS = ("Anchor", "AnchorV2", "AnchorV2Proof")
VYPER_VERSION = "0.4.3"
EVM_VERSION = "shanghai"


def build(name: str) -> str:
    if not vyper.__version__.startswith(VYPER_VERSION):
        sys.exit(f"vyper {VYPER_VERSION} is required, found {vyper.__version__}")
    source = (HERE / f"{name}.vy").read_text(encoding="utf-8")
    settings = Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS)
    out = vyper.compile_code(
        source, output_formats=["abi", "bytecode", "bytecode_runtime"], settings=settings
    )
    artifact = {
        "contractName": name,
        "compiler": f"vyper {VYPER_VERSION}",
        "evmVersion": EVM_VERSION,
        "optimize": "gas",
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
    }
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    stale = 0
    for name in CONTRACTS:
        text = build(name)
        artifact = HERE / f"{name}.json"
        if args.check:
            committed = artifact.read_text(encoding="utf-8") if artifact.exists() else ""
            if committed != text:
                print(f"{artifact.name} is stale: run python contracts/compile.py", file=sys.stderr)
                stale += 1
            else:
                print(f"{artifact.name} matches its source")
        else:
            artifact.write_text(text, encoding="utf-8")
            print(f"wrote {artifact}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
