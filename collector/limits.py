"""Bounds of the collector (the core's limits bound the formats; these bound the service)."""

from __future__ import annotations

from notary_core import limits as core

MAX_QUARANTINE_PAYLOAD = core.MAX_BATCH_PAYLOAD
"""Bytes kept per quarantined input: an oversize payload is kept truncated to this, with
its true size in the detail, so a flood of huge garbage cannot fill the disk faster than
the broker's own message limit allows."""

QUARANTINE_ROWS_PER_DAY = 64
QUARANTINE_BYTES_PER_DAY = 4 * 1024 * 1024
"""Quarantine kept per source (the publishing device named by the topic, which the broker's
ACL authenticates) and UTC day, for rejections and for replays separately. Past either
bound an input is only counted (quarantine_quota.dropped_*), so one device sending garbage
cannot fill the disk or bury the others' rejections; an honest device's spool damage (a
few dozen FORKs and a CHAIN_BROKEN) stays within it. A single input may cross the byte
bound (it is admitted while the day's bytes are under it)."""

MAX_BODY = 64 * 1024
"""HTTP request bodies (the largest we take is a grant, 8 KiB, in JSON), counted as they
arrive, chunked or not: refused with 413 before the application sees any of it."""

MAX_HEADERS = 16 * 1024
"""HTTP request line and headers together (ours are under 2 KiB): larger is 431, and
uvicorn's h11 parser is given the same bound so it never buffers more."""

PARTY_RATE_PER_S = 2.0
PARTY_BURST = 120
"""Default bucket of signed requests per party (settings [access]): every signed request of
a party may add an access-log entry (READ, REFUSED, requests, grants)."""

MAX_TOPIC = 256
"""vn/v1/dev/<64-char device id>/batch is ~80 characters."""

MAX_PROOF_SPAN = core.MAX_TREE_SIZE
"""Tree sizes asked of the API are checked against the log itself."""

INGEST_QUEUE = 256
"""Messages waiting for the single ingest task: the collector's MQTT Receive Maximum (the
broker sends no more unacknowledged QoS 1 batches; paho's thread never waits), and the
bound beyond which QoS 0 batches are dropped (the agent re-sends them)."""

GROUP_MAX_BATCHES = 64
"""Messages committed in one transaction (group commit): what is already queued when the
ingest task is free, never waiting for more. 64 x 1,000-record batches is ~0.25 s of
verification, the worst added latency of a receipt under full load."""

GROUP_MAX_BYTES = 32 * 1024 * 1024
"""Payload bytes per group, a compressed payload counted at its declared inflated length
(docs/protocol.md §5.1): bounds the memory a group holds (4 maximal 8 MiB batches)."""

GROUP_GAP_GRACE_S = 10.0
"""In a shared group consecutive batches of one device go to different collectors and may
commit out of order (milliseconds apart); an agent re-sends a batch whose receipt is late
after its receipt timeout. A hole filled within this grace is no gap (no record): one that
outlives it is, as data is then missing."""

DEFAULT_ANCHOR_INTERVAL_S = 60.0
DEFAULT_CHECKPOINT_INTERVAL_S = 1.0
DEFAULT_CONFIRMATIONS = 12
