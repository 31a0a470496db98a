"""Pure delivery scheduler: which spooled batches to publish next, within an in-flight window.

Unacknowledged batches from before the current connection are the backlog, re-sent oldest
first; batches sealed since are live. Free window slots alternate between the two queues,
so a long backlog drains in order without starving live data (and vice versa). A batch
leaves the schedule only when its signed receipt is accepted (`acked`).

After a (re)connection the collector may not be subscribed yet (it reconnects to a
restarted broker on its own schedule), so what is sent then can be lost at the broker.
Until the first receipt arrives on the new connection, every batch sent is re-sent after
a short timeout that doubles for that batch each time (1 s, 2 s, 4 s ... up to the receipt
timeout) instead of waiting the whole receipt timeout (issue 16 §1); batches sent after
that receipt wait the receipt timeout.
"""

from __future__ import annotations

from collections import deque


class Delivery:
    def __init__(self, window: int, receipt_timeout_ns: int, probe_timeout_ns: int = 10**9) -> None:
        if window <= 0:
            raise ValueError("the in-flight window must be positive")
        self.window = window
        self.receipt_timeout_ns = receipt_timeout_ns
        self.probe_timeout_ns = probe_timeout_ns
        self._timeout_ns = receipt_timeout_ns  # for a first send: probe until a receipt
        self._timeouts: dict[int, int] = {}  # seq -> its own (doubling) probe timeout
        self._backlog: deque[int] = deque()
        self._live: deque[int] = deque()
        self._inflight: dict[int, int] = {}  # seq -> sent at (monotonic ns)
        self._live_turn = True

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    @property
    def waiting(self) -> int:
        return len(self._backlog) + len(self._live)

    def reconnected(self, unacked: list[int]) -> None:
        """A new connection: every unacknowledged batch (ascending) is backlog again."""
        self._inflight.clear()
        self._live.clear()
        self._backlog = deque(sorted(unacked))
        self._timeout_ns = min(self.probe_timeout_ns, self.receipt_timeout_ns)
        self._timeouts.clear()

    def in_flight(self) -> frozenset[int]:
        return frozenset(self._inflight)

    def sealed(self, seq: int) -> None:
        self._live.append(seq)

    def acked(self, seq: int) -> None:
        """A receipt: the collector is listening, so back to the full receipt timeout."""
        self._inflight.pop(seq, None)
        self._timeouts.pop(seq, None)
        self._timeout_ns = self.receipt_timeout_ns

    def forget(self, seqs: set[int]) -> None:
        """Batches the spool discarded (size cap): never send them."""
        self._backlog = deque(s for s in self._backlog if s not in seqs)
        self._live = deque(s for s in self._live if s not in seqs)
        for s in seqs:
            self._inflight.pop(s, None)
            self._timeouts.pop(s, None)

    def next_batch(self, now_ns: int) -> int | None:
        """The next seq to publish now, or None (window full or nothing to send)."""
        limit = self.receipt_timeout_ns
        timeouts = self._timeouts
        expired = [s for s, t in self._inflight.items() if now_ns - t >= timeouts.get(s, limit)]
        for s in sorted(expired, reverse=True):
            del self._inflight[s]
            self._backlog.appendleft(s)
            timeouts[s] = min(2 * timeouts[s], limit) if s in timeouts else limit
        if len(self._inflight) >= self.window:
            return None
        queues = (self._live, self._backlog) if self._live_turn else (self._backlog, self._live)
        for q in queues:
            if q:
                seq = q.popleft()
                self._live_turn = q is not self._live
                self._inflight[seq] = now_ns
                if self._timeout_ns < self.receipt_timeout_ns:
                    self._timeouts.setdefault(seq, self._timeout_ns)
                return seq
        return None
