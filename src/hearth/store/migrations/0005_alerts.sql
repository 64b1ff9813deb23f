-- Edge alert rules, alert states, alerts and operation triggers (issue 4).

-- Rules (seed 001) and operation triggers (seed 004), as the API shows them (JSON).
CREATE TABLE alert_rules (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    body             TEXT NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

CREATE TABLE operation_triggers (
    uid           TEXT PRIMARY KEY,
    rule_id       TEXT NOT NULL,
    body          TEXT NOT NULL,
    creation_time INTEGER NOT NULL
);

-- One row per (rule, target). A flip is synced before the action groups it triggers run. `version` grows
-- with every change: an upsert only lands if it is newer, so the write order does not matter.
CREATE TABLE alert_states (
    rule_id         TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    state           INTEGER NOT NULL,
    state_change_ts INTEGER NOT NULL,
    first_alert_id  TEXT NOT NULL,
    last_alert_id   TEXT NOT NULL,
    attributes      TEXT NOT NULL DEFAULT '[]',
    version         INTEGER NOT NULL,
    PRIMARY KEY (rule_id, target_id)
) WITHOUT ROWID;

-- History, bounded by age and count (hearth.store.alerts).
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    ts              INTEGER NOT NULL,
    rule_id         TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    state           INTEGER,           -- NULL: a stateless rule
    state_change_ts INTEGER,
    attributes      TEXT NOT NULL
);
CREATE INDEX alerts_by_ts ON alerts (ts);

CREATE TABLE alert_state_history (
    id             TEXT PRIMARY KEY,
    ts             INTEGER NOT NULL,
    rule_id        TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    state          INTEGER NOT NULL,
    first_alert_id TEXT NOT NULL
);
CREATE INDEX alert_state_history_by_ts ON alert_state_history (ts);

-- The current bucket of each AGG.<state>/<H|D|M> in use (written in batches: a crash loses one window).
CREATE TABLE alert_aggregates (
    target_id    TEXT NOT NULL,
    data_id      TEXT NOT NULL,
    scale        TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    min          REAL,
    max          REAL,
    sum          REAL NOT NULL,
    cnt          INTEGER NOT NULL,
    last         INTEGER,
    PRIMARY KEY (target_id, data_id, scale)
) WITHOUT ROWID;

-- Action groups a trigger must run: written with the flip, removed with the execution's journal rows.
CREATE TABLE alert_trigger_runs (
    id               TEXT PRIMARY KEY,
    trigger_uid      TEXT NOT NULL,
    action_group_oid TEXT NOT NULL,
    rule_id          TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    created          INTEGER NOT NULL
);
