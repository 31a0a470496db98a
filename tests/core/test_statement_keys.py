"""One key per statement (protocol §6, §6.3, §13): a verifier checks the checkpoint against the
pinned log keys and the bundle's signer against the pinned bundle keys (collector_keys),
each against its own field, never their union; and rotations of either key verify while
the key that signed is pinned."""

from __future__ import annotations

from dataclasses import replace

from notary_core import checkpoint, cose
from notary_core.evidence import Trust, Verdict, verify_bundle
from tests.core.bundle_factory import _key
from tests.core.bundle_v2_factory import ORIGIN, World2, build2, make_world2, parts

NAME = ORIGIN.split("/")[0]


def _vkey(seed: int) -> str:
    return checkpoint.NoteSigner(NAME, _key(seed)).verifier.vkey


def _spki(seed: int) -> bytes:
    return cose.Signer.from_key(_key(seed)).public.spki()


def _trust(w: World2, log: set[str], bundle: set[bytes]) -> Trust:
    return replace(w.trust(), log_vkeys=frozenset(log), collector_keys=frozenset(bundle))


def _untrusted(data: bytes, trust: Trust) -> None:
    t = verify_bundle(data, trust)
    assert t.verdict is Verdict.FAIL and "UNTRUSTED" in t.reasons, t.to_dict()


def test_the_world_signs_each_statement_with_its_own_key() -> None:
    w = make_world2()  # log key: seed 3; bundle key: seed 2
    assert w.log_key.verifier.vkey == _vkey(3) and w.collector.public.spki() == _spki(2)
    assert verify_bundle(build2(w), _trust(w, {_vkey(3)}, {_spki(2)})).verdict is Verdict.OK


def test_keys_pinned_in_each_others_fields_are_refused() -> None:
    w = make_world2()
    data = build2(w)
    # the same two keys, each pinned as the other statement's key
    _untrusted(data, _trust(w, {_vkey(2)}, {_spki(3)}))
    # the bundle key pinned as a log key (beside a wrong bundle key): not a log key
    _untrusted(data, _trust(w, {_vkey(2)}, {_spki(2)}))
    # the log key pinned as a bundle key: not a bundle key
    _untrusted(data, _trust(w, {_vkey(3)}, {_spki(3)}))


def test_a_checkpoint_signed_by_the_bundle_key_is_refused() -> None:
    """A holder of the bundle key alone cannot make checkpoints: the bundle names its own
    key as the log key, and the checkpoint verifies under it, but it is not a pinned log key."""
    w = make_world2()
    w.log_key = checkpoint.NoteSigner(NAME, _key(2))  # the bundle key signs the checkpoint
    _untrusted(build2(w), _trust(w, {_vkey(3)}, {_spki(2)}))


def test_a_bundle_signed_by_the_log_key_is_refused() -> None:
    w = make_world2()
    w.collector = cose.Signer.from_key(_key(3))  # the log key signs the bundle
    _untrusted(build2(w), _trust(w, {_vkey(3)}, {_spki(2)}))


def test_a_bundle_key_rotation_verifies_while_the_old_key_is_pinned() -> None:
    old = build2(make_world2())  # signed by seed 2
    w = make_world2()
    w.collector = cose.Signer.from_key(_key(7))  # the new bundle key
    new = build2(w)
    both = _trust(w, {_vkey(3)}, {_spki(2), _spki(7)})
    assert verify_bundle(old, both).verdict is Verdict.OK
    assert verify_bundle(new, both).verdict is Verdict.OK
    only_new = _trust(w, {_vkey(3)}, {_spki(7)})
    assert verify_bundle(new, only_new).verdict is Verdict.OK
    _untrusted(old, only_new)  # unpinned: the old key no longer vouches


def _rotating(w: World2, old_seed: int) -> bytes:
    """A bundle of a log in a key rotation: its checkpoint is signed by the new log key (which
    the bundle names) and the previous one, then cosigned by the witnesses."""
    p = parts(w)
    note = p.bundle.checkpoint
    body = note[: note.index(b"\n\n") + 1]
    old_line = checkpoint.NoteSigner(NAME, _key(old_seed)).signature_line(body)
    dual = note + old_line.encode()
    return replace(p.bundle, checkpoint=dual).sign(w.collector)


def test_a_log_key_rotation_a_checkpoint_signed_by_both_keys_verifies_under_either() -> None:
    w = make_world2()
    w.log_key = checkpoint.NoteSigner(NAME, _key(8))  # the new log key; the old one: seed 3
    data = _rotating(w, 3)
    old_pin = verify_bundle(data, _trust(w, {_vkey(3)}, {_spki(2)}))
    assert old_pin.verdict is Verdict.OK, old_pin.to_dict()
    detail = next(c.detail for c in old_pin.checks if c.name == "trust.collector")
    assert _vkey(3) in detail and "rotation" in detail
    for pins in ({_vkey(8)}, {_vkey(3), _vkey(8)}):
        assert verify_bundle(data, _trust(w, pins, {_spki(2)})).verdict is Verdict.OK
    _untrusted(data, _trust(w, {_vkey(9)}, {_spki(2)}))


def test_after_a_log_key_rotation_the_old_pin_alone_is_refused() -> None:
    """Once the old key stops cosigning, a verifier must pin the new one (§6.3)."""
    w = make_world2()
    w.log_key = checkpoint.NoteSigner(NAME, _key(8))
    data = build2(w)
    _untrusted(data, _trust(w, {_vkey(3)}, {_spki(2)}))
    assert verify_bundle(data, _trust(w, {_vkey(3), _vkey(8)}, {_spki(2)})).verdict is Verdict.OK


def test_a_bad_signature_by_the_pinned_old_key_is_refused() -> None:
    w = make_world2()
    w.log_key = checkpoint.NoteSigner(NAME, _key(8))
    p = parts(w)
    note = p.bundle.checkpoint
    body = note[: note.index(b"\n\n") + 1]
    forged = checkpoint.NoteSigner(NAME, _key(3)).signature_line(body.replace(b"\n", b"\n ", 1))
    data = replace(p.bundle, checkpoint=note + forged.encode()).sign(w.collector)
    _untrusted(data, _trust(w, {_vkey(3)}, {_spki(2)}))


def test_a_pinned_old_log_key_vouches_only_for_the_bundles_own_log() -> None:
    """The old key of a rotation vouches for a checkpoint of the log the bundle names: signed
    under another origin (the same keys run two logs), the checkpoint proves nothing here."""
    w = make_world2()
    w.log_key = checkpoint.NoteSigner(NAME, _key(8))
    p = parts(w)
    note = p.bundle.checkpoint
    body = note[: note.index(b"\n\n") + 1]
    old_line = checkpoint.NoteSigner(NAME, _key(3)).signature_line(body)
    other_log = replace(p.bundle, checkpoint=note + old_line.encode(), log_origin=f"{NAME}/other")
    t = verify_bundle(other_log.sign(w.collector), _trust(w, {_vkey(3)}, {_spki(2)}))
    trust = next(c for c in t.checks if c.name == "trust.collector")
    assert (trust.status.value, trust.reason) == ("fail", "UNTRUSTED"), t.to_dict()
    assert "signed by no log key you pinned" in trust.detail
    sig = next(c for c in t.checks if c.name == "checkpoint.signature")
    assert (sig.status.value, sig.reason) == ("fail", "BAD_CHECKPOINT"), t.to_dict()
    assert sig.detail == f"ORIGIN_MISMATCH: origin {ORIGIN!r}, expected '{NAME}/other'"
