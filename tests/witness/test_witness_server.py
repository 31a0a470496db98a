"""`vnotary witness serve` as a real process over HTTP: the C2SP tlog-witness status codes,
cosignatures that verify, and one root per size across concurrent requests (threads and two
processes on one database) and across kill -9."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from notary_core import checkpoint as c
from notary_core import merkle
from notary_core import witness as w
from tests.infra.witness import WitnessProc, free_port, witness_process

pytestmark = pytest.mark.integration
ORIGIN = "collector.test/vnotary/log"
LOG = c.NoteSigner("collector.test", ed25519.Ed25519PrivateKey.generate())


class Log:
    """A log as the witness sees it: a Merkle tree, signed checkpoints, proofs. `fork` makes
    the tree differ from the first leaf on."""

    def __init__(self, fork: int = 0) -> None:
        self.fork = fork
        self.hashes: list[bytes] = []

    def grow(self, n: int) -> Log:
        for _ in range(n):
            self.hashes.append(merkle.hash_leaf(b"%d/%d" % (self.fork, len(self.hashes))))
        return self

    def tree(self, size: int | None = None) -> merkle.MerkleTree:
        return merkle.MerkleTree(self.hashes[: size or len(self.hashes)])

    def note(self, size: int | None = None, key: c.NoteSigner = LOG, origin: str = ORIGIN) -> bytes:
        t = self.tree(size)
        return c.sign_checkpoint(c.Checkpoint(origin, t.size, t.root), [key])

    def request(self, old: int, size: int | None = None, **kw: object) -> bytes:
        size = size or len(self.hashes)
        proof = self.tree(size).consistency_proof(old) if 0 < old < size else []
        return w.AddCheckpoint(old, tuple(proof), self.note(size, **kw)).encode()  # type: ignore[arg-type]


def post(wp: WitnessProc, body: bytes) -> httpx.Response:
    return httpx.post(wp.url + "/add-checkpoint", content=body, timeout=30)


def cosigned_size(wp: WitnessProc, r: httpx.Response, note: bytes) -> int:
    """The size a 200 answer cosigned, after checking the cosignature verifies."""
    assert r.status_code == 200, r.text
    w.require_quorum(w.add_signatures(note, w.parse_cosignature_lines(r.content)),
                              [wp.verifier], 1)  # fmt: skip
    return c.Checkpoint.parse_body(c.split_note(note)[0]).size


@pytest.fixture
def wp(tmp_path: Path) -> Iterator[WitnessProc]:
    with witness_process(tmp_path / "w1", "witness.test/w1", {ORIGIN: [LOG.verifier.vkey]}) as p:
        yield p


def test_keygen_cli_prints_a_vkey_and_keeps_an_existing_key(tmp_path: Path) -> None:
    exe = [sys.executable, "-m", "vnotary_cli.main", "witness", "keygen", "--name",
           "witness.test/w9", "--out", str(tmp_path / "k")]  # fmt: skip
    out = subprocess.run(exe, capture_output=True, text=True, check=True).stdout.strip()
    assert w.WitnessVerifier.from_vkey(out).name == "witness.test/w9"
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    again = subprocess.run(exe, capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "exists" in again.stderr


def test_cosigns_a_growing_log_and_answers_every_refusal_as_specified(wp: WitnessProc) -> None:
    log = Log().grow(5)
    assert cosigned_size(wp, post(wp, log.request(0)), log.note()) == 5
    log.grow(8)
    assert cosigned_size(wp, post(wp, log.request(5)), log.note()) == 13
    assert cosigned_size(wp, post(wp, log.request(13)), log.note()) == 13  # the same again
    stale = post(wp, log.grow(2).request(5))
    assert (stale.status_code, stale.content) == (409, b"13\n")
    assert stale.headers["content-type"] == "text/x.tlog.size"
    fork = Log(fork=1).grow(13)
    same_size = post(wp, fork.request(13))
    assert (same_size.status_code, same_size.content) == (409, b"13\n")
    fork.grow(3)
    assert post(wp, fork.request(13)).status_code == 422  # a proof from its own history
    other_key = c.NoteSigner("collector.test", ed25519.Ed25519PrivateKey.generate())
    assert post(wp, log.request(13, key=other_key)).status_code == 403
    assert post(wp, log.request(0, origin="someone.else/log")).status_code == 404
    assert post(wp, w.AddCheckpoint(20, (), log.note()).encode()).status_code == 400
    for junk in (b"", b"old 1\n\n", b"\xff" * 100, b"old 13\n" + b"A" * 40_000):
        assert post(wp, junk).status_code in (400, 413), junk[:20]
    # After all that, the head is still 13 with the first history's root.
    assert cosigned_size(wp, post(wp, log.request(13)), log.note()) == 15


def _race(targets: list[WitnessProc], bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    codes = [0] * len(bodies)

    def go(i: int) -> None:
        barrier.wait()
        codes[i] = post(targets[i % len(targets)], bodies[i]).status_code

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_concurrent_forks_get_one_cosignature_per_size(wp: WitnessProc, tmp_path: Path) -> None:
    """Two requests from one old size with different new roots: exactly one is cosigned, in
    one process and across two processes serving one database file."""
    second = WitnessProc(wp.name, wp.config, free_port(), wp.verifier)
    second.start()
    try:
        honest, size = Log(), 0
        for round_ in range(12):
            forks = [Log(fork=100 * round_ + k) for k in range(3)]
            for f in forks:
                f.hashes = list(honest.hashes)
                f.grow(4)
            codes = _race([wp, second], [f.request(size) for f in forks])
            assert sorted(codes) == [200, 409, 409], (round_, codes)
            honest = forks[codes.index(200)]
            size += 4
    finally:
        second.stop()


def _grow_until_killed(
    wp: WitnessProc, log: Log, old: int, got: list[int], stop: threading.Event, rng: random.Random
) -> None:
    """Grow the log and ask for a cosignature from the last one, until the witness is gone."""
    while not stop.is_set():
        log.grow(rng.randint(1, 3))
        try:
            r = post(wp, log.request(old))
        except httpx.HTTPError:
            return
        if r.status_code == 409:  # a cosignature the crash kept from us
            old = int(r.content)
            continue
        got.append(cosigned_size(wp, r, log.note()))
        old = got[-1]


def test_kill_minus_9_never_forgets_a_cosignature(wp: WitnessProc) -> None:
    """A client grows the log as fast as the witness answers; the witness is killed at a
    random instant, three times. Every cosignature handed out survives: after a restart the
    witness refuses another root at that size and any history that does not extend it."""
    rng = random.Random(11)
    log, old = Log().grow(1), 0
    for _ in range(3):
        got: list[int] = []
        stop = threading.Event()
        t = threading.Thread(target=_grow_until_killed, args=(wp, log, old, got, stop, rng))
        t.start()
        threading.Event().wait(rng.uniform(0.3, 1.2))
        wp.kill()
        stop.set()
        t.join()
        assert got, "the client got no cosignature before the kill"
        wp.start()
        probe = post(wp, Log(fork=9).grow(1).request(0))
        assert probe.status_code == 409 and int(probe.content) >= got[-1]
        head = int(probe.content)
        forged = Log(fork=7).grow(head)
        assert post(wp, forged.request(head)).status_code == 409  # another root, same size
        forged.hashes = list(log.hashes[:head])  # the same history but for one cosigned leaf
        forged.hashes[got[-1] - 1] = merkle.hash_leaf(b"rewritten")
        assert post(wp, forged.grow(1).request(head)).status_code == 422
        old = head
