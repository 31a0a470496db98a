"""The portal's decoders and proof checks, run in Chromium against the protocol's vectors:
every access-event and index leaf of log-leaves-v2.json parses to its `parsed` fields,
every invalid leaf is refused with its reason code, and every inclusion and absence proof
of index.json verifies or fails as the vector says. The page's strict CBOR decoder is also
held to deterministic form on hand-made non-canonical items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.portal.browser import ORIGIN, chromium, serve_static

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "core"

RUN = (Path(__file__).parent / "vectors_run.js").read_text()


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    leaves = json.loads((VECTORS / "log-leaves-v2.json").read_text())
    index = json.loads((VECTORS / "index.json").read_text())
    with chromium() as browser:
        page: Page = browser.new_page()
        serve_static(page)
        page.goto(ORIGIN + "/portal/")
        out: dict[str, Any] = page.evaluate(RUN, [leaves, index])
    return out


def test_every_valid_leaf_parses_as_the_core_does(results: dict[str, Any]) -> None:
    leaves = json.loads((VECTORS / "log-leaves-v2.json").read_text())
    got = {r["id"]: r for r in results["parsed"]}
    for v in leaves["log"]:
        r = got[v["id"]]
        assert r["hash"] == v["leaf_hash"], v["id"]
        want = v["parsed"]
        if want["type"] == "access":
            for k in (
                "action",
                "vehicle_id",
                "subject",
                "vehicle_link",
                "rule_link",
                "device_link",
            ):
                assert r[k] == want[k], (v["id"], k)
        elif want["type"] == "index":
            assert (r["covered"], r["root"]) == (want["covered"], want["root"])
        else:  # registry and batch leaves are not in an owner's history: refused by name
            assert r["type"] == "other" and r["reason"] == "UNKNOWN_KIND", v["id"]
    assert sum(1 for v in leaves["log"] if v["parsed"]["type"] == "access") >= 7
    head = got["head:vin-2T3RFREV7HW000001"]
    assert head["count"] == 6


def test_every_invalid_leaf_is_refused_with_the_cores_reason(results: dict[str, Any]) -> None:
    leaves = json.loads((VECTORS / "log-leaves-v2.json").read_text())
    got = {r["id"]: r["reason"] for r in results["invalid"]}
    for v in leaves["invalid_leaves"]:
        if v["leaf"][:2] in ("02", "04"):  # registry, batch: the portal reads no such leaf
            assert got[v["id"]] == "UNKNOWN_KIND", v["id"]
        else:
            assert got[v["id"]] == v["reason"], v["id"]


def test_index_proofs_verify_or_fail_as_the_vectors_say(results: dict[str, Any]) -> None:
    rows = results["inclusion"] + results["absence"]
    assert len(rows) >= 20
    for r in rows:
        assert r["got"] == r["want"], r


def test_the_cbor_decoder_takes_only_deterministic_cbor(results: dict[str, Any]) -> None:
    c = results["cbor"]
    assert c["ok-map"] == "OK"
    for name in ("uint-1-in-2-bytes", "uint-255-in-3-bytes", "indefinite-array",
                 "map-keys-out-of-order", "map-key-repeated"):  # fmt: skip
        assert c[name] == "NON_CANONICAL", name
    for name in (
        "float",
        "tag",
        "undefined",
        "truncated-bytes",
        "trailing-byte",
        "bad-utf8",
        "deep",
    ):
        assert c[name] == "MALFORMED", name
