"""Bounds and defaults of the edge agent, each with its reason, in one place."""

from __future__ import annotations

DEFAULT_WINDOW_S = 1.0
"""A batch closes at least every second: at most ~1 s of data is lost when power fails."""

DEFAULT_MAX_RECORDS = 10_000
"""Also close at N records: bounds a batch's memory and size (notary_core allows 65,536)."""

CHUNK_RECORDS = 512
"""A source hands records to the batcher in chunks: one queue hop per chunk, not per frame."""

CHUNK_INTERVAL_S = 0.02
"""...or every 20 ms, so a quiet bus still reaches the batcher promptly."""

CAPTURE_QUEUE_CHUNKS = 4096
"""Chunks waiting for the batcher (~2M records): a source blocks rather than drop."""

DEFAULT_INFLIGHT = 16
"""Batches published and awaiting their receipt: bounds broker queues and re-send bursts."""

DEFAULT_RECEIPT_TIMEOUT_S = 30.0
"""A batch with no receipt after this long is sent again (the collector is idempotent)."""

DEFAULT_BACKOFF_MIN_S = 0.5
DEFAULT_BACKOFF_MAX_S = 30.0
"""Reconnect backoff: doubles from min to max; a fleet does not hammer a recovering broker."""

DEFAULT_SPOOL_MAX_BYTES = 1 << 30
"""Every batch kept on disk; past it acknowledged ones are pruned early, then the oldest
unacknowledged ones are discarded and counted."""

DEFAULT_RETENTION_S = 24 * 3600.0
"""Acknowledged batches stay this long (local inspection), then are pruned."""

DEFAULT_MIN_FREE_BYTES = 16 << 20
"""Refuse to start when the spool's filesystem has less free space than this."""

CLOCK_STEP_THRESHOLD_NS = 100_000_000
"""A jump of UTC against the monotonic clock larger than 100 ms is recorded as a step."""

DEFAULT_CHRONY = "127.0.0.1"
"""Where `chronyc -h` asks chronyd for its tracking: its UDP command port on localhost, which
chronyd opens to monitoring commands by default (its Unix socket, /run/chrony/chronyd.sock,
admits only root and the chrony user)."""

DEFAULT_CLOCK_POLL_S = 1.0
"""Read the clock discipline this often: a batch (1 s) is labelled with what held during it."""

CHRONYC_TIMEOUT_S = 2.0
"""A chronyc that does not answer within this is skipped (the kernel's word is used)."""

MAX_CONFIG_BYTES = 1 << 20
"""A config file larger than this is a mistake, not a configuration."""

AGENT_STREAM = "agent"
"""Stream of the agent's own events (start, clock steps, spool discards)."""

SPOOL_WARN_FRACTIONS = (0.5, 0.8, 0.95)
"""Log a warning when the spool crosses these fractions of spool.max_bytes."""

PROBE_TIMEOUT_S = 1.0
"""After a (re)connection, re-send unreceipted batches after 1 s, doubling, until a receipt."""
