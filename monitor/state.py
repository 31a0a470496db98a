"""The monitor's durable state in its directory.

    state.json            the last head verified (replaced atomically: temp, fsync, rename,
                          fsync of the directory), and the open alarm if any
    verified/<size>.note  every checkpoint verified, as signed: the history a fork is
                          shown against
    alarm-<KIND>-<utc>.json  the evidence of an alarm, for a court: both signed checkpoints,
                          the proof the log served, and how to check them

An alarm is sticky: later runs report it again until someone moves the directory away.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

from monitor.follow import Head, Judgement

FORMAT = "vnotary-monitor-state/1"
HOW_TO_CHECK = (
    "Each signed_note is a C2SP signed note: verify its signature with the log's key (and "
    "its witnesses' cosignatures with theirs), e.g. with notary_core.checkpoint.open_checkpoint. "
    "FORK: two notes signed by one log for one tree size with different roots; no honest "
    "append-only log signs both. REWRITE: the log signed both notes, and the RFC 9162 "
    "consistency proof it served between their sizes does not verify; an append-only log can "
    "always produce one that does (RFC 9162 section 2.1.4): ask its operator for it."
)


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _head_doc(h: Head) -> dict[str, Any]:
    return {"source": h.source, "origin": h.origin, "size": h.size,
            "root": base64.b64encode(h.root).decode(), "cosigners": list(h.cosigners),
            "signed_note": h.evidence.decode("utf-8", "replace")}  # fmt: skip


class MonitorState:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        (directory / "verified").mkdir(parents=True, exist_ok=True)
        self.path = directory / "state.json"

    def load(self) -> tuple[Head | None, str | None]:
        """The last verified head, and the open alarm's evidence file (if any)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, None
        if doc.get("format") != FORMAT:
            raise ValueError(f"{self.path}: not a {FORMAT} file")
        h = doc["head"]
        head = Head(h["source"], h["origin"], int(h["size"]), base64.b64decode(h["root"]),
                    h["signed_note"].encode(), tuple(h["cosigners"]))  # fmt: skip
        return head, doc.get("alarm")

    def _save(self, head: Head, alarm: str | None, now: float) -> None:
        doc = {"format": FORMAT, "head": _head_doc(head), "verified_utc": _utc(now),
               "alarm": alarm}  # fmt: skip
        _write_atomic(self.path, json.dumps(doc, indent=1) + "\n")

    def verified(self, head: Head, now: float) -> None:
        _write_atomic(self.dir / "verified" / f"{head.size}.note",
                      head.evidence.decode("utf-8", "replace"))  # fmt: skip
        self._save(head, None, now)

    def note_at(self, size: int) -> bytes | None:
        path = self.dir / "verified" / f"{size}.note"
        return path.read_bytes() if path.is_file() else None

    def alarm(self, j: Judgement, last: Head, new: Head, sizes: tuple[int, int] | None,
              now: float) -> Path:  # fmt: skip
        """Write the evidence of an alarm and make it sticky; return the evidence file."""
        path = (
            self.dir / f"alarm-{j.verdict}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}.json"
        )
        proof = None if j.proof is None or sizes is None else {
            "size1": sizes[0], "size2": sizes[1],
            "nodes_base64": [base64.b64encode(p).decode() for p in j.proof]}  # fmt: skip
        doc = {
            "format": "vnotary-monitor-alarm/1", "alarm": str(j.verdict), "origin": new.origin,
            "detected_utc": _utc(now), "finding": j.message,
            "checkpoints": [{"role": "verified earlier by this monitor", **_head_doc(last)},
                            {"role": "shown now", **_head_doc(new)}],
            "consistency_proof_served": proof, "how_to_check": HOW_TO_CHECK,
        }  # fmt: skip
        _write_atomic(path, json.dumps(doc, indent=1) + "\n")
        self._save(last, str(path), now)
        return path
