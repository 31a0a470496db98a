"""Signed checkpoints of the log (C2SP tlog-checkpoint, Ed25519), behind the signer guard.

The store is not trusted to be append-only: anyone with database access can rewrite a leaf
and recompute the tree, truncate it, or restore an older copy. Before signing, the guard
proves with an RFC 9162 consistency proof (§2.1.4), computed from the store, that the tree
extends every head this signer is bound to:

- its own last signed checkpoint, kept beside its key (`signer_state.StateFile`);
- the store's latest checkpoint that verifies under the log key (signed by another machine
  of a PostgreSQL deployment, or before this machine had a state file);
- the store's latest published checkpoint whose witness quorum verifies under the pinned
  witness keys: what a new leader on another machine knows even if it never signed;
- what the witnesses themselves last cosigned (asked once per process, `probe`): each
  such size must be a checkpoint the store holds under the log key, so a store restored
  wholesale from an older copy, checkpoints and all, is refused on a machine that never
  signed (a witness's state is the one memory the database's owner cannot roll back).

On a mismatch it signs nothing, logs CRITICAL with both roots, writes the halt into its
state (a restart keeps refusing) and raises an alarm row (`/readyz` reports it). The state
is written, and fsync'd, before the checkpoint reaches the store, so nothing published was
signed without the state knowing it. Runs every tick, so a truncation is caught before the
log grows again.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from collector.log.signer_state import Halt, SignerState, StateFile
from collector.store.base import CheckpointRow, Store
from collector.store.witnessed import WitnessedStore
from notary_core import merkle
from notary_core.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from notary_core.errors import BadData, NotaryError, Reason
from notary_core.witness import WitnessVerifier, require_quorum

log = logging.getLogger(__name__)


class SignerRefused(NotaryError):
    """The guard refused to sign: the store's tree does not extend what was signed."""


@dataclass(frozen=True)
class WitnessPolicy:
    verifiers: tuple[WitnessVerifier, ...] = ()
    quorum: int = 0


Probe = Callable[[bytes], Awaitable[dict[str, int]]]
"""Given a signed checkpoint of the empty tree, the size each reachable witness last
cosigned for this log (collector/log/witnesses.py `witness_sizes`)."""


def _b64(root: bytes | None) -> str:
    return "-" if root is None else base64.b64encode(root).decode()


