-- The gateway's identity and small settings: gateway id, setup OID, first-start flags.
CREATE TABLE gateway_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE places (
    oid              TEXT PRIMARY KEY,
    parent_oid       TEXT REFERENCES places(oid),
    label            TEXT NOT NULL,
    type             TEXT NOT NULL,   -- JSON: the End-User API allows an int or a string
    metadata         TEXT,
    position         INTEGER NOT NULL DEFAULT 0,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

CREATE TABLE devices (
    url              TEXT PRIMARY KEY,
    oid              TEXT NOT NULL UNIQUE,
    label            TEXT NOT NULL,
    controllable     TEXT NOT NULL,
    place_oid        TEXT,
    metadata         TEXT,
    enabled          INTEGER NOT NULL DEFAULT 1,
    available        INTEGER NOT NULL DEFAULT 1,
    attributes       TEXT NOT NULL DEFAULT '[]',
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

-- The last value of every state: what the gateway shows again after a restart.
CREATE TABLE device_states (
    url              TEXT NOT NULL,
    name             TEXT NOT NULL,
    type             INTEGER NOT NULL,
    value            TEXT NOT NULL,   -- JSON
    last_update_time INTEGER NOT NULL,
    PRIMARY KEY (url, name)
) WITHOUT ROWID;

CREATE TABLE state_history (
    url   TEXT NOT NULL,
    name  TEXT NOT NULL,
    value TEXT NOT NULL,              -- JSON
    time  INTEGER NOT NULL
);
CREATE INDEX state_history_by_state ON state_history (url, name, time);
CREATE INDEX state_history_by_time ON state_history (time);

-- Local API tokens. Only a hash is kept: a token is shown once, when it is made.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    label         TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('view', 'control', 'admin')),
    hash          TEXT NOT NULL UNIQUE,
    creation_time INTEGER NOT NULL,
    last_use_time INTEGER
);

-- Crash-safe key-value data of each driver (network keys, rolling codes, pairing data).
CREATE TABLE driver_data (
    driver TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,             -- JSON
    PRIMARY KEY (driver, key)
) WITHOUT ROWID;
