"""The report's custody sections: log checkpoint and anchor, grants and access log,
what the evidence does not prove, and how to reproduce the verification."""

from __future__ import annotations

import hashlib
import shlex

from notary_core import checkpoint, logleaf
from notary_core.errors import BadData
from verifier.report.data import ReportData, utc
from verifier.report.html import kv, table
from verifier.report.svg import esc


def anchor(d: ReportData) -> str:
    assert d.bundle is not None
    b = d.bundle
    try:
        body = b.checkpoint[: b.checkpoint.rfind(b"\n\n") + 1]
        cp = checkpoint.Checkpoint.parse_body(body)
        cp_rows = [("tree size", cp.size), ("root", cp.root.hex())]
    except BadData as exc:
        cp_rows = [("checkpoint", f"unreadable: {exc.message}")]
    quorum = next((c for c in d.transcript.checks if c.name == "witnesses.quorum"), None)
    witnessed = ("not checked (no witness keys pinned with --trust)" if quorum is None
                 else f"{quorum.status}: {quorum.detail or quorum.reason}")  # fmt: skip
    log = kv([("log origin", b.log_origin), ("log key", b.log_vkey), *cp_rows,
              ("witness cosignatures", witnessed),
              ("collector key sha256", hashlib.sha256(b.collector_key).hexdigest())],
             mono=("log key", "root", "collector key sha256"))  # fmt: skip
    a = b.anchor
    on_chain = next((c for c in d.transcript.checks if c.name == "anchor.on_chain"), None)
    if a is None:
        chain = '<p class="warnbox" id="anchor">The checkpoint is not anchored on a chain.</p>'
    else:
        status = ("not checked (run with --rpc)" if on_chain is None
                  else f"{on_chain.status}: {on_chain.detail or on_chain.reason}")  # fmt: skip
        chain = kv([
            ("chain id", a.chain_id), ("contract", "0x" + a.contract.hex()),
            ("transaction", "0x" + a.tx_hash.hex()), ("block", a.block_number),
            ("block hash", "0x" + a.block_hash.hex()),
            ("block time", utc(a.block_time * 1_000_000_000)),
            ("anchored checkpoint", f"size {a.tree_size}, root {a.root.hex()}"),
            ("confirmed on chain", status),
        ], mono=("contract", "transaction", "block hash", "anchored checkpoint"))  # fmt: skip
        chain = f'<div id="anchor">{chain}</div>'
    return (f"<h2>8. Transparency log and anchor</h2><p>The batch headers, the device's "
            "enrolment and the grants are leaves of the collector's append-only log; the "
            "checkpoint below commits to all of them; independent witnesses cosign it only "
            "after checking the log never rewrote what they saw before, and it is written to "
            f"a public chain, which fixes the latest time the data can have existed.</p>{log}"
            f"<h3>Anchor</h3>{chain}")  # fmt: skip


def authorization(d: ReportData) -> str:
    rows = []
    for i, (g, err) in enumerate(d.grants):
        if g is None:
            rows.append((i + 1, "unreadable", err, "", "", "", "", "", ""))
            continue
        rows.append((i + 1, g.jti, f"{g.iss} → {g.sub}", g.vehicle,
                     f"{utc(g.window_start_ns)} → {utc(g.window_end_ns)}",
                     ", ".join(g.scope) + (f" (signals: {', '.join(g.signals)})" if g.signals
                                           else ""),
                     ", ".join(g.actions), g.purpose,
                     f"{utc(g.nbf * 10**9)} → {utc(g.exp * 10**9)}, depth {g.depth}"))  # fmt: skip
    grants = table(["#", "grant id", "issuer → grantee", "vehicle", "data window", "scope",
                    "actions", "purpose", "valid, delegation"], rows,
                   ["", "mono", "mono"], tid="grants")  # fmt: skip
    log = []
    for e in d.access_log:
        ev = e.event
        if isinstance(ev, logleaf.AccessEvent):
            log.append((e.log_index, ev.action.name, ev.vehicle_id, ev.actor, ev.subject,
                        f"{utc(ev.window_start_ns)} → {utc(ev.window_end_ns)}",
                        utc(ev.at_utc_ns), ev.detail))  # fmt: skip
        else:
            log.append((e.log_index, "unreadable", "", "", e.error, "", "", ""))
    access = table(["log index", "action", "vehicle", "actor", "subject", "window", "at",
                    "detail"], log, ["", "", "", "mono", "mono"], tid="access-log")  # fmt: skip
    return ("<h2>9. Authorization: grant and access log</h2><p>The owner-signed grant chain "
            "this bundle was issued under (owner's grant first), and the log entries binding "
            f"the device to the vehicle, the owner to the vehicle, and the grants.</p>{grants}"
            f"<h3>Access-log entries in the bundle</h3>{access}")  # fmt: skip


