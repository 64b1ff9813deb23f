-- State history v2: one row per series (device, state), compact raw points keyed by (series, time), and
-- rollups (hour, day, month) kept up to date in the same transaction as the raw point.
-- Why: the v1 table repeated the deviceURL and state name in every row and in two indexes (~150 bytes a
-- point), and its retention had to rank the whole table. Keyed by (series, time), every query and every
-- retention delete is a range of one series' index.
CREATE TABLE history_series (
    id   INTEGER PRIMARY KEY,
    url  TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (url, name)
);

CREATE TABLE state_raw (
    series INTEGER NOT NULL,
    time   INTEGER NOT NULL,          -- ms since the epoch
    value  TEXT NOT NULL,             -- JSON
    PRIMARY KEY (series, time)
) WITHOUT ROWID;

-- resolution: 0 hour, 1 day, 2 month (local time of the gateway's timezone); bucket: its start in ms.
-- total/low/high are NULL for states whose values are not numbers; last is the JSON of the newest value.
CREATE TABLE state_rollups (
    series     INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    bucket     INTEGER NOT NULL,
    samples    INTEGER NOT NULL,
    total      REAL,
    low        REAL,
    high       REAL,
    last       TEXT NOT NULL,
    last_time  INTEGER NOT NULL,
    PRIMARY KEY (series, resolution, bucket)
) WITHOUT ROWID;

INSERT INTO history_series (url, name) SELECT DISTINCT url, name FROM state_history ORDER BY url, name;
INSERT OR REPLACE INTO state_raw (series, time, value)
    SELECT s.id, h.time, h.value FROM state_history h JOIN history_series s ON s.url = h.url AND s.name = h.name;
DROP TABLE state_history;

-- The v1 shape, read-only, for whoever reads history by deviceURL and name (backups, tools).
CREATE VIEW state_history AS
    SELECT s.url AS url, s.name AS name, r.value AS value, r.time AS time
    FROM state_raw r JOIN history_series s ON s.id = r.series;
