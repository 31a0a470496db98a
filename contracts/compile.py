"""Compile contracts/Anchor.vy reproducibly into contracts/Anchor.json.

    python contracts/compile.py           write the artifact
    python contracts/compile.py --check   fail if recompiling differs from the committed one

The compiler (vyper, pinned exactly in pyproject's dev extra) and the EVM version are part
of the artifact: shanghai deploys on every common chain (no MCOPY/TSTORE from cancun).
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
SOURCE = HERE / "Anchor.vy"
ARTIFACT = HERE / "Anchor.json"
VYPER_VERSION = "0.4.3"
EVM_VERSION = "shanghai"


def build() -> str:
    if not vyper.__version__.startswith(VYPER_VERSION):
        sys.exit(f"vyper {VYPER_VERSION} is required, found {vyper.__version__}")
    source = SOURCE.read_text(encoding="utf-8")
    settings = Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS)
    out = vyper.compile_code(
        source, output_formats=["abi", "bytecode", "bytecode_runtime"], settings=settings
    )
    artifact = {
        "contractName": "Anchor",
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
    text = build()
    if args.check:
        committed = ARTIFACT.read_text(encoding="utf-8") if ARTIFACT.exists() else ""
        if committed != text:
            print(f"{ARTIFACT.name} is stale: run python contracts/compile.py", file=sys.stderr)
            return 1
        print(f"{ARTIFACT.name} matches its source")
        return 0
    ARTIFACT.write_text(text, encoding="utf-8")
    print(f"wrote {ARTIFACT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
