"""Assemble a version-2 evidence bundle (notary_core.bundle) from the collector's store.

In ONE transaction: the party's grant chain is checked (revocation is effective on the
next request), the batches of the window (and the ones just before and after it) are read,
an anchored checkpoint covering them is chosen, the device and rule chains are walked back
from the heads its index proves, the inclusion proofs are read at it, and the EXPORT is
logged, and the RFC 3161 tokens stored for the checkpoint (collector/log/timestamps.py)
go in with it. If the newest entry is not anchored yet nothing is logged and NotAnchored (503,
Retry-After) is raised.
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
from notary_core import batch, bundle, cose, heads, logleaf
from notary_core import records as rec
from notary_core.errors import Reason


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
    """A version-2 bundle (docs/protocol.md §12.2): the device and rule chains in full, the
    index proof of their heads and of the device's newest batch at an anchored checkpoint,
    and every in-scope record of each batch meeting the window."""
    chain, grants = await access_flows.usable_chain(
        atx, party, ask.vehicle_id, ask.window, ask.scope, "export", ask.grant, now_ns
    )
    start, end = ask.window
    install = await access_flows.installation(atx, ask.vehicle_id, ask.window)
    device = install.who
    rows = await atx.batches(device, start, end)
    if not rows:
        raise NotFound(AccessReason.NOT_FOUND, "no batch of the vehicle meets the window")
    if rows[-1].last_utc_ns < end:  # show what came after, or that nothing did (§12.3)
        nxt = await atx.batch(device, rows[-1].batch_seq + 1)
        rows += [nxt] if nxt is not None else []
    needed = [*(b.log_index for b in rows), *(r.log_index for r in chain)]
    size, note, ref = await _anchored(atx, max(needed), issuer.retry_after_s)
    covered = size - 1
    rows = [b for b in rows if b.log_index < covered]
    keeper = await atx.store.index_at(atx.tx, size)
    dev_value, dev_sib = keeper.prove(covered, heads.device_key(device))
    veh_value, veh_sib = keeper.prove(covered, heads.vehicle_key(ask.vehicle_id))
    dev_head = heads.DeviceHead.parse(dev_value).chain
    rule_head = heads.VehicleHead.parse(veh_value).rules
    device_chain = await _chain(atx, dev_head, "device")
    rule_chain = await _chain(atx, rule_head, "rule")
    plans = {i: tlog.inclusion_plan(i, size) for i in [*(b.log_index for b in rows), covered]}
    nodes = await atx.store._nodes(
        atx.tx, set().union(*(tlog.plan_nodes(p) for p in plans.values()))
    )
    proof = {i: tuple(tlog.resolve(p, nodes)) for i, p in plans.items()}
    index_leaf = dict(await _leaves(atx, [covered]))[covered]
    stamps = await atx.tx.all("SELECT token FROM timestamps WHERE size = ? ORDER BY tsa",
                              (size,))  # fmt: skip

    evidence: list[bundle.BatchEvidence] = []
    shown: list[bytes] = []
    for b in rows:
        disclosed: tuple[bundle.Disclosed, ...] = ()
        multi: tuple[bytes, ...] = ()
        if b.first_utc_ns <= end and b.last_utc_ns >= start:
            records = batch.split_records_block(b.records_block)
            disclosed, multi = bundle.disclose_batch(records, b.salt_key, ask.scope)
            shown.extend(d.record for d in disclosed if start <= rec.decode(d.record).utc_ns <= end)
        evidence.append(bundle.BatchEvidence(b.signed_header, b.log_index, proof[b.log_index],
                                             disclosed, multi))  # fmt: skip
    bundle_id = "b-" + secrets.token_urlsafe(12)
    decoder = issuer.decoder
    views = {} if decoder is None else decoder.views(shown, grants[-1].signals, ask.event)
    last = grants[-1]
    eb = bundle.EvidenceBundle(
        bundle_id=bundle_id, issued_utc_ns=now_ns, log_origin=issuer.origin,
        log_vkey=issuer.log_vkey, collector_key=issuer.signer.public.spki(),
        request=bundle.Request(ask.vehicle_id, device, start, end, ask.scope, last.purpose, party,
                               ask.event),
        device_key=b"", device_events=(), vehicle_events=(), grants=tuple(r.token for r in chain),
        grant_events=(), batches=tuple(evidence), checkpoint=note, anchor=ref, views=views,
        version=2, device_chain=device_chain, rule_chain=rule_chain,
        index=bundle.IndexProof(index_leaf, proof[covered], dev_value, dev_sib, veh_value,
                                veh_sib),
        timestamps=tuple(bytes(r[0]) for r in stamps),
    )  # fmt: skip
    data: bytes = eb.sign(issuer.signer)
    await atx.log(logleaf.AccessEvent(
        logleaf.AccessAction.EXPORT, ask.vehicle_id, party, last.jti, start, end, now_ns,
        f"{bundle_id}; {len(shown)} records; {','.join(ask.scope)}"[:2000]))  # fmt: skip
    return data


async def _chain(atx: AccessTx, head: heads.ChainHead, kind: str) -> tuple[bytes, ...]:
    """The leaves of a chain, oldest first, walked back from its head along its links."""
    out: list[bytes] = []
    index = head.last_index
    while index is not None:
        ((_, leaf),) = await _leaves(atx, [index])
        out.append(leaf)
        e = logleaf.parse_leaf(leaf)
        link = None
        if isinstance(e, logleaf.RegistryEvent):
            link = e.link
        elif isinstance(e, logleaf.AccessEvent):
            link = e.device_link if kind == "device" else e.rule_link
        if link is None:
            raise NotFound(Reason.INDEX_MISMATCH, f"log entry {index} is not on the {kind} chain")
        index = link.prev_index
    return tuple(reversed(out))


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