def limitations(d: ReportData) -> str:
    items = [
        "That the sensors were accurate or calibrated: the records are what the CAN bus, the "
        "GNSS receiver and the IMU reported (wheel-speed depends on tyre size; GNSS positions "
        "carry the receiver's own error, not shown here).",
        "Who was driving: the owner who granted access need not be the driver.",
        "That the data was genuine before the device signed it: frames injected or altered on "
        "the bus or the serial line before capture would be signed like any other.",
        "That the device key never left the device: the bundle shows the key was enrolled, "
        "not where it was kept.",
        "Anything outside the window and the disclosed streams, or before the device's enrolment.",
        "The meaning of the decoded CAN values: they are a view computed with the stated DBC; "
        "only the raw frames are evidence.",
        "The legal questions a court still decides: relevance, hearsay, and the weight of "
        "this evidence. The verification settles integrity and origin only.",
    ]
    if d.headers:
        hs = d.headers
        clocks = sorted({h.clock_source.name for h in hs})
        worst = max(h.clock_uncertainty_ns for h in hs) / 1e6
        items.insert(3, f"That the clock was right beyond what the device stated: its time "
                        f"source was {', '.join(clocks)} with a stated uncertainty of up to "
                        f"±{worst:g} ms. The chain anchor bounds only the latest time the data "
                        "existed, not the earliest.")  # fmt: skip
        hidden = d.total_records - d.disclosed
        items.insert(4, f"The content of the {hidden} records of these batches that were not "
                        "disclosed: only their salted hashes are in the proofs (the hash chain "
                        "still proves that no batch of the segment is missing).")  # fmt: skip
    if (
        d.bundle is not None
        and d.bundle.anchor is not None
        and not any(c.name == "anchor.on_chain" for c in d.transcript.checks)
    ):
        items.append("That the anchor is on chain: this report was made without --rpc.")
    li = "".join(f"<li>{esc(x)}</li>" for x in items)
    return f'<h2>10. What this evidence does not prove</h2><ul class="limits" id="limits">{li}</ul>'


def reproduce(data: bytes, bundle_name: str, trust_name: str | None, rpc: str | None) -> str:
    q = shlex.quote
    verify = f"vnotary verify {q(bundle_name)}"
    verify += f" --trust {q(trust_name)}" if trust_name else " --trust TRUST.json"
    verify += f" --rpc {q(rpc)}" if rpc else " --rpc https://RPC-OF-THE-ANCHOR-CHAIN"
    lines = [
        "# 1. the file is the one this report describes",
        f"sha256sum {q(bundle_name)}   # expect {hashlib.sha256(data).hexdigest()}",
        "# 2. an independent install of the open verifier (it needs only the core)",
        "python -m venv v && . v/bin/activate && pip install vnotary",
        "# 3. the core against independent test vectors (transparency-dev RFC 6962 set)",
        "python -m notary_core.conformance merkle transparency-dev-rfc6962.json",
        "# 4. every check, with your own pinned keys and your own chain node",
        verify,
        "# 5. the machine-readable transcript, for the file",
        verify.replace("vnotary verify", "python -m verifier", 1) + " --json > transcript.json",
    ]
    return ("<h2>11. Reproduce the verification</h2><p>An independent expert needs only the "
            "bundle file, a trust file of keys pinned from outside the bundle (the log and "
            "collector keys, the anchor contract), and any node of the anchor chain.</p>"
            f'<pre id="reproduce">{esc(chr(10).join(lines))}</pre>')  # fmt: skip
