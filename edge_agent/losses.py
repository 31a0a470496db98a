"""Pure bookkeeping of losses the collector must learn of exactly once (issue 16 §1).

A loss report (SPOOL_DISCARD, SPOOL_LOST) is an agent event; the spool's ledger notes the
batch that carries it, found here by scanning a closed batch's `agent` records. Records
read but never sealed by a previous run are found from the sequence numbers the spool
recorded: handed out by the sources vs placed in committed batches.
"""

from __future__ import annotations

from edge_agent.limits import AGENT_STREAM
from edge_agent.spool import Loss
from notary_core import records as rec

_REPORTS = (int(rec.EventType.SPOOL_DISCARD), int(rec.EventType.SPOOL_LOST))
_AGENT = AGENT_STREAM.encode()
# docs/protocol.md §2: kind at offset 1, stream length at 27, the stream name from 28.
_KIND, _LEN, _NAME = 1, 27, 28


def carried_reports(records: list[bytes]) -> tuple[tuple[int, int], ...]:
    """The (event type, first batch_seq) of every loss report among the records."""
    out: list[tuple[int, int]] = []
    end = _NAME + len(_AGENT)
    for r in records:
        if r[_KIND] != rec.Kind.EVENT or r[_LEN] != len(_AGENT) or r[_NAME:end] != _AGENT:
            continue
        body = rec.decode(r).body
        if isinstance(body, rec.AgentEvent) and int(body.event) in _REPORTS:
            out.append((int(body.event), body.b))
    return tuple(out)


def loss_event(loss: Loss) -> tuple[rec.EventType, int, int, str]:
    """The event reporting a loss: a = batches, b = first batch_seq, detail = what."""
    return loss.kind, loss.batches, loss.first_seq, loss.detail


def unsealed(issued: dict[str, int], sealed: dict[str, int]) -> list[tuple[str, int, int]]:
    """(stream, records read but never sealed, first such seq), as far as the agent knows:
    `issued` was recorded at the last commit, so records read after it are not counted."""
    out = []
    for stream, n in sorted(issued.items()):
        first = sealed.get(stream, 0)
        if n > first:
            out.append((stream, n - first, first))
    return out
