-- The cloud outbox (issue 8): what the cloud must hear, kept until it has acknowledged it.

-- One row per record. `seq` is the gateway's sequence number (AUTOINCREMENT: never reused, even after the
-- rows before it are acknowledged and deleted), `event_id` the idempotency key the cloud deduplicates on.
-- `telemetry_key` is set on telemetry rows only (a device's state): when the outbox is full, older telemetry
-- of the same key is dropped first; rows without it (executions, events, alerts, command results) never are.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    stream        TEXT NOT NULL,
    event_id      TEXT NOT NULL UNIQUE,
    telemetry_key TEXT,
    created       INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX outbox_by_stream ON outbox (stream, seq);
CREATE INDEX outbox_telemetry ON outbox (telemetry_key, seq) WHERE telemetry_key IS NOT NULL;

-- Commands the cloud pushed, by their id, so that one delivered twice runs once; `result` is what we answered.
CREATE TABLE inbound_commands (
    id       TEXT PRIMARY KEY,
    received INTEGER NOT NULL,
    result   TEXT
);
