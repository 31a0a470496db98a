"""The collector's witnessing rounds against two real witness processes over HTTP, on both
stores: published only at quorum; an outage delays and loses nothing; a stale size is
learned from the 409; a history the witnesses have not seen grow is an alarm, and
/readyz says so."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from collector.api.app import create_app
from collector.log.checkpoints import CheckpointSigner, WitnessPolicy
from collector.log.leaves import batch_leaf
from collector.log.witness_http import HttpWitness
from collector.log.witnesses import Witnessing, witness_sizes
from collector.settings import Settings, WitnessSettings, write_key
from collector.store.base import CheckpointRow, Store
from collector.store.open import open_store
from collector.store.witnessed import WitnessedStore
from notary_core.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from notary_core.witness import require_quorum
from tests.collector import tamper
from tests.infra.witness import WitnessProc, witness_process

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORIGIN = "collector.test/log"


@pytest.fixture
def key(tmp_path: Path) -> NoteSigner:
    return NoteSigner("collector.test", write_key(tmp_path / "collector.key"))


@pytest.fixture
def witnesses(tmp_path: Path, key: NoteSigner) -> Iterator[list[WitnessProc]]:
    logs = {ORIGIN: [key.verifier.vkey]}
    with (
        witness_process(tmp_path / "w1", "witness.test/w1", logs) as w1,
        witness_process(tmp_path / "w2", "witness.test/w2", logs) as w2,
    ):
        yield [w1, w2]


@pytest.fixture
async def rounds(
    store: Store, witnesses: list[WitnessProc], key: NoteSigner, tmp_path: Path
) -> AsyncIterator[tuple[CheckpointSigner, Witnessing]]:
    clients = [HttpWitness(w.url, w.verifier, 2.0) for w in witnesses]
    policy = WitnessPolicy(tuple(w.verifier for w in witnesses), 2)
    signer = CheckpointSigner(store, key, ORIGIN, None, policy)
    try:
        yield signer, Witnessing(store, list(clients), 2)
    finally:
        for c in clients:
            await c.close()


async def _grow(store: Store, n: int, tag: str = "") -> int:
    size = await store.log_size()
    await store.append_leaves(
        [batch_leaf(hashlib.sha256(f"{tag}{size + i}".encode()).digest()) for i in range(n)], 1
    )
    return size + n


async def test_published_only_with_the_quorum_and_an_outage_loses_nothing(
    store: Store, rounds: tuple[CheckpointSigner, Witnessing], witnesses: list[WitnessProc]
) -> None:
    signer, witnessing = rounds
    await _grow(store, 5)
    await signer.sign_if_grown(1)
    assert await store.latest_published_checkpoint() is None  # signed, not yet witnessed
    published = await witnessing.tick(2)
    # Each signed checkpoint ends in its index leaf (protocol §7.3): 5 + 1.
    assert published is not None and published.size == 6
    cosigned = require_quorum(published.note, [w.verifier for w in witnesses], 2)
    assert [c.name for c in cosigned] == ["witness.test/w1", "witness.test/w2"]
    assert (await store.latest_published_checkpoint()) == published
    witnesses[1].stop()  # an outage
    for _ in range(3):
        await _grow(store, 2)
        await signer.sign_if_grown(3)
        assert await witnessing.tick(4) is None
    assert (await store.latest_published_checkpoint()).size == 6  # type: ignore[union-attr]
    assert set(await WitnessedStore(store).cosignatures(15)) == {"witness.test/w1"}
    assert await WitnessedStore(store).open_alarms() == []  # an outage is not an alarm
    witnesses[1].start()  # back, still at size 6: it checks a proof from 6 to 15 (3 x (2 + 1))
    published = await witnessing.tick(5)
    assert published is not None and published.size == 15
    require_quorum(published.note, [w.verifier for w in witnesses], 2)


async def test_a_stale_size_is_learned_from_the_witness(
    store: Store, store_url: str, rounds: tuple[CheckpointSigner, Witnessing]
) -> None:
    signer, witnessing = rounds
    await _grow(store, 4)
    await signer.sign_if_grown(1)
    await witnessing.tick(2)
    async with store.transaction() as tx:  # our record of the witnesses' sizes is lost
        await tx.exec("DELETE FROM witness_state")
    await _grow(store, 3)
    await signer.sign_if_grown(3)
    assert (await witnessing.tick(4)).size == 9  # type: ignore[union-attr]  # (4 + 1) + (3 + 1)
    assert await witness_sizes(witnessing.clients, b"") == {}  # garbage note: no size learned


async def test_a_history_the_witnesses_did_not_see_grow_is_an_alarm(
    store: Store, store_url: str, rounds: tuple[CheckpointSigner, Witnessing], key: NoteSigner,
    tmp_path: Path, witnesses: list[WitnessProc],
) -> None:  # fmt: skip
    """The store rewritten and a checkpoint of it signed by someone holding the key but not
    the guard: both witnesses refuse (422), it is never published, the alarm is open and the
    API's /readyz answers 503."""
    signer, witnessing = rounds
    await _grow(store, 6)
    await signer.sign_if_grown(1)
    await witnessing.tick(2)
    tamper.rewrite_leaf(store_url, 2, batch_leaf(bytes(32)))
    async with await open_store(store_url) as forged_store:
        size = await _grow(forged_store, 2)
        root = await forged_store.log_root(size)
        note = sign_checkpoint(Checkpoint(ORIGIN, size, root), [key])
        await forged_store.add_checkpoint(CheckpointRow(size, root, note, 3))
    assert await witnessing.tick(4) is None
    assert (await store.latest_published_checkpoint()).size == 7  # type: ignore[union-attr]
    alarms = await WitnessedStore(store).open_alarms()
    assert {(a.kind, a.source) for a in alarms} == {
        ("REWRITE", "witness.test/w1"), ("REWRITE", "witness.test/w2")}  # fmt: skip
    assert "(422)" in alarms[0].detail
    settings = Settings(
        store=store_url, key_file=str(tmp_path / "collector.key"), origin=ORIGIN,
        witness=tuple(WitnessSettings(url=w.url, vkey=w.verifier.vkey) for w in witnesses),
        witness_quorum=2,
    )  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            r = await client.get("/readyz")
            assert r.status_code == 503, r.text
            assert any("REWRITE from witness.test/w1" in p for p in r.json()["problems"])
            assert (await client.get("/healthz")).status_code == 200  # alive, not ready
            cp = await client.get("/v1/log/checkpoint")
            assert cp.text.split("\n")[1] == "7"  # the API serves only the witnessed one


async def test_a_witness_that_does_not_pin_our_key_is_an_alarm(
    store: Store, tmp_path: Path, key: NoteSigner
) -> None:
    other = NoteSigner("collector.test", write_key(tmp_path / "other.key")).verifier.vkey
    with witness_process(tmp_path / "w9", "witness.test/w9", {ORIGIN: [other]}) as w9:
        client = HttpWitness(w9.url, w9.verifier, 2.0)
        try:
            policy = WitnessPolicy((w9.verifier,), 1)
            await _grow(store, 3)
            await CheckpointSigner(store, key, ORIGIN, None, policy).sign_if_grown(1)
            assert await Witnessing(store, [client], 1).tick(2) is None
        finally:
            await client.close()
    (alarm,) = await WitnessedStore(store).open_alarms()
    assert (alarm.kind, alarm.source) == ("UNKNOWN_KEY", "witness.test/w9")
    assert "(403)" in alarm.detail
