"""The `time.tsa` check of a version-2 bundle (docs/protocol.md §12.3): RFC 3161 tokens over
the checkpoint, a second "not after" beside the anchor's block time.

With TSA certificates pinned (trust file `tsa_certs`, §13), every token that names a pinned
certificate as its signer must verify (notary_core.tsa): its genTime then proves that the
checkpoint, and so every batch in it, existed by then. A token of a TSA the verifier did
not pin is listed and not counted: it neither fails nor passes anything. A batch claiming
times after a verified genTime (beyond its own uncertainty and the TSA's accuracy) was
dated in the future of the checkpoint that holds it: `FUTURE_TIME`.

Without pinned certificates there is no check: the tokens are listed in the summary as
unverified, so they change no verdict.
"""

from __future__ import annotations

from typing import Any

from notary_core import limits, tsa
from notary_core.bundle import EvidenceBundle
from notary_core.errors import BadData, NotaryError, Reason, too_large
from notary_core.evidence import Trust, _Run
from notary_core.header import BatchHeader


def check_timestamps(
    run: _Run, b: EvidenceBundle, trust: Trust | None, headers: list[BatchHeader]
) -> None:
    tokens = b.timestamps
    if trust is None or not trust.tsa_certs:
        if tokens:
            run.t.summary["tsa"] = [_unverified(der) for der in tokens]
        return
    listed: list[dict[str, Any]] = []
    with run.check("time.tsa") as c:
        if len(tokens) > limits.MAX_TSA_TOKENS:
            raise too_large("the bundle's time-stamp tokens", len(tokens), limits.MAX_TSA_TOKENS)
        certs = tsa.load_certs(trust.tsa_certs)
        stamps: list[tsa.Stamp] = []
        for i, der in enumerate(tokens):
            try:
                token = tsa.parse_token(der)
                cert = tsa.signer_of(token, certs)
                if cert is None:
                    listed.append(_entry(token, None, "signed by a TSA you did not pin"))
                    continue
                stamp = tsa.verify(token, cert, b.checkpoint)
            except BadData as exc:
                raise BadData(exc.reason, f"token {i}: {exc.message}") from None
            stamps.append(stamp)
            listed.append(_entry(token, stamp, "verified"))
        if stamps:
            _no_batch_after(headers, stamps)
            run.t.summary["not_after_tsa_ns"] = min(s.gen_time_ns for s in stamps)
        if not tokens:
            c.detail = "no token in the bundle: no TSA time for the checkpoint"
        elif not stamps:
            c.detail = f"{len(tokens)} token(s), none by a pinned TSA: not counted"
        else:
            first = min(stamps, key=lambda s: s.gen_time_ns)
            c.detail = (f"{len(stamps)} token(s) over the checkpoint verified under pinned TSA "
                        f"certificates; the earliest: {first.tsa} at {first.gen_time_ns} ns"
                        + (f"; {len(tokens) - len(stamps)} by TSAs not pinned, not counted"
                           if len(stamps) < len(tokens) else ""))  # fmt: skip
    run.t.summary["tsa"] = listed


def _no_batch_after(headers: list[BatchHeader], stamps: list[tsa.Stamp]) -> None:
    s = min(stamps, key=lambda s: s.gen_time_ns)
    latest = s.gen_time_ns + (s.accuracy_ns or 0)
    for h in headers:
        if h.first_utc_ns - h.clock_uncertainty_ns > latest:
            raise BadData(Reason.FUTURE_TIME,
                          f"batch {h.batch_seq} claims to start "
                          f"{(h.first_utc_ns - latest) / 1e9:.3f} s after {s.tsa} stamped the "
                          "checkpoint holding it, beyond its stated clock uncertainty")  # fmt: skip


def _entry(token: tsa.Token, stamp: tsa.Stamp | None, status: str) -> dict[str, Any]:
    return {"tsa": None if stamp is None else stamp.tsa, "gen_time_ns": token.gen_time_ns,
            "serial": token.serial, "counted": stamp is not None, "status": status}  # fmt: skip


def _unverified(der: bytes) -> dict[str, Any]:
    """What an unpinned reader can say of a token: its claimed time, nothing proven."""
    try:
        token = tsa.parse_token(der)
    except NotaryError as exc:
        return {"tsa": None, "gen_time_ns": None, "serial": None, "counted": False,
                "status": f"unreadable: {exc}"}  # fmt: skip
    return _entry(token, None, "not verified: no TSA certificate pinned")
