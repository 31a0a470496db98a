"""Every bound on a decoded length or count, in one place, each with its reason.

A decoder checks a length against these *before* it allocates or loops, so a hostile
input costs at most the bound. Changing a bound that narrows what is accepted is a format
change (docs/protocol.md §Limits).
"""

from __future__ import annotations

HASH_SIZE = 32
"""SHA-256 output; every hash in the protocol is this size."""

SALT_SIZE = 16
"""Per-record salt: 128 bits defeats brute force of low-entropy values (speed, position)."""

SALT_KEY_SIZE = 32
"""Per-batch salt key (HMAC-SHA256 key)."""

MAX_STREAM_NAME = 32
"""`can0`, `gnss`, `bridge:<board id as 8 hex>`: 32 ASCII characters is ample."""

MAX_CAN_DATA = 64
"""CAN FD carries at most 64 data bytes (ISO 11898-1:2015)."""

MAX_NMEA_SENTENCE = 1024
"""NMEA 0183 caps a sentence at 82 characters; real receivers emit longer proprietary
sentences ($PUBX, $PSRF), so we keep up to 1 KiB raw and flag, not truncate."""

MAX_BRIDGE_FRAME = 1024
"""The firmware bridge's largest decoded frame (firmware_bridge/SPEC.md) fits."""

MAX_EVENT_DETAIL = 1024
"""Agent event detail text (UTF-8)."""

MAX_RECORD_SIZE = 2048
"""Any canonical record; the u16 length prefix of the records block could say 65535."""

MAX_RECORDS_PER_BATCH = 65536
"""A 1 s window of four saturated 1 Mbit/s CAN buses is ~30,000 frames; 2x headroom."""

MAX_BATCH_PAYLOAD = 8 * 1024 * 1024
"""A sealed batch on the wire: 65,536 records of up to ~100 bytes plus header fits in 8 MiB;
MQTT brokers are configured with the same message size limit (deploy/mosquitto)."""

MAX_HEADER_SIZE = 16 * 1024
"""A signed batch header (COSE_Sign1): ~300 bytes plus per-stream counters."""

MAX_STREAMS_PER_BATCH = 64
"""Distinct streams counted in one header (buses, serial boards, GNSS, agent)."""

MAX_TEXT_FIELD = 256
"""Device id, agent version and other short header strings."""

MAX_PROOF_NODES = 64
"""An RFC 9162 inclusion or consistency proof for a tree of up to 2**63 leaves."""

MAX_MULTIPROOF_NODES = 4 * 65536
"""A multiproof never needs more nodes than twice the leaves of the tree it proves into."""

MAX_TREE_SIZE = 2**63 - 1
"""Tree sizes and indices are u64 on the wire and must fit a signed 64-bit SQL integer."""

MAX_CHECKPOINT_SIZE = 8 * 1024
"""A signed note with a few signatures and extension lines."""

MAX_CHECKPOINT_SIGNATURES = 16
"""Signature lines accepted on one checkpoint (collector key, witnesses)."""

MAX_WITNESS_PROOF_LINES = 63
"""C2SP tlog-witness: a client MUST NOT send more than 63 consistency proof lines (a proof
in a tree of up to 2**63 leaves)."""

MAX_WITNESS_REQUEST = MAX_CHECKPOINT_SIZE + 4 * 1024
"""An add-checkpoint body: the old size line, at most 63 proof lines of 45 bytes (base64 of
32 bytes and a newline), a blank line and a signed note."""

MAX_COSIGNATURE_TIMESTAMP = 2**63 - 1
"""C2SP tlog-cosignature: a cosignature's timestamp MUST NOT exceed 2**63 - 1."""

MAX_TSA_TOKEN_SIZE = 64 * 1024
"""An RFC 3161 token: a TSTInfo, one signature and the TSA's certificate chain (~1-6 KiB
from real TSAs); 64 KiB leaves room for a long chain, not for a payload."""

MAX_TSA_TOKENS = 16
"""Tokens in one bundle (§12.2 key 13): one per TSA the collector asks, a handful at most."""
