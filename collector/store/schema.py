"""Schema migrations for both backends, written once with two type spellings.

Each migration is applied in its own transaction and recorded in schema_version, so an
upgrade is resumable and a database is never half-migrated. Append, never edit.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE tlog_meta (id INTEGER PRIMARY KEY, size {BIG} NOT NULL);
    INSERT INTO tlog_meta (id, size) VALUES (1, 0);
    CREATE TABLE tlog_leaves (idx {BIG} PRIMARY KEY, leaf {BLOB} NOT NULL,
        added_utc_ns {BIG} NOT NULL);
    CREATE TABLE tlog_nodes (level INTEGER NOT NULL, idx {BIG} NOT NULL, hash {BLOB} NOT NULL,
        PRIMARY KEY (level, idx)) {NOROWID};
    CREATE TABLE checkpoints (size {BIG} PRIMARY KEY, root {BLOB} NOT NULL, note {BLOB} NOT NULL,
        signed_utc_ns {BIG} NOT NULL);
    CREATE TABLE batches (device_id TEXT NOT NULL, batch_seq {BIG} NOT NULL,
        header_hash {BLOB} NOT NULL, prev_header_hash {BLOB} NOT NULL,
        signed_header {BLOB} NOT NULL, salt_key {BLOB} NOT NULL, records_z {BLOB} NOT NULL,
        record_count INTEGER NOT NULL, first_utc_ns {BIG} NOT NULL, last_utc_ns {BIG} NOT NULL,
        received_utc_ns {BIG} NOT NULL, log_index {BIG} NOT NULL UNIQUE,
        PRIMARY KEY (device_id, batch_seq));
    CREATE INDEX batches_by_time ON batches (device_id, first_utc_ns);
    CREATE TABLE gaps (device_id TEXT NOT NULL, first_seq {BIG} NOT NULL,
        last_seq {BIG} NOT NULL, opened_utc_ns {BIG} NOT NULL, closed_utc_ns {BIG});
    CREATE INDEX gaps_by_device ON gaps (device_id, first_seq);
    CREATE TABLE quarantine (id {SERIAL}, received_utc_ns {BIG} NOT NULL, topic TEXT NOT NULL,
        device_id TEXT, batch_seq {BIG}, reason TEXT NOT NULL, detail TEXT NOT NULL,
        payload {BLOB} NOT NULL);
    CREATE INDEX quarantine_by_reason ON quarantine (reason, id);
    CREATE TABLE device_keys (device_id TEXT NOT NULL, key_id {BLOB} NOT NULL,
        spki {BLOB} NOT NULL, not_before_ns {BIG} NOT NULL, not_after_ns {BIG},
        revoked_utc_ns {BIG}, log_index {BIG} NOT NULL, PRIMARY KEY (device_id, key_id));
    CREATE TABLE anchors (size {BIG} PRIMARY KEY, root {BLOB} NOT NULL,
        prev_root {BLOB} NOT NULL, status TEXT NOT NULL, tx_hash {BLOB}, block_number {BIG},
        block_hash {BLOB}, chain_id {BIG}, contract TEXT, attempts INTEGER NOT NULL,
        updated_utc_ns {BIG} NOT NULL);
    """,
    # 2: access: parties, vehicles, installations, ownerships, requests, grants, nonces
    """
    CREATE TABLE parties (thumbprint TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
        public_key {BLOB} NOT NULL, added_utc_ns {BIG} NOT NULL);
    CREATE TABLE vehicles (vehicle_id TEXT PRIMARY KEY, label TEXT NOT NULL,
        added_utc_ns {BIG} NOT NULL);
    CREATE TABLE installs (vehicle_id TEXT NOT NULL, device_id TEXT NOT NULL,
        start_ns {BIG} NOT NULL, end_ns {BIG} NOT NULL, log_index {BIG} NOT NULL UNIQUE,
        PRIMARY KEY (vehicle_id, device_id, start_ns));
    CREATE TABLE ownerships (vehicle_id TEXT NOT NULL, owner TEXT NOT NULL,
        start_ns {BIG} NOT NULL, end_ns {BIG} NOT NULL, log_index {BIG} NOT NULL UNIQUE,
        PRIMARY KEY (vehicle_id, start_ns));
    CREATE TABLE access_requests (id TEXT PRIMARY KEY, vehicle_id TEXT NOT NULL,
        party TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,
        created_utc_ns {BIG} NOT NULL, log_index {BIG} NOT NULL, grant_jti TEXT);
    CREATE INDEX access_requests_by_vehicle ON access_requests (vehicle_id, status);
    CREATE TABLE grants (jti TEXT PRIMARY KEY, vehicle_id TEXT NOT NULL, issuer TEXT NOT NULL,
        grantee TEXT NOT NULL, parent TEXT, token TEXT NOT NULL, log_index {BIG} NOT NULL,
        revoked_utc_ns {BIG}, revoke_index {BIG});
    CREATE INDEX grants_by_parent ON grants (parent);
    CREATE TABLE access_log (log_index {BIG} PRIMARY KEY, vehicle_id TEXT NOT NULL,
        action INTEGER NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL,
        at_utc_ns {BIG} NOT NULL);
    CREATE INDEX access_log_by_vehicle ON access_log (vehicle_id, log_index);
    CREATE TABLE nonces (keyid TEXT NOT NULL, nonce TEXT NOT NULL, expires_ns {BIG} NOT NULL,
        PRIMARY KEY (keyid, nonce));
    CREATE INDEX nonces_by_expiry ON nonces (expires_ns);
    """,
    # 3: the anchor's block timestamp, the time the chain vouches for (evidence reports it)
    """
    ALTER TABLE anchors ADD COLUMN block_time {BIG};
    """,
    # 4: witnesses (docs/collector.md § Witnesses): a checkpoint is published (API, anchor,
    # bundles) once a quorum cosigned it; what each witness last cosigned; open alarms.
    # Checkpoints signed before witnesses existed were published as signed.
    """
    ALTER TABLE checkpoints ADD COLUMN cosigned_note {BLOB};
    ALTER TABLE checkpoints ADD COLUMN published_utc_ns {BIG};
    UPDATE checkpoints SET cosigned_note = note, published_utc_ns = signed_utc_ns;
    CREATE TABLE cosignatures (size {BIG} NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL,
        received_utc_ns {BIG} NOT NULL, PRIMARY KEY (size, witness));
    CREATE TABLE witness_state (witness TEXT PRIMARY KEY, size {BIG} NOT NULL,
        updated_utc_ns {BIG} NOT NULL);
    CREATE TABLE alarms (id {SERIAL}, kind TEXT NOT NULL, source TEXT NOT NULL,
        detail TEXT NOT NULL, raised_utc_ns {BIG} NOT NULL, cleared_utc_ns {BIG});
    CREATE INDEX alarms_open ON alarms (cleared_utc_ns, source);
    """,
    # 5: protocol v2: the head of every entry chain (docs/protocol.md §7.1.1), advanced with
    # each linked event in the transaction that appends it
    """
    CREATE TABLE chains (chain TEXT PRIMARY KEY, n {BIG} NOT NULL, last_index {BIG} NOT NULL,
        last_hash {BLOB} NOT NULL);
    """,
    # 6: RFC 3161 tokens over anchored checkpoints (docs/collector.md § Timestamps), one per
    # checkpoint and TSA, put into the bundles of that checkpoint (protocol §12.2 key 13)
    """
    CREATE TABLE timestamps (size {BIG} NOT NULL, tsa TEXT NOT NULL, token {BLOB} NOT NULL,
        gen_time_ns {BIG} NOT NULL, received_utc_ns {BIG} NOT NULL, PRIMARY KEY (size, tsa));
    """,
    # 7: holes not yet gaps (docs/collector.md § Gaps): with a gap grace (several collectors,
    # where consecutive batches of a device arrive out of order), a hole is kept pending and
    # is a gap only if it outlives the grace; filled before, it leaves no record
    """
    ALTER TABLE gaps ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX gaps_pending ON gaps (pending, opened_utc_ns);
    """,
    # 8: quarantine quotas (collector/limits.py QUARANTINE_*_PER_DAY): per source and UTC
    # day, what was kept as rows and what was only counted past the quota
    """
    CREATE TABLE quarantine_quota (source TEXT NOT NULL, day {BIG} NOT NULL,
        kept_rows {BIG} NOT NULL, kept_bytes {BIG} NOT NULL, dropped_rows {BIG} NOT NULL,
        dropped_bytes {BIG} NOT NULL, last_reason TEXT NOT NULL, PRIMARY KEY (source, day));
    """,
    # 9: a party's key revoked or rotated out by the operator (docs/access.md § Party keys):
    # when, its successor (a rotation), and the log entry that says so (a registry event on
    # the party's chain, protocol §7.1.2); a request signed by it is refused from then on
    """
    ALTER TABLE parties ADD COLUMN revoked_utc_ns {BIG};
    ALTER TABLE parties ADD COLUMN successor TEXT;
    ALTER TABLE parties ADD COLUMN revoke_index {BIG};
    """,
)

SQLITE = {
    "BIG": "INTEGER",
    "BLOB": "BLOB",
    "NOROWID": "WITHOUT ROWID",
    "SERIAL": "INTEGER PRIMARY KEY AUTOINCREMENT",
}
POSTGRES = {
    "BIG": "BIGINT",
    "BLOB": "BYTEA",
    "NOROWID": "",
    "SERIAL": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}


def statements(migration: str, dialect: dict[str, str]) -> list[str]:
    return [s.strip() for s in migration.format(**dialect).split(";") if s.strip()]
