"""Run an independent vector set against this implementation.

    python -m notary_core.conformance merkle FILE.json

FILE.json is in the `rfc6962-merkle-vectors/1` layout (shared/data/merkle-vectors/README.md).
Prints one line per failed case and, last, `N passed, M failed`. Exits 0 only if every case
matched its expected result. This module is a command-line tool beside the pure core: it is
the only place in notary_core that reads a file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from notary_core import merkle
from notary_core.errors import BadData, Reason

Case = tuple[str, bool, Callable[[], None]]


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _cases(doc: dict[str, Any]) -> Iterator[Case]:
    leaves = doc.get("leaves")
    for entry in doc.get("tree_roots", []):
        if leaves is None:
            break
        size, root = entry["tree_size"], _hex(entry["root"])

        def check_root(size: int = size, root: bytes = root) -> None:
            hashes = [merkle.hash_leaf(_hex(x)) for x in leaves[:size]]
            if merkle.root_from_leaf_hashes(hashes) != root:
                raise BadData(Reason.ROOT_MISMATCH, f"root of size {size}")

        yield f"tree_root/{size}", True, check_root
    for i, hv in enumerate(doc.get("hasher_vectors", [])):
        yield f"hasher/{i}/{hv['kind']}", True, _bind(_check_hasher, hv)
    for entry in doc.get("complete_subtree_hashes", []):
        if leaves is None:
            break

        def check_subtree(e: dict[str, Any] = entry) -> None:
            lo, n = e["index"] << e["level"], 1 << e["level"]
            hashes = [merkle.hash_leaf(_hex(x)) for x in leaves[lo : lo + n]]
            if len(hashes) != n or merkle.root_from_leaf_hashes(hashes) != _hex(e["hash"]):
                raise BadData(Reason.ROOT_MISMATCH, "complete subtree hash")

        yield f"subtree/{entry['level']}/{entry['index']}", True, check_subtree
    for p in doc.get("inclusion_proofs", []):
        yield p["id"], p["valid"], _bind(_check_inclusion, p)
    for p in doc.get("consistency_proofs", []):
        yield p["id"], p["valid"], _bind(_check_consistency, p)


def _bind(check: Callable[[dict[str, Any]], None], entry: dict[str, Any]) -> Callable[[], None]:
    return lambda: check(entry)


def _check_inclusion(p: dict[str, Any]) -> None:
    merkle.verify_inclusion(
        _hex(p["leaf_hash"]),
        p["leaf_index"],
        p["tree_size"],
        [_hex(x) for x in p["audit_path"]],
        _hex(p["root"]),
    )


def _check_consistency(p: dict[str, Any]) -> None:
    proof = [_hex(x) for x in p["proof"]]
    merkle.verify_consistency(p["size1"], p["size2"], _hex(p["root1"]), _hex(p["root2"]), proof)


def _check_hasher(hv: dict[str, Any]) -> None:
    kind = hv["kind"]
    if kind == "empty_root":
        got = merkle.EMPTY_ROOT
    elif kind == "leaf":
        got = merkle.hash_leaf(_hex(hv["leaf_data"]))
    elif kind == "node":
        got = merkle.hash_children(_hex(hv["left"]), _hex(hv["right"]))
    else:
        raise BadData(Reason.UNKNOWN_KIND, f"unknown hasher vector kind {kind!r}")
    if got != _hex(hv["expected"]):
        raise BadData(Reason.ROOT_MISMATCH, f"{kind} hash differs")


def run_merkle(path: Path, out: Callable[[str], None] = print) -> tuple[int, int]:
    """Run every case of one vector file; return (passed, failed)."""
    doc = json.loads(path.read_text())
    if doc.get("format") != "rfc6962-merkle-vectors/1":
        raise SystemExit(f"{path}: unknown vector format {doc.get('format')!r}")
    passed = failed = 0
    for name, valid, check in _cases(doc):
        why = None  # why the case was refused; None if it was accepted
        try:
            check()
        except BadData as exc:
            why = str(exc)
        except (ValueError, KeyError, TypeError) as exc:  # a vector we cannot even read
            why = f"unreadable case: {exc!r}"
        if (why is None) == valid:
            passed += 1
        else:
            failed += 1
            expected = "accept" if valid else "reject"
            out(f"FAIL {name}: expected {expected}, got {why or 'accept'}")
    return passed, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notary_core.conformance")
    sub = parser.add_subparsers(metavar="SUITE", required=True)
    m = sub.add_parser("merkle", help="RFC 6962/9162 Merkle vectors (rfc6962-merkle-vectors/1)")
    m.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    passed = failed = 0
    for path in args.files:
        p, f = run_merkle(path)
        passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
