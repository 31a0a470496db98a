"""Assemble an evidence bundle (notary_core.bundle) from the collector's store.

In ONE transaction: the party's grant chain is checked (revocation is effective on the
next request), the batches of the window (and the one before it) are read, the device,
vehicle and grant entries are gathered, an anchored checkpoint covering all of them is
chosen, their inclusion proofs are read at it, and the EXPORT is logged. If the newest
entry is not anchored yet nothing is logged and NotAnchored (503, Retry-After) is raised.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from collector.access import flows as access_flows
from collector.access.rules import AccessReason, NotAnchored, NotFound
from collector.access.signals import SignalDecoder
from collector.access.store import AccessTx
from collector.log import tree as tlog
from notary_core import batch, bundle, cose, logleaf
from notary_core.errors import Reason
from notary_core.header import SignedHeader


@dataclass(frozen=True)
class Ask:
    vehicle_id: str
    window: tuple[int, int]
    scope: tuple[str, ...]
    grant: str | None = None
    event: tuple[int, str] | None = None


@dataclass(frozen=True)
class Issuer:
    """What the collector signs with and names in the bundle."""

    signer: cose.Signer
    origin: str
    log_vkey: str
    decoder: SignalDecoder | None
    retry_after_s: int


async def build(atx: AccessTx, party: str, ask: Ask, issuer: Issuer, now_ns: int) -> bytes:
    chain, grants = await access_flows.usable_chain(
        atx, party, ask.vehicle_id, ask.window, ask.scope, "export", ask.grant, now_ns
    )
    start, end = ask.window
    install = await access_flows.installation(atx, ask.vehicle_id, ask.window)
    device = install.who
    owners = [p for p in await atx.periods("ownerships", ask.vehicle_id)
              if p.who == grants[0].iss and p.start_ns <= start and end <= p.end_ns]  # fmt: skip
    rows = await atx.batches(device, start, end)
    if not rows:
        raise NotFound(AccessReason.NOT_FOUND, "no batch of the vehicle meets the window")
    keys = await atx.device_keys(device)
    device_idx = [k.log_index for k in keys]
    if any(k.revoked_utc_ns is not None for k in keys):
        device_idx += [i for i, leaf in await atx.registry_leaves(min(device_idx))
                       if logleaf.RegistryEvent.from_leaf(leaf).device_id == device]  # fmt: skip
    device_idx = sorted(set(device_idx))
    vehicle_idx = [install.log_index, owners[0].log_index]
    grant_idx = [r.log_index for r in chain] + [r.revoke_index for r in chain
                                                if r.revoke_index is not None]  # fmt: skip
    needed = [*device_idx, *vehicle_idx, *grant_idx, *(b.log_index for b in rows)]
    size, note, ref = await _anchored(atx, max(needed), issuer.retry_after_s)
    leaves = dict(await _leaves(atx, [*device_idx, *vehicle_idx, *grant_idx]))
    plans = {i: tlog.inclusion_plan(i, size) for i in needed}
    nodes = await atx.store._nodes(
        atx.tx, set().union(*(tlog.plan_nodes(p) for p in plans.values()))
    )
    proof = {i: tuple(tlog.resolve(p, nodes)) for i, p in plans.items()}

    def entry(i: int) -> bundle.LoggedEntry:
        return bundle.LoggedEntry(leaves[i], i, proof[i])

    evidence: list[bundle.BatchEvidence] = []
    shown: list[bytes] = []
    for b in rows:
        records = batch.split_records_block(b.records_block)
        disclosed, multi = bundle.disclose(records, b.salt_key, ask.window, ask.scope)
        shown.extend(d.record for d in disclosed)
        evidence.append(bundle.BatchEvidence(b.signed_header, b.log_index, proof[b.log_index],
                                             disclosed, multi))  # fmt: skip
    signed_by = SignedHeader.parse(rows[-1].signed_header).header.key_id
    key = next((k for k in keys if k.key_id == signed_by), keys[-1])
    bundle_id = "b-" + secrets.token_urlsafe(12)
    decoder = issuer.decoder
    views = {} if decoder is None else decoder.views(shown, grants[-1].signals, ask.event)
    last = grants[-1]
    eb = bundle.EvidenceBundle(
        bundle_id=bundle_id, issued_utc_ns=now_ns, log_origin=issuer.origin,
        log_vkey=issuer.log_vkey, collector_key=issuer.signer.public.spki(),
        request=bundle.Request(ask.vehicle_id, device, start, end, ask.scope, last.purpose, party),
        device_key=key.spki, device_events=tuple(entry(i) for i in device_idx),
        vehicle_events=tuple(entry(i) for i in vehicle_idx),
        grants=tuple(r.token for r in chain), grant_events=tuple(entry(i) for i in grant_idx),
        batches=tuple(evidence), checkpoint=note, anchor=ref,
        views=views,
    )  # fmt: skip
    data: bytes = eb.sign(issuer.signer)
    await atx.log(logleaf.AccessEvent(
        logleaf.AccessAction.EXPORT, ask.vehicle_id, party, last.jti, start, end, now_ns,
        f"{bundle_id}; {len(shown)} records; {','.join(ask.scope)}"[:2000]))  # fmt: skip
    return data


async def _leaves(atx: AccessTx, indices: Sequence[int]) -> list[tuple[int, bytes]]:
    marks = ",".join("?" * len(indices))
    rows = await atx.tx.all(f"SELECT idx, leaf FROM tlog_leaves WHERE idx IN ({marks})",  # noqa: S608
                            list(indices))  # fmt: skip
    return [(int(r[0]), bytes(r[1])) for r in rows]


async def _anchored(
    atx: AccessTx, newest: int, retry_after_s: int
) -> tuple[int, bytes, bundle.AnchorRef]:
    """The newest mined anchor (final first) whose checkpoint holds entry `newest`; the
    checkpoint as published, with its witnesses' cosignatures."""
    rows = await atx.tx.all(
        "SELECT a.size, a.root, a.tx_hash, a.block_number, a.block_hash, a.chain_id, "
        "a.contract, a.updated_utc_ns, c.cosigned_note, a.block_time FROM anchors a JOIN "
        "checkpoints c ON c.size = a.size WHERE a.status IN ('sent', 'final') AND "
        "a.block_number IS NOT NULL AND c.cosigned_note IS NOT NULL "
        "AND a.size > ? ORDER BY CASE a.status WHEN 'final' THEN 0 ELSE 1 END, a.size DESC",
        (newest,),
    )
    if not rows:
        raise NotAnchored(
            f"log entry {newest} is not yet in an anchored checkpoint; retry after "
            f"{retry_after_s} s", retry_after_s)  # fmt: skip
    r = rows[0]
    contract = bytes.fromhex(str(r[6]).removeprefix("0x"))
    if len(contract) != 20:
        raise NotFound(Reason.ANCHOR_MISMATCH, "the anchor's contract address is malformed")
    # block_time: the block's timestamp as the chain node reported it (0 = not recorded)
    ref = bundle.AnchorRef(int(r[5]), contract, bytes(r[2]), int(r[3]), bytes(r[4]), int(r[0]),
                           bytes(r[1]), int(r[9] or 0))  # fmt: skip
    return int(r[0]), bytes(r[8]), ref
