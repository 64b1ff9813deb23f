-- The AirVantage connector's own outbox (alerts waiting to go up): the outbox's columns.
CREATE TABLE outbox_airvantage (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    stream        TEXT NOT NULL,
    event_id      TEXT NOT NULL UNIQUE,
    telemetry_key TEXT,
    created       INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX outbox_airvantage_by_stream ON outbox_airvantage (stream, seq);
