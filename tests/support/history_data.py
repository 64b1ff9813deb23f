"""Large state histories made fast, directly in SQLite, in the real schema (migrations applied).

For the retention tests and the history bench: millions of points through the gateway's writer would take
minutes; here they are one INSERT ... SELECT over a recursive counter, inside SQLite. The rollups are then
summed from the raw points in SQL, in UTC buckets (the bench's gateway runs in UTC), with ``last`` the
bucket's newest value.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hearth.store.database import migrations

GATEWAY = "1234-5678-9012"
NAMES = ("core:TemperatureState", "core:RelativeHumidityState")


@dataclass(frozen=True, slots=True)
class HistoryShape:
    series: int  # (device, state) pairs; two states a device
    points: int  # points per series
    step_ms: int  # between two points of a series
    end_ms: int  # time of the newest point

    @property
    def rows(self) -> int:
        return self.series * self.points

    @property
    def start_ms(self) -> int:
        return self.end_ms - (self.points - 1) * self.step_ms


def device_url(i: int) -> str:
    return f"virtual://{GATEWAY}/h{i}"


def create_database(path: Path) -> None:
    """A migrated, empty Hearth database at ``path``: the bundled migrations, applied as Database.open does."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for version, _, sql in migrations():
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
    finally:
        conn.close()


def fill(path: Path, shape: HistoryShape, *, rollups: bool = True, first_series: int = 1) -> None:
    """Add ``shape.rows`` points (and their rollups) to the migrated database at ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        conn.execute("BEGIN")
        ids = range(first_series, first_series + shape.series)
        conn.executemany(
            "INSERT INTO history_series (id, url, name) VALUES (?, ?, ?)",
            [(i, device_url(i // 2), NAMES[i % 2]) for i in ids],
        )
        # CROSS JOIN keeps the series as the outer loop: points go in primary-key order (appends).
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
            "INSERT INTO state_raw (series, time, value) "
            "SELECT s.id, ? + n.i * ?, printf('%.1f', 15 + ((s.id * 7919 + n.i * 104729) % 200) / 10.0) "
            "FROM history_series s CROSS JOIN n WHERE s.id >= ? AND s.id < ?",
            (shape.points, shape.start_ms, shape.step_ms, first_series, first_series + shape.series),
        )
        if rollups:
            _rollups(conn, first_series, first_series + shape.series)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _rollups(conn: sqlite3.Connection, low: int, high: int) -> None:
    conn.execute(
        "INSERT INTO state_rollups (series, resolution, bucket, samples, total, low, high, last, last_time) "
        "SELECT series, 0, time - time % 3600000, count(*), sum(CAST(value AS REAL)), min(CAST(value AS REAL)), "
        "max(CAST(value AS REAL)), '0', max(time) FROM state_raw WHERE series >= ? AND series < ? "
        "GROUP BY series, time - time % 3600000",
        (low, high),
    )
    # The newest value of each hour (its own pass: SQLite's bare column needs max() alone).
    conn.execute(
        "UPDATE state_rollups SET last = (SELECT value FROM state_raw r WHERE r.series = state_rollups.series "
        "AND r.time = state_rollups.last_time) WHERE resolution = 0 AND series >= ? AND series < ?",
        (low, high),
    )
    for resolution, unit in ((1, "start of day"), (2, "start of month")):
        source = resolution - 1
        conn.execute(
            "INSERT INTO state_rollups (series, resolution, bucket, samples, total, low, high, last, last_time) "
            f"SELECT series, ?, CAST(strftime('%s', bucket / 1000, 'unixepoch', '{unit}') AS INTEGER) * 1000 AS b, "
            "sum(samples), sum(total), min(low), max(high), '0', max(last_time) FROM state_rollups "
            "WHERE resolution = ? AND series >= ? AND series < ? GROUP BY series, b",
            (resolution, source, low, high),
        )
        conn.execute(
            "UPDATE state_rollups SET last = (SELECT value FROM state_raw r WHERE r.series = state_rollups.series "
            "AND r.time = state_rollups.last_time) WHERE resolution = ? AND series >= ? AND series < ?",
            (resolution, low, high),
        )
