-- Setup triggers, their running delays and scheduling state (issue 4).

-- A setup trigger as the End-User API shows it (body: the inner object of {"<type>": {...}}, with the
-- blockId of its conditions and the id of its effects). setupTriggerId is a short number, OID a UUID.
CREATE TABLE setup_triggers (
    oid              TEXT PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    mode             INTEGER NOT NULL,
    body             TEXT NOT NULL,   -- JSON
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

-- What a trigger will do at a time: a running activation delay ('delay:<blockId>'), the next opening of
-- its scheduling window ('window'), the next time of a command schedule ('command:<i>.<j>'). Written
-- before the wait starts; set inactive (one upsert statement, so rows keep their order) in the same flush
-- as the execution it becomes, or when it is cancelled. Read at start to resume or catch up.
CREATE TABLE trigger_timers (
    trigger_oid TEXT NOT NULL,
    timer       TEXT NOT NULL,
    due_time    INTEGER NOT NULL,     -- epoch ms
    active      INTEGER NOT NULL,
    payload     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (trigger_oid, timer)
) WITHOUT ROWID;

-- Runs that fell due while the gateway was down and later than the grace period: not run, kept here.
CREATE TABLE trigger_missed_runs (
    trigger_oid   TEXT NOT NULL,
    timer         TEXT NOT NULL,
    due_time      INTEGER NOT NULL,
    recorded_time INTEGER NOT NULL
);
CREATE INDEX trigger_missed_runs_by_trigger ON trigger_missed_runs (trigger_oid, due_time);

-- The setup's location (one row): address, timezone, coordinates, twilight setting (PUT /setup/location).
CREATE TABLE setup_location (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    body             TEXT NOT NULL,   -- JSON
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);
