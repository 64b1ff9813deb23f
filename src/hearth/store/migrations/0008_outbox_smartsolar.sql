-- The SMARTSolar connector's own outbox (seed 002's store-and-forward telemetry): the outbox's columns.
CREATE TABLE outbox_smartsolar (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    stream        TEXT NOT NULL,
    event_id      TEXT NOT NULL UNIQUE,
    telemetry_key TEXT,
    created       INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX outbox_smartsolar_by_stream ON outbox_smartsolar (stream, seq);
