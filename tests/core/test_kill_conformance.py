"""The conformance tool in process (test_conformance_cli.py runs it as a command, which the
mutation run cannot see): every case of a vector file is run and counted, each wrong one is
reported on one line with what was expected and why it was refused, and the exit code says
whether every case matched."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from notary_core import conformance

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
LEAF_OF_EMPTY = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
KINDS = ("tree_roots", "hasher_vectors", "complete_subtree_hashes", "inclusion_proofs",
         "consistency_proofs")  # fmt: skip


@pytest.fixture(scope="module")
def rfc(shared_data: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (shared_data / "merkle-vectors" / "transparency-dev-rfc6962.json").read_text()
    )
    return doc


def _run(doc: dict[str, Any], tmp_path: Path) -> tuple[tuple[int, int], list[str]]:
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    lines: list[str] = []
    return conformance.run_merkle(path, lines.append), lines


def test_every_case_of_the_file_is_run_and_passes(rfc: dict[str, Any], tmp_path: Path) -> None:
    result, lines = _run(rfc, tmp_path)
    assert result == (sum(len(rfc[k]) for k in KINDS), 0) and lines == []
    assert result[0] == 9 + 4 + 15 + 103 + 103


def test_without_leaves_the_roots_and_subtrees_are_not_cases(
    rfc: dict[str, Any], tmp_path: Path
) -> None:
    doc = {k: v for k, v in rfc.items() if k != "leaves"}
    assert _run(doc, tmp_path) == ((4 + 103 + 103, 0), [])


def _one_wrong(rfc: dict[str, Any], kind: str, i: int, /, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(rfc)
    doc[kind][i].update(changes)
    return doc


@pytest.mark.parametrize(
    ("kind", "i", "changes", "line"),
    [
        ("tree_roots", 3, {"root": EMPTY},
         "FAIL tree_root/3: expected accept, got ROOT_MISMATCH: root of size 3"),
        ("complete_subtree_hashes", 0, {"hash": EMPTY},
         "FAIL subtree/0/0: expected accept, got ROOT_MISMATCH: complete subtree hash"),
        ("complete_subtree_hashes", 0, {"index": 8},  # past the 8 leaves: no hashes at all
         "FAIL subtree/0/8: expected accept, got ROOT_MISMATCH: complete subtree hash"),
        ("hasher_vectors", 0, {"expected": LEAF_OF_EMPTY},
         "FAIL hasher/0/empty_root: expected accept, got ROOT_MISMATCH: empty_root hash differs"),
        ("hasher_vectors", 1, {"expected": EMPTY},
         "FAIL hasher/1/leaf: expected accept, got ROOT_MISMATCH: leaf hash differs"),
        ("hasher_vectors", 3, {"expected": EMPTY},
         "FAIL hasher/3/node: expected accept, got ROOT_MISMATCH: node hash differs"),
        ("hasher_vectors", 0, {"kind": "twig"},
         "FAIL hasher/0/twig: expected accept, "
         "got UNKNOWN_KIND: unknown hasher vector kind 'twig'"),
        ("inclusion_proofs", 0, {"valid": False},
         "FAIL classic-inclusion-0-1: expected reject, got accept"),
        ("consistency_proofs", 0, {"valid": False},
         "FAIL classic-consistency-1-1: expected reject, got accept"),
    ],
)  # fmt: skip
def test_a_wrong_case_is_one_line_naming_it(
    rfc: dict[str, Any], tmp_path: Path, kind: str, i: int, changes: dict[str, Any], line: str
) -> None:
    assert rfc["hasher_vectors"][3]["kind"] == "node"
    (passed, failed), lines = _run(_one_wrong(rfc, kind, i, **changes), tmp_path)
    assert (failed, lines) == (1, [line])
    assert passed == sum(len(rfc[k]) for k in KINDS) - 1


def test_a_refused_proof_expected_valid_says_why(rfc: dict[str, Any], tmp_path: Path) -> None:
    doc = _one_wrong(rfc, "consistency_proofs", 0, root2=EMPTY)
    (_, failed), lines = _run(doc, tmp_path)
    assert failed == 1 and lines[0].startswith(
        "FAIL classic-consistency-1-1: expected accept, got ROOT_MISMATCH: "
    )


def test_a_case_that_cannot_be_read_fails_as_unreadable(
    rfc: dict[str, Any], tmp_path: Path
) -> None:
    doc = copy.deepcopy(rfc)
    del doc["inclusion_proofs"][0]["leaf_hash"]
    doc["consistency_proofs"][0]["root1"] = "not hex"
    doc["hasher_vectors"][3]["left"] = None
    (_, failed), lines = _run(doc, tmp_path)
    assert failed == 3
    assert lines[0] == "FAIL hasher/3/node: expected accept, got unreadable case: " + repr(
        TypeError("fromhex() argument must be str, not None")
    )
    assert lines[1] == (
        "FAIL classic-inclusion-0-1: expected accept, got unreadable case: KeyError('leaf_hash')"
    )
    assert lines[2].startswith(
        "FAIL classic-consistency-1-1: expected accept, got unreadable case: ValueError("
    )


def test_a_file_of_another_format_stops_the_run(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "rfc6962-merkle-vectors/2"}))
    with pytest.raises(SystemExit) as err:
        conformance.run_merkle(path)
    assert str(err.value) == f"{path}: unknown vector format 'rfc6962-merkle-vectors/2'"


def test_main_sums_the_files_and_exits_0_only_if_every_case_matched(
    rfc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad, empty = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "empty.json"
    good.write_text(json.dumps(rfc))
    bad.write_text(json.dumps(_one_wrong(rfc, "inclusion_proofs", 0, valid=False)))
    empty.write_text(json.dumps({"format": "rfc6962-merkle-vectors/1"}))
    total = sum(len(rfc[k]) for k in KINDS)

    assert conformance.main(["merkle", str(good)]) == 0
    assert capsys.readouterr().out == f"{total} passed, 0 failed\n"
    assert conformance.main(["merkle", str(good), str(good)]) == 0
    assert capsys.readouterr().out == f"{2 * total} passed, 0 failed\n"
    assert conformance.main(["merkle", str(good), str(bad)]) == 1
    assert capsys.readouterr().out == (
        "FAIL classic-inclusion-0-1: expected reject, got accept\n"
        f"{2 * total - 1} passed, 1 failed\n"
    )
    assert conformance.main(["merkle", str(empty)]) == 1  # nothing checked is not a pass
    assert capsys.readouterr().out == "0 passed, 0 failed\n"


def test_main_needs_a_suite_and_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["merkle"], ["sparse", "x.json"]):
        with pytest.raises(SystemExit) as err:
            conformance.main(argv)
        assert err.value.code == 2
    err_text = capsys.readouterr().err
    assert err_text.startswith("usage: python -m notary_core.conformance")
    assert "the following arguments are required: files" in err_text
    assert "invalid choice: 'sparse'" in err_text


def test_one_matching_case_is_a_pass_and_the_usage_names_the_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"format": "rfc6962-merkle-vectors/1",
                               "hasher_vectors": [{"kind": "leaf", "leaf_data": "",
                                                   "expected": LEAF_OF_EMPTY}]}))  # fmt: skip
    assert conformance.main(["merkle", str(one)]) == 0
    assert capsys.readouterr().out == "1 passed, 0 failed\n"
    with pytest.raises(SystemExit) as err:
        conformance.main(["--help"])
    assert err.value.code == 0
    usage = capsys.readouterr().out
    assert "SUITE" in usage and "RFC 6962/9162 Merkle vectors (rfc6962-merkle-vectors/1)" in usage
    with pytest.raises(SystemExit) as err:
        conformance.main([])
    assert err.value.code == 2
    assert "the following arguments are required: SUITE" in capsys.readouterr().err


def test_the_help_names_each_suite_and_its_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per suite, whatever the terminal
    with pytest.raises(SystemExit) as e:
        conformance.main(["--help"])
    assert e.value.code == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "merkle RFC 6962/9162 Merkle vectors (rfc6962-merkle-vectors/1)" in lines
