"""Golden transcripts: every check's status, reason and words, and the summary, of a tamper
suite's cases, kept in a reviewed JSON file beside the suite (a message nobody asserts can go
wrong silently: mutation run of 2026-12-03, docs/testing.md). After a change of wording,
`VNOTARY_RECORD_TRANSCRIPTS=1 pytest <suite> -k recorded` writes the file again from every
case the run selects; review its diff."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from notary_core.evidence import Transcript

RECORD = os.environ.get("VNOTARY_RECORD_TRANSCRIPTS") == "1"


class Golden:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[str, Any] = {} if RECORD else json.loads(path.read_text())

    def check(self, name: str, t: Transcript) -> None:
        got = json.loads(json.dumps(t.to_dict()))  # as a reader of the JSON sees it
        if RECORD:
            self.known[name] = got
        assert got == self.known[name]


def transcripts(path: Path) -> Iterator[Golden]:
    """A module fixture's body: the file's transcripts, written back when recording."""
    golden = Golden(path)
    yield golden
    if RECORD:
        path.write_text(json.dumps(dict(sorted(golden.known.items())), indent=1) + "\n")
