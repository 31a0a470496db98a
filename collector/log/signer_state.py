"""The checkpoint signer's own memory, next to its key and outside the store (JSON file).

It holds the last checkpoint this signer signed (size, root, the note) and, once the guard
refused, why: the halt stays in the file, so a restart keeps refusing until an operator
acts (docs/collector.md § Signer guard). Written before the checkpoint reaches the store,
replaced atomically: write a temporary file, fsync it, rename it over the old one, fsync
the directory. A crash at any point leaves the old state or the new one, never a mix.

Processes on one machine share the file (`collector run` and `collector serve` both sign):
`locked()` holds an exclusive flock on `<file>.lock` around read, check, sign and write.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

FORMAT = "vnotary-signer-state/1"
LOCK_POLL_S = 0.02


@dataclass(frozen=True)
class Halt:
    """Why the signer stopped: the state it had signed and what the store holds instead."""

    reason: str
    message: str
    store_size: int
    store_root: bytes | None
    at_utc_ns: int


@dataclass(frozen=True)
class SignerState:
    origin: str
    size: int
    root: bytes
    note: bytes  # the signed checkpoint (without cosignatures)
    signed_utc_ns: int
    halt: Halt | None = None

    def halted(self, halt: Halt) -> SignerState:
        return replace(self, halt=halt)

    def to_json(self) -> str:
        h = self.halt
        doc: dict[str, Any] = {
            "format": FORMAT, "origin": self.origin, "size": self.size,
            "root": base64.b64encode(self.root).decode(), "note": self.note.decode(),
            "signed_utc_ns": self.signed_utc_ns,
            "halt": None if h is None else {
                "reason": h.reason, "message": h.message, "store_size": h.store_size,
                "store_root": None if h.store_root is None else base64.b64encode(h.store_root)
                .decode(), "at_utc_ns": h.at_utc_ns},
        }  # fmt: skip
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SignerState:
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        h = doc.get("halt")
        halt = None if h is None else Halt(
            str(h["reason"]), str(h["message"]), int(h["store_size"]),
            None if h["store_root"] is None else base64.b64decode(h["store_root"]),
            int(h["at_utc_ns"]))  # fmt: skip
        return cls(str(doc["origin"]), int(doc["size"]), base64.b64decode(doc["root"]),
                   str(doc["note"]).encode(), int(doc["signed_utc_ns"]), halt)  # fmt: skip


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = asyncio.Lock()  # tasks of one process; flock is per open file

    def load(self) -> SignerState | None:
        """The state, or None if this signer never signed. A file that exists but does not
        parse is not "nothing signed": it raises, and the signer must not sign."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return SignerState.from_json(text)

    def save(self, state: SignerState) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, state.to_json().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dfd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        async with self._local:
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT,
                         0o600)  # fmt: skip
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(LOCK_POLL_S)
                yield
            finally:
                os.close(fd)  # releases the flock
