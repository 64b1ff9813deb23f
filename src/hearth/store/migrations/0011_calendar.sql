-- The calendar (/setup/calendar/...): kinds of day with their time triggers, weekly rules that say which
-- dates are which kind, and the next run of a time trigger (written before it is waited for).

-- A calendar day as the End-User API shows it (body: its JSON, time trigger ids filled in, without oid and times).
CREATE TABLE calendar_days (
    oid              TEXT PRIMARY KEY,
    body             TEXT NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

-- A weekly calendar rule (body: the inner object of {"weeklyCalendarRule": {...}}; a localCalendarDay is in it,
-- with its oid). id: the short calendarRuleId.
CREATE TABLE calendar_rules (
    oid              TEXT PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    body             TEXT NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);

-- The next moment a time trigger of the calendar runs ('next'; payload: the runs due then). Written before
-- the wait; replaced in the same flush as the executions it becomes. Read at start to catch up.
CREATE TABLE calendar_timers (
    timer    TEXT PRIMARY KEY,
    due_time INTEGER NOT NULL,   -- epoch ms
    active   INTEGER NOT NULL,
    payload  TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;

-- Runs that fell due while the gateway was down and later than the grace period: not run, kept here.
CREATE TABLE calendar_missed_runs (
    time_trigger_id TEXT NOT NULL,
    day             TEXT NOT NULL,      -- the local date, YYYY-MM-DD
    due_time        INTEGER NOT NULL,
    recorded_time   INTEGER NOT NULL
);
CREATE INDEX calendar_missed_runs_by_time ON calendar_missed_runs (due_time);
