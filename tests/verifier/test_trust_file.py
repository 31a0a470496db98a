"""The trust file (docs/protocol.md §13) and the verify CLI's exit codes (§12.2).

verifier/trust.py validates by hand; these tests hold it equal to docs/trust.schema.json
(checked with the `jsonschema` package) on a corpus of good and bad files, check that each
refusal names the JSON path of the bad field, and run the CLI: 0 OK, 1 FAIL, 3
INCONCLUSIVE, 4 UNREADABLE (a refused trust file, or a file that is no bundle), 5 ERROR.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from notary_core import witness
from notary_core.evidence import Verdict
from tests.core import bundle_v2_factory as f
from tests.core.bundle_factory import SEC, T0, _key
from verifier import cli
from verifier.trust import TrustFileError, parse_trust

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/trust.schema.json").read_text())
W = f.World2()
VKEY = W.log_key.verifier.vkey
SPKI = base64.b64encode(W.collector.public.spki()).decode()
WITNESS = witness.WitnessSigner("witness.example/w1", _key(11)).verifier.vkey
ADDR = "0x" + "ab" * 20


def good() -> dict[str, Any]:
    return {"version": 1, "log_vkeys": [VKEY], "collector_keys": [SPKI]}


CORPUS: list[Any] = [
    good(),
    {"version": 1, "log_vkeys": [VKEY]},
    {"version": 1, "collector_keys": [SPKI]},
    {"version": 1.0, "collector_keys": [SPKI]},
    good() | {"anchor_contracts": [{"chain_id": 31337, "address": ADDR}]},
    good() | {"anchor_contracts": [{"chain_id": 1, "address": ADDR.upper().replace("0X", "0x")}]},
    good() | {"witnesses": [WITNESS], "witness_quorum": 1},
    good() | {"witnesses": [WITNESS]},
    good() | {"witnesses": [], "tsa_certs": []},
    # refused by the schema
    {},
    [],
    "trust",
    None,
    {"version": 1},
    {"version": 2, "log_vkeys": [VKEY]},
    {"version": True, "log_vkeys": [VKEY]},
    {"version": "1", "log_vkeys": [VKEY]},
    {"log_vkeys": [VKEY]},
    {"version": 1, "log_vkeys": []},
    {"version": 1, "log_vkeys": [], "collector_keys": []},
    good() | {"collector_key": [SPKI]},
    good() | {"Version": 1},
    good() | {"log_vkeys": VKEY},
    good() | {"log_vkeys": [VKEY, VKEY]},
    good() | {"log_vkeys": [7]},
    good() | {"log_vkeys": ["collector.example"]},
    good() | {"collector_keys": ["not base64!"]},
    good() | {"anchor_contracts": {"chain_id": 1, "address": ADDR}},
    good() | {"anchor_contracts": [{"chain_id": "1", "address": ADDR}]},
    good() | {"anchor_contracts": [{"chain_id": 0, "address": ADDR}]},
    good() | {"anchor_contracts": [{"chain_id": 1, "address": ADDR[2:]}]},
    good() | {"anchor_contracts": [{"chain_id": 1}]},
    good() | {"anchor_contracts": [{"chain_id": 1, "address": ADDR, "name": "x"}]},
    good() | {"anchor_contracts": [{"chain_id": 1, "address": ADDR}] * 2},
    good() | {"witness_quorum": 1},
    good() | {"witnesses": [WITNESS], "witness_quorum": 0},
    good() | {"witnesses": [WITNESS], "witness_quorum": True},
    good() | {"witnesses": [WITNESS], "witness_quorum": 1.5},
    good() | {"tsa_certs": ["MIIB..."]},
    good() | {"tsa_certs": "-----BEGIN CERTIFICATE-----"},
]


def test_the_schema_is_a_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(SCHEMA["properties"]) == {"version", "log_vkeys", "collector_keys",
                                         "anchor_contracts", "witnesses", "witness_quorum",
                                         "tsa_certs"}  # fmt: skip


@pytest.mark.parametrize("doc", CORPUS, ids=lambda d: json.dumps(d)[:60])
def test_the_validator_is_the_schema(doc: Any) -> None:
    schema_ok = jsonschema.Draft202012Validator(SCHEMA).is_valid(doc)
    try:
        parse_trust(doc)
        ours = True
    except TrustFileError:
        ours = False
    assert ours == schema_ok


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        (good() | {"log_vkeys": ["x+0000000a+AAAA"]}, "$.log_vkeys[0]"),
        (good() | {"collector_keys": [SPKI, base64.b64encode(b"not a key").decode()]},
         "$.collector_keys[1]"),
        (good() | {"witnesses": [WITNESS], "witness_quorum": 2}, "$.witness_quorum"),
        # ECMA-262 `$` (JSON Schema's regex dialect) is the end of input; Python's `re`, which
        # the jsonschema package uses, also lets it match before a final newline
        (good() | {"collector_keys": [SPKI + "\n"]}, "$.collector_keys[0]"),
        (good() | {"tsa_certs": ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"]},
         "$.tsa_certs[0]"),
    ],
)  # fmt: skip
def test_beyond_the_schema_every_key_must_parse(doc: dict[str, Any], path: str) -> None:
    assert jsonschema.Draft202012Validator(SCHEMA).is_valid(doc)  # the schema cannot tell
    with pytest.raises(TrustFileError) as err:
        parse_trust(doc)
    assert err.value.path == path


@pytest.mark.parametrize(
    ("doc", "path", "words"),
    [
        ({}, "$.version", "required"),
        ({"version": 1}, "$", "pins nothing"),
        (good() | {"collector_key": [SPKI]}, "$.collector_key", "did you mean 'collector_keys'"),
        (good() | {"log_vkeys": VKEY}, "$.log_vkeys", "array"),
        (good() | {"anchor_contracts": [{"chain_id": "1", "address": ADDR}]},
         "$.anchor_contracts[0].chain_id", "integer"),
        (good() | {"anchor_contracts": [{"chain_id": 1, "adress": ADDR}]},
         "$.anchor_contracts[0].adress", "unknown"),
    ],
)  # fmt: skip
def test_a_refusal_names_the_bad_field(doc: Any, path: str, words: str) -> None:
    with pytest.raises(TrustFileError) as err:
        parse_trust(doc)
    assert err.value.path == path and words in str(err.value)


def test_the_trust_carries_witnesses_quorum_and_tsa_certs() -> None:
    t = parse_trust(good() | {"witnesses": [WITNESS], "witness_quorum": 1,
                              "anchor_contracts": [{"chain_id": 5, "address": ADDR}]})  # fmt: skip
    assert t.witnesses == {WITNESS} and t.witness_quorum == 1 and t.tsa_certs == ()
    assert t.anchor_contracts == {(5, bytes.fromhex("ab" * 20))}
    assert t.collector_keys == {W.collector.public.spki()} and t.log_vkeys == {VKEY}
    assert parse_trust(good()).witness_quorum is None  # default: every pinned witness


# ---- the CLI -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bundles")
    w = f.make_world2()
    data = f.build2(w)
    out = {}
    raw = bytearray(data)
    raw[-40] ^= 0x01  # inside the collector's signature
    open_w = f.make_world2(n_batches=4)
    for name, content in {
        "good.vnb": data,
        "bad.vnb": bytes(raw),
        "open.vnb": f.build2(open_w, window=(T0 + 2 * SEC, T0 + 9 * SEC)),
        "random.vnb": bytes(range(256)) * 4,
        "empty.vnb": b"",
    }.items():
        (d / name).write_bytes(content)
        out[name] = d / name
    pinned = good() | {"witnesses": sorted(x.verifier.vkey for x in W.witnesses),
                       "witness_quorum": 2}  # fmt: skip
    (d / "trust.json").write_text(json.dumps(pinned))
    out["trust"] = d / "trust.json"
    return out


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.mark.parametrize(
    ("name", "code", "verdict"),
    [("good.vnb", 0, "OK"), ("bad.vnb", 1, "FAIL"), ("open.vnb", 3, "INCONCLUSIVE"),
     ("random.vnb", 4, "UNREADABLE"), ("empty.vnb", 4, "UNREADABLE")],
)  # fmt: skip
def test_exit_codes_follow_the_verdict(
    bundles: dict[str, Path], capsys: pytest.CaptureFixture[str], name: str, code: int,
    verdict: str,
) -> None:  # fmt: skip
    got, out, _ = _run(capsys, str(bundles[name]), "--trust", str(bundles["trust"]), "--json")
    assert got == code and json.loads(out)["verdict"] == verdict


@pytest.mark.parametrize(
    ("content", "words"),
    [("{}", "$.version"), ("", "$: not JSON"), ('{"version": 1, "log_vkey": []}', "log_vkey"),
     ('{"version": 1, "log_vkeys": "key"}', "$.log_vkeys"), ("\xff", "$")],
)  # fmt: skip
def test_a_refused_trust_file_exits_4_and_verifies_nothing(
    bundles: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
    words: str,
) -> None:  # fmt: skip
    trust = tmp_path / "trust.json"
    trust.write_bytes(content.encode("latin-1"))
    code, out, err = _run(capsys, str(bundles["good.vnb"]), "--trust", str(trust))
    assert code == 4 and out == "" and words in err and "refused" in err


def test_an_internal_error_exits_5_and_never_reads_as_fail(
    bundles: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug in the verifier\nwith a second line")

    monkeypatch.setattr(cli, "verify_bundle", broken)
    code, out, err = _run(capsys, str(bundles["good.vnb"]), "--json")
    assert code == 70 == cli.EXIT[Verdict.ERROR]
    doc = json.loads(out)
    assert doc["verdict"] == "ERROR" and doc["reasons"] == ["INTERNAL_ERROR"]
    assert err.count("\n") == 1 and "internal error" in err and "RuntimeError" in err
    code, out, err = _run(capsys, str(bundles["good.vnb"]))
    assert code == 70 and out == "" and err.count("\n") == 1


def test_every_verdict_has_its_own_exit_code() -> None:
    assert set(cli.EXIT) == set(Verdict)
    assert sorted(cli.EXIT.values()) == [0, 1, 3, 4, 70]
