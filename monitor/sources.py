"""Where a monitor's heads and proofs come from (the I/O side of monitor/follow.py).

`Source` is the seam: anything that can name the newest head of the log and vouch for it.
`CollectorSource` reads the collector's API: its published checkpoint (signed, cosigned) and
RFC 9162 consistency proofs. The anchor contract (version 2, `Anchored(size, root, prevSize,
prevRoot)`) is the second source to plug in here: its `latest()` returns the newest final
event as a Head (evidence: the log record), after checking that (prevSize, prevRoot) is the
head it returned before; proofs between its sizes still come from the collector.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Protocol

from monitor.follow import Head, authenticate
from notary_core import limits
from notary_core.checkpoint import NoteVerifier
from notary_core.errors import Unreachable
from notary_core.witness import WitnessVerifier

TIMEOUT_S = 10.0
MAX_ANSWER = 64 * 1024  # a signed note is at most 8 KiB, a proof's JSON about 6 KiB


class Source(Protocol):
    name: str

    def latest(self, origin: str | None) -> Head:
        """The newest head, authenticated (raises BadData if it is not, Unreachable if the
        source does not answer)."""
        ...


class Proofs(Protocol):
    def consistency(self, size1: int, size2: int) -> list[bytes] | None:
        """An RFC 9162 consistency proof, or None if the log cannot give one."""
        ...


class CollectorSource:
    def __init__(
        self, url: str, log_keys: Sequence[NoteVerifier], witnesses: Sequence[WitnessVerifier],
        quorum: int, timeout: float = TIMEOUT_S,
    ) -> None:  # fmt: skip
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"collector URL must be http(s): {url!r}")
        self.url = url.rstrip("/")
        self.name = f"collector {self.url}"
        self.log_keys, self.witnesses, self.quorum = list(log_keys), list(witnesses), quorum
        self.timeout = timeout

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=self.timeout) as r:  # noqa: S310 (scheme checked)
                return int(r.status), r.read(MAX_ANSWER)
        except urllib.error.HTTPError as err:
            return int(err.code), err.read(MAX_ANSWER)
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"{self.name} did not answer {path}: {exc}") from None

    def latest(self, origin: str | None) -> Head:
        status, body = self._get("/v1/log/checkpoint")
        if status != 200:
            raise Unreachable(f"{self.name}: no checkpoint (HTTP {status})")
        if len(body) > limits.MAX_CHECKPOINT_SIZE:
            raise Unreachable(f"{self.name}: checkpoint over {limits.MAX_CHECKPOINT_SIZE} bytes")
        return authenticate(body, self.log_keys, self.witnesses, self.quorum, self.name, origin)

    def consistency(self, size1: int, size2: int) -> list[bytes] | None:
        status, body = self._get(f"/v1/log/proof/consistency?size1={size1}&size2={size2}")
        if status == 400:  # BAD_TREE_SIZE: the log no longer holds one of the sizes
            return None
        if status != 200:
            raise Unreachable(f"{self.name}: consistency proof: HTTP {status}")
        try:
            doc = json.loads(body)
            proof = [bytes.fromhex(p) for p in doc["proof"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise Unreachable(f"{self.name}: malformed consistency proof: {exc}") from None
        return proof[: limits.MAX_PROOF_NODES + 1]