class CheckpointSigner:
    def __init__(
        self, store: Store, signer: NoteSigner, origin: str, state: StateFile | None,
        witnesses: WitnessPolicy = WitnessPolicy(), probe: Probe | None = None, *,
        also: Sequence[NoteSigner] = (), retired: Sequence[NoteVerifier] = (),
    ) -> None:  # fmt: skip
        """`signer` is the log key; `also` cosign each checkpoint beside it (the previous
        log key during a rotation, protocol §6.3); the guard trusts checkpoints under any of
        them and under `retired` keys (what the log signed before a completed rotation)."""
        self.store, self.signer, self.origin = store, signer, origin
        self.signers = (signer, *also)
        self.state, self.witnesses, self.probe = state, witnesses, probe
        self._probed: dict[str, int] | None = None
        self._verifiers = (*(s.verifier for s in self.signers), *retired)
        self._ignored: set[tuple[str, int]] = set()  # warned once each

    async def sign_if_grown(self, now_ns: int) -> CheckpointRow | None:
        """Check the store against every head this signer is bound to; sign and store a
        checkpoint of the current log if it grew. Raises SignerRefused."""
        if self.state is None:
            return await self._sign(None, now_ns)
        async with self.state.locked():
            state = self.state.load()
            if state is not None and state.halt is not None:
                h = state.halt
                reason = Reason(h.reason) if h.reason in Reason.__members__ else Reason.REWRITE
                raise SignerRefused(
                    reason, f"halted since {h.at_utc_ns}: {h.message} (an operator must act: "
                    "docs/collector.md § Signer guard)")  # fmt: skip
            return await self._sign(state, now_ns)

    async def _sign(self, state: SignerState | None, now_ns: int) -> CheckpointRow | None:
        if state is not None and state.origin != self.origin:
            raise SignerRefused(
                Reason.ORIGIN_MISMATCH, f"the signer state is of log {state.origin!r}, not "
                f"{self.origin!r}: a new log needs its own state file")  # fmt: skip
        # §7.3: the index leaf over everything before it goes in first, and the checkpoint
        # is signed at exactly the size that ends in it (never at a size another process
        # has grown the log to since).
        grown = await self.store.append_index_leaf(now_ns)
        size = 0 if grown is None else grown
        root: bytes | None = None
        try:
            try:
                root = await self.store.log_root(size)
            except BadData as exc:  # nodes of its own tree gone: it cannot say what it holds
                raise SignerRefused(Reason.REWRITE, f"the store's tree at size {size} is "
                                    f"damaged: {exc.message}") from None  # fmt: skip
            await self._check(state, size, root)
        except SignerRefused as exc:
            await self._halt(state, exc, size, root, now_ns)
            raise
        last = await self.store.latest_checkpoint()
        if size == 0 or (last is not None and last.size >= size):
            return None
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signers)
        if self.state is not None:
            self.state.save(SignerState(self.origin, size, root, note, now_ns))
        row = CheckpointRow(size, root, note, now_ns)
        await self.store.add_checkpoint(row)
        if self.witnesses.quorum == 0:
            await WitnessedStore(self.store).publish(size, note, now_ns)
        return row

    async def _baselines(self, state: SignerState | None) -> list[tuple[str, int, bytes]]:
        out: list[tuple[str, int, bytes]] = []
        if state is not None and state.size > 0:
            out.append(("this signer's last checkpoint", state.size, state.root))
        rows = (
            ("the store's latest signed checkpoint", await self.store.latest_checkpoint(), 0),
            ("the latest witnessed checkpoint", await self.store.latest_published_checkpoint(),
             self.witnesses.quorum),
        )  # fmt: skip
        for what, row, quorum in rows:
            if row is None:
                continue
            try:
                cp = open_checkpoint(row.note, self._verifiers, origin=self.origin)
                if quorum:
                    require_quorum(row.note, self.witnesses.verifiers, quorum)
            except BadData as exc:  # not authenticated by our keys: it binds us to nothing
                if (what, row.size) not in self._ignored:
                    self._ignored.add((what, row.size))
                    log.warning("ignoring %s at size %d: %s", what, row.size, exc)
                continue
            out.append((what, cp.size, cp.root))
        return out + await self._witnessed_heads()

    async def _witnessed_heads(self) -> list[tuple[str, int, bytes]]:
        if self.probe is None:
            return []
        if self._probed is None:
            empty = Checkpoint(self.origin, 0, merkle.EMPTY_ROOT)
            self._probed = await self.probe(sign_checkpoint(empty, self.signers))
        out: list[tuple[str, int, bytes]] = []
        for name, size in sorted(self._probed.items()):
            if size == 0:
                continue
            what = f"the checkpoint witness {name} cosigned"
            row = await self.store.checkpoint_at(size)
            try:
                if row is None:
                    raise BadData(Reason.NOT_IN_LOG, "the store holds no checkpoint of that size")
                cp = open_checkpoint(row.note, self._verifiers, origin=self.origin)
            except BadData as exc:
                raise SignerRefused(
                    Reason.REWRITE, f"{what} is at size {size}, but {exc.message}: the store "
                    "was rolled back or rewritten",
                ) from None  # fmt: skip
            out.append((what, cp.size, cp.root))
        return out

    async def _check(self, state: SignerState | None, size: int, root: bytes) -> None:
        for what, bsize, broot in await self._baselines(state):
            if bsize > size:
                raise SignerRefused(
                    Reason.REWRITE,
                    f"{what} is at size {bsize} (root {_b64(broot)}), the store holds {size} "
                    f"entries (root {_b64(root)}): truncated or rolled back",
                )
            try:
                proof = [] if bsize == size else await self.store.consistency_proof(bsize, size)
                merkle.verify_consistency(bsize, size, broot, root, proof)
            except BadData as exc:
                raise SignerRefused(
                    Reason.REWRITE, f"the store's tree at size {size} (root {_b64(root)}) does "
                    f"not extend {what} at size {bsize} (root {_b64(broot)}): {exc.message}",
                ) from None  # fmt: skip

    async def _halt(
        self, state: SignerState | None, exc: SignerRefused, size: int, root: bytes | None,
        now: int,
    ) -> None:  # fmt: skip
        log.critical("REFUSING TO SIGN a checkpoint of %s: %s", self.origin, exc.message)
        if self.state is not None:
            base = state or SignerState(self.origin, 0, merkle.EMPTY_ROOT, b"", 0)
            self.state.save(base.halted(Halt(str(exc.reason), exc.message, size, root, now)))
        try:
            await WitnessedStore(self.store).raise_alarm(str(exc.reason), "signer", exc.message,
                                                         now)  # fmt: skip
        except NotaryError as err:  # the halt is in the state file; the row is a courtesy
            log.error("could not record the alarm in the store: %s", err)

    async def problems(self) -> list[str]:
        """Why this signer would not sign now (for /readyz); read-only, empty when fine."""
        out: list[str] = []
        state = None if self.state is None else self.state.load()
        if state is not None and state.halt is not None:
            out.append(f"signer halted: {state.halt.reason}: {state.halt.message}")
        size = await self.store.log_size()
        try:
            await self._check(state, size, await self.store.log_root(size))
        except SignerRefused as exc:
            out.append(f"log not consistent: {exc.message}")
        except BadData as exc:
            out.append(f"log damaged: {exc.message}")
        out += [f"alarm {a.kind} from {a.source}: {a.detail}"
                for a in await WitnessedStore(self.store).open_alarms()]  # fmt: skip
        return out

    async def resume(self, now_ns: int) -> str:
        """The operator's action after a halt: clears it only if the store's tree now extends
        every head again (the right database was restored). Raises SignerRefused if not."""
        if self.state is None:
            return "no signer state configured"
        async with self.state.locked():
            state = self.state.load()
            if state is None or state.halt is None:
                return "the signer is not halted"
            size = await self.store.log_size()
            await self._check(state, size, await self.store.log_root(size))
            self.state.save(SignerState(state.origin, state.size, state.root, state.note,
                                        state.signed_utc_ns))  # fmt: skip
        await WitnessedStore(self.store).clear_alarms("signer", now_ns)
        return f"resumed: the store's tree at size {size} extends every signed head"


async def checkpoint_now(
    store: Store, signer: NoteSigner, origin: str, now_ns: int
) -> CheckpointRow | None:
    """Sign a checkpoint if the log grew, guarded by the store's own signed checkpoints only
    (no state file, no witnesses): for tools and tests; the collector uses CheckpointSigner."""
    return await CheckpointSigner(store, signer, origin, None).sign_if_grown(now_ns)
