"""`vnotary owner log`: an owner's access history, with the proof that it is complete.

Fetches every page of `GET /v1/vehicles/{id}/access-log` (signed with the owner's key,
RFC 9421), then checks it with notary_core.history.verify_history against the log key
pinned in a trust file (and its witness quorum, when it pins witnesses): the signed
checkpoint, the index leaf, the vehicle's head, and every entry walked back along its links.
Exit 0 verified (or listed, without --verify), 1 the list does not verify, 2 usage, 4 an
input or the collector could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from collector.api.signatures import sign_request
from notary_core.checkpoint import NoteVerifier, open_checkpoint
from notary_core.errors import BadData
from notary_core.history import Entry, History, verify_history

EXIT_OK, EXIT_FAIL, EXIT_UNREADABLE = 0, 1, 4
MAX_PAGES = 100_000


def _get(base: str, path: str, key: ed25519.Ed25519PrivateKey) -> Any:
    url = base.rstrip("/") + path
    headers = sign_request("GET", url, key, int(time.time()))
    req = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (the operator's URL)
        return json.loads(resp.read())


def fetch(base: str, vehicle: str, key: ed25519.Ed25519PrivateKey) -> list[dict[str, Any]]:
    """Every page of the vehicle's history, newest first."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        query = "limit=1000" + ("" if cursor is None else "&cursor=" + urllib.parse.quote(cursor))
        page = _get(base, f"/v1/vehicles/{urllib.parse.quote(vehicle)}/access-log?{query}", key)
        pages.append(page)
        cursor = page.get("next_cursor")
        if cursor is None:
            return pages
    raise ValueError("the collector keeps paging past any real history")


def check(
    pages: list[dict[str, Any]], vehicle: str, log_vkeys: list[str],
    witnesses: list[str] | None = None, quorum: int | None = None,
) -> History:  # fmt: skip
    """Verify the history against the pinned log keys (the checkpoint must be signed by one
    of them: old and new across a log key rotation, protocol §6.3) and, when witnesses are
    pinned, their quorum (§14)."""
    first = pages[0]
    if any(p["size"] != first["size"] for p in pages):
        raise ValueError("the pages name different checkpoints")
    note = first["checkpoint"].encode()
    x = first["index"]
    entries = [
        Entry(e["index"], bytes.fromhex(e["leaf"]), tuple(bytes.fromhex(h) for h in e["proof"]))
        for p in pages
        for e in p["entries"]
    ]
    origin = note.split(b"\n", 1)[0].decode()
    log_vkey = _signing_key(note, log_vkeys, origin)
    return verify_history(
        note, log_vkey, origin, vehicle, bytes.fromhex(x["leaf"]),
        [bytes.fromhex(h) for h in x["proof"]], bytes.fromhex(x["value"]),
        [bytes.fromhex(h) for h in x["siblings"]], entries, witnesses=witnesses or (),
        quorum=quorum,
    )  # fmt: skip


def _signing_key(note: bytes, log_vkeys: list[str], origin: str) -> str:
    """The first pinned log key that signed the checkpoint (the last one's error if none)."""
    error: BadData | None = None
    for vkey in log_vkeys:
        try:
            open_checkpoint(note, [NoteVerifier.from_vkey(vkey)], origin)
        except BadData as exc:
            error = exc
            continue
        return vkey
    assert error is not None
    raise error


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def render(pages: list[dict[str, Any]]) -> str:
    lines = []
    for p in pages:
        for e in p["entries"]:
            if not e["mine"]:
                lines.append(f"#{e['index']:<7} {_when(e['at_utc_ns'])}  {e['action']:<16} "
                             "(an entry of another ownership period)")  # fmt: skip
                continue
            lines.append(f"#{e['index']:<7} {_when(e['at_utc_ns'])}  {e['action']:<16} by "
                         f"{e['actor'][:12]}…  {e['subject']}  {e['detail']}")  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        raw = Path(args.key).read_bytes()
        key = serialization.load_pem_private_key(raw, None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("the owner key must be an Ed25519 private key (PEM)")
        doc = json.loads(Path(args.trust).read_text()) if args.trust else {}
        vkeys = doc.get("log_vkeys", [])
        pages = fetch(args.collector, args.vehicle, key)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        print(f"vnotary owner log: cannot read input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(render(pages))
    if not args.verify:
        return EXIT_OK
    if not vkeys:
        print("vnotary owner log: --verify needs a trust file pinning the log key (log_vkeys)",
              file=sys.stderr)  # fmt: skip
        return EXIT_UNREADABLE
    try:
        h = check(pages, args.vehicle, vkeys, doc.get("witnesses"), doc.get("witness_quorum"))
    except (BadData, ValueError, KeyError) as exc:
        print(f"NOT VERIFIED: {exc}")
        return EXIT_FAIL
    print(f"verified: all {h.count} entries of {args.vehicle} up to checkpoint {h.size}, "
          "each linked to the one before and included in the signed log")  # fmt: skip
    return EXIT_OK


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "owner", help="an owner's view: the access history of a vehicle, proven complete"
    )
    ops = p.add_subparsers(dest="op", required=True, metavar="OP")
    log = ops.add_parser("log", help="list the vehicle's log entries newest first",
                         description=__doc__)  # fmt: skip
    log.add_argument("--collector", required=True, help="the collector's API URL")
    log.add_argument("--key", required=True, help="the owner's Ed25519 private key (PEM)")
    log.add_argument("--vehicle", required=True, help="the vehicle id")
    log.add_argument("--trust", help="trust file pinning the log key (docs/trust.schema.json)")
    log.add_argument("--verify", action="store_true",
                     help="prove the list complete and untampered (needs --trust)")  # fmt: skip
    log.set_defaults(handler=run)
