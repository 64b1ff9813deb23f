-- Condition groups and the setup's location (issue 4).

-- A condition group as the API shows it: body is the JSON {label, metadata, conditions}; the engine
-- compiles it again at load, so the format of a condition lives in one place (core/conditions.py).
CREATE TABLE condition_groups (
    oid              TEXT PRIMARY KEY,
    label            TEXT NOT NULL,
    body             TEXT NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);
