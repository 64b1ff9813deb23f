-- The execution journal. A row is written (and synced) before anything is sent to a radio, and every
-- command's state before it is handed to the driver: after a crash, what was in flight is known.
CREATE TABLE executions (
    id                   TEXT PRIMARY KEY,
    state                TEXT NOT NULL,
    failure              INTEGER NOT NULL DEFAULT 0,
    internal             INTEGER NOT NULL DEFAULT 0,
    owner                TEXT NOT NULL,
    source               TEXT NOT NULL,
    type                 INTEGER NOT NULL,
    sub_type             INTEGER NOT NULL,
    label                TEXT NOT NULL,
    metadata             TEXT,
    action_group_oid     TEXT,
    trigger_id           TEXT,
    high_priority        INTEGER NOT NULL DEFAULT 0,
    start_time           INTEGER NOT NULL,
    effective_start_time INTEGER,
    end_time             INTEGER,
    action_group         TEXT NOT NULL    -- JSON, sensitive parameters masked
);
CREATE INDEX executions_unfinished ON executions (state) WHERE state NOT IN ('COMPLETED', 'FAILED');
CREATE INDEX executions_by_start ON executions (start_time);

CREATE TABLE execution_commands (
    exec_id    TEXT NOT NULL,
    rank       INTEGER NOT NULL,
    device_url TEXT NOT NULL,
    name       TEXT NOT NULL,
    -- JSON. Sensitive values are kept in clear only while the command may still be sent (to resume it
    -- after a restart); the final row has them masked.
    parameters TEXT NOT NULL,
    sensitive  TEXT NOT NULL DEFAULT '[]',
    delay      INTEGER NOT NULL DEFAULT 0,
    lock_level INTEGER,
    due_time   INTEGER NOT NULL,
    state      TEXT NOT NULL,
    failure    INTEGER NOT NULL DEFAULT 0,
    message    TEXT,
    PRIMARY KEY (exec_id, rank)
) WITHOUT ROWID;

CREATE TABLE action_groups (
    oid              TEXT PRIMARY KEY,
    label            TEXT NOT NULL,
    body             TEXT NOT NULL,   -- JSON: the action group as the End-User API shows it
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

-- Runs of an action group at a given time (POST /exec/schedule/{oid}/{utcTimestamp}).
CREATE TABLE scheduled_runs (
    trigger_id       TEXT PRIMARY KEY,
    action_group_oid TEXT NOT NULL,
    label            TEXT NOT NULL,
    utc_time         INTEGER NOT NULL,
    creation_time    INTEGER NOT NULL
);

CREATE TABLE zones (
    oid              TEXT PRIMARY KEY,
    body             TEXT NOT NULL,   -- JSON: label, type, items, externalOID, metadata
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);
