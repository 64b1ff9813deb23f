"""The history store on real SQLite files: rollups as points are written, local buckets (DST, leap years),
growing indexes, indexed queries (EXPLAIN QUERY PLAN), retention per resolution, the row cap, and a sweep of
many rows that never holds the write path long."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.api.state_history_json import AVERAGE, CUMULATIVE, summarise
from hearth.core.bus import EventBus
from hearth.model.events import DeviceStateChangedEvent
from hearth.store import history_reader, retention
from hearth.store.database import Database, migrations
from hearth.store.history import StateRecorder
from hearth.store.rollups import Bucket, Resolution, bucket_bounds, buckets_between, years_of
from hearth.store.writer import BatchWriter
from tests.support.history_data import HistoryShape, create_database, fill

PARIS = ZoneInfo("Europe/Paris")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def _ms(*args: int, tz: ZoneInfo = PARIS) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc]


async def _recorder(path: Path, **kwargs: object) -> tuple[Database, BatchWriter, StateRecorder, EventBus]:
    db = Database(path)
    await db.open()
    writer = BatchWriter(db, window_ms=20)
    options: dict[str, object] = {
        "retention_days": 7,
        "per_state_days": {},
        "max_rows_per_state": 20_000,
        "timezone": lambda: PARIS,
    }
    options.update(kwargs)
    recorder = StateRecorder(db, writer, **options)  # type: ignore[arg-type]
    await recorder.load()
    bus = EventBus()
    recorder.attach(bus)
    return db, writer, recorder, bus


async def _close(db: Database, writer: BatchWriter, recorder: StateRecorder) -> None:
    recorder.close()
    await writer.close()
    await db.close()


def _report(bus: EventBus, url: str, name: str, value: object, ts: int, type_: int = 2) -> None:
    bus.publish(
        DeviceStateChangedEvent(
            timestamp=ts, device_url=url, device_states=[{"name": name, "type": type_, "value": value}]
        )
    )


async def test_rollups_are_written_with_each_point(tmp_path: Path) -> None:
    db, writer, recorder, bus = await _recorder(tmp_path / "h.db")
    temp, status = "core:TemperatureState", "core:StatusState"
    # 2026-01-14 23:30 UTC is 00:30 on the 15th in Paris: a day of its own locally.
    times = [_ms(2026, 1, 14, 22, 10), _ms(2026, 1, 14, 22, 50), _ms(2026, 1, 15, 0, 30)]
    for ts, value in zip(times, (20.0, 22.0, 30), strict=True):
        _report(bus, "u", temp, value, ts)
    _report(bus, "u", status, "available", times[0], 3)
    _report(bus, "u", status, "unavailable", times[1], 3)
    _report(bus, "u", "core:CodeState", "1234", times[1], 9)  # a PASSWORD state: never in history
    await writer.flush()
    rows = await db.fetchall(
        "SELECT s.name, r.resolution, r.bucket, r.samples, r.total, r.low, r.high, r.last FROM state_rollups r "
        "JOIN history_series s ON s.id = r.series ORDER BY s.name, r.resolution, r.bucket"
    )
    by = {(n, res, b): rest for n, res, b, *rest in rows}
    assert by[(temp, 0, _ms(2026, 1, 14, 22))] == [2, 42.0, 20.0, 22.0, "22.0"]
    assert by[(temp, 0, _ms(2026, 1, 15, 0))] == [1, 30.0, 30.0, 30.0, "30"]
    assert by[(temp, 1, _ms(2026, 1, 14))] == [2, 42.0, 20.0, 22.0, "22.0"]
    assert by[(temp, 1, _ms(2026, 1, 15))] == [1, 30.0, 30.0, 30.0, "30"]
    assert by[(temp, 2, _ms(2026, 1, 1))] == [3, 72.0, 20.0, 30.0, "30"]
    # Not numbers: counted, newest value kept, no sum/min/max.
    assert by[(status, 1, _ms(2026, 1, 14))] == [2, None, None, None, '"unavailable"']
    assert not [r for r in rows if r[0] == "core:CodeState"]
    # A later window adds to the same buckets in SQL (the upsert), an older point does not become "last".
    _report(bus, "u", temp, 24.0, _ms(2026, 1, 14, 22, 55))
    _report(bus, "u", temp, 10.0, _ms(2026, 1, 14, 22, 5))
    await writer.flush()
    hour = await db.fetchone(
        "SELECT samples, total, low, high, last FROM state_rollups WHERE series = 1 AND resolution = 0 AND bucket = ?",
        (_ms(2026, 1, 14, 22),),
    )
    assert hour == (4, 76.0, 10.0, 24.0, "24.0")
    assert not await db.fetchall("SELECT * FROM state_history WHERE name = 'core:CodeState'")
    assert (await db.fetchone("SELECT value FROM device_states WHERE name = 'core:CodeState'")) == ('"1234"',)
    # A restart keeps numbering series after the known ones.
    await _close(db, writer, recorder)
    db, writer, recorder, bus = await _recorder(tmp_path / "h.db")
    assert set(recorder.series.values()) == {1, 2}
    _report(bus, "v", temp, 1.0, times[0])
    await writer.flush()
    assert recorder.series[("v", temp)] == 3
    await _close(db, writer, recorder)


def test_local_buckets_across_dst_and_leap_years() -> None:
    spring = bucket_bounds(_ms(2026, 3, 29, 12), Resolution.DAY, PARIS)
    autumn = bucket_bounds(_ms(2026, 10, 25, 12), Resolution.DAY, PARIS)
    assert spring == (_ms(2026, 3, 29), _ms(2026, 3, 30)) and spring[1] - spring[0] == 23 * HOUR_MS
    assert autumn[1] - autumn[0] == 25 * HOUR_MS
    # The repeated hour of the autumn change is two hour buckets.
    first = _ms(2026, 10, 25, 0, 30, tz=UTC)  # 02:30 CEST
    second = first + HOUR_MS  # 02:30 CET
    assert bucket_bounds(first, Resolution.HOUR, PARIS)[0] != bucket_bounds(second, Resolution.HOUR, PARIS)[0]
    assert len(buckets_between(_ms(2026, 10, 25), _ms(2026, 10, 25, 23), Resolution.HOUR, PARIS)) == 25
    february = bucket_bounds(_ms(2028, 2, 10), Resolution.MONTH, PARIS)
    assert february == (_ms(2028, 2, 1), _ms(2028, 3, 1)) and february[1] - february[0] == 29 * DAY_MS
    assert len(buckets_between(_ms(2028, 1, 1), _ms(2028, 12, 31), Resolution.DAY, PARIS)) == 366


def test_growing_index_and_averages() -> None:
    def bucket(start: int, samples: int, total: float, low: float, high: float, last: float) -> Bucket:
        return Bucket(start, samples, total, low, high, json.dumps(last), start)

    before = bucket(0, 1, 100, 100, 100, 100)
    days = [bucket(1, 2, 230, 110, 120, 120), bucket(2, 1, 150, 150, 150, 150), bucket(3, 2, 15, 5, 10, 10)]
    out = summarise(days, before, CUMULATIVE)
    assert [s.value for s in out] == [20, 30, 5]  # the last one: the meter was reset, counted from its lowest
    assert [s.text for s in out] == ["20", "30", "5"]
    assert [s.value for s in summarise(days[:1], None, CUMULATIVE)] == [10]  # no bucket before: within the day
    assert [s.value for s in summarise(days, None, AVERAGE)] == [115, 150, 7.5]
    months = [
        bucket(_ms(2025, 12, 1), 1, 1, 1, 1, 1),
        bucket(_ms(2026, 1, 1), 2, 4, 1, 3, 3),
        bucket(_ms(2026, 6, 1), 1, 5, 5, 5, 5),
    ]
    years = years_of(months, PARIS)
    assert [(y.start, y.samples, y.total, y.low, y.high) for y in years] == [
        (_ms(2025, 1, 1), 1, 1, 1, 1),
        (_ms(2026, 1, 1), 3, 9, 1, 5),
    ]
    assert years[1].last == "5"


def test_every_query_is_a_search_of_an_index(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    create_database(path)
    fill(path, HistoryShape(series=4, points=2000, step_ms=60_000, end_ms=_ms(2026, 6, 1)))
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    statements = [
        *history_reader.QUERIES,
        retention.DELETE_RAW,
        retention.DELETE_ROLLUPS,
        retention.SAMPLES_SINCE,
        retention.CAP_TIME,
        retention.OLDEST_POINT,
        retention.OLDEST_BUCKET,
    ]
    for sql in statements:
        numbered = [int(n) for n in re.findall(r"\?(\d)", sql)]
        params = [1] * (max(numbered) if numbered else sql.count("?"))
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert plan, sql
        assert all(not step.startswith("SCAN") for step in plan), (sql, plan)
        assert any("PRIMARY KEY" in step or "INDEX" in step for step in plan), (sql, plan)
    conn.close()


async def test_retention_per_resolution(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    create_database(path)
    now = _ms(2026, 6, 1, tz=UTC)
    # Two series, a point every 20 minutes over 400 days (28,800 points each).
    fill(path, HistoryShape(series=2, points=28_800, step_ms=1_200_000, end_ms=now))
    db, writer, recorder, _ = await _recorder(
        path,
        retention_days=7,
        per_state_days={"core:RelativeHumidityState": 2},
        max_rows_per_state=1_000_000,
        hourly_days=30,
        daily_days=365,
        monthly_days=3650,
    )
    deleted = await recorder.sweep(now_ms=now)
    oldest = dict(
        await db.fetchall(
            "SELECT s.name, min(r.time) FROM state_raw r JOIN history_series s ON s.id = r.series GROUP BY s.name"
        )
    )
    assert oldest["core:TemperatureState"] >= now - 7 * DAY_MS
    assert oldest["core:TemperatureState"] < now - 7 * DAY_MS + 1_200_000
    assert oldest["core:RelativeHumidityState"] >= now - 2 * DAY_MS
    assert deleted == 2 * 28_800 - (await db.fetchone("SELECT count(*) FROM state_raw"))[0]
    for resolution, days in ((0, 30), (1, 365), (2, 3650)):
        row = await db.fetchone("SELECT min(bucket) FROM state_rollups WHERE resolution = ?", (resolution,))
        assert row is not None and row[0] >= now - days * DAY_MS - 31 * DAY_MS * (resolution == 2)
    assert (await db.fetchone("SELECT min(bucket) FROM state_rollups WHERE resolution = 0"))[0] < now - 29 * DAY_MS
    assert recorder.retention.last.most_rows <= recorder.retention.batch_rows
    await _close(db, writer, recorder)


async def test_rollups_outlive_raw_points(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    create_database(path)
    now = _ms(2026, 6, 1, tz=UTC)
    fill(path, HistoryShape(series=1, points=24 * 60, step_ms=HOUR_MS, end_ms=now))  # 60 days, hourly
    db, writer, recorder, _ = await _recorder(
        path, retention_days=0, per_state_days={"core:RelativeHumidityState": 45}, hourly_days=10
    )
    await recorder.sweep(now_ms=now)
    # Hourly rollups are kept as long as the longest raw retention (45 days), not the configured 10.
    oldest = (await db.fetchone("SELECT min(bucket) FROM state_rollups WHERE resolution = 0"))[0]
    assert now - 46 * DAY_MS < oldest <= now - 44 * DAY_MS
    await _close(db, writer, recorder)


async def test_row_cap_in_bounded_deletes(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    create_database(path)
    now = _ms(2026, 6, 1, tz=UTC)
    fill(path, HistoryShape(series=3, points=3_000, step_ms=60_000, end_ms=now))  # 2 days: within 7
    db, writer, recorder, _ = await _recorder(path, max_rows_per_state=1_000)
    recorder.retention.batch_rows = 300
    deleted = await recorder.sweep(now_ms=now)
    assert deleted == 3 * 2_000
    counts = await db.fetchall("SELECT series, count(*), min(time) FROM state_raw GROUP BY series")
    assert [(c, t) for _, c, t in counts] == [(1_000, now - 999 * 60_000)] * 3  # the newest 1000 of each
    stats = recorder.retention.last
    assert stats.capped_series == 3 and stats.most_rows <= 300 and stats.transactions >= 3 * 2_000 // 300
    assert await recorder.sweep(now_ms=now) == 0  # nothing left to do
    await _close(db, writer, recorder)


V1_SCHEMA = (
    "CREATE TABLE v1 (url TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, time INTEGER NOT NULL);"
    "CREATE INDEX v1_by_state ON v1 (url, name, time); CREATE INDEX v1_by_time ON v1 (time);"
)
# The v1 sweep's cap statement (src/hearth/store/history.py before the v2 store): one window over every row.
V1_CAP = (
    "DELETE FROM v1 WHERE rowid IN (SELECT rowid FROM (SELECT rowid, ROW_NUMBER() OVER "
    "(PARTITION BY url, name ORDER BY time DESC) AS n FROM v1) WHERE n > ?)"
)


def _v1_cap_seconds(path: Path) -> float:
    """The same points in the v1 table, and how long its cap statement holds the write lock."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(V1_SCHEMA)
        conn.execute(
            "INSERT INTO v1 SELECT s.url, s.name, r.value, r.time FROM state_raw r "
            "JOIN history_series s ON s.id = r.series"
        )
        started = time.perf_counter()
        conn.execute(V1_CAP, (20_000,))
        return time.perf_counter() - started
    finally:
        conn.close()


async def test_a_big_sweep_never_holds_the_write_path_long(tmp_path: Path) -> None:
    """300k points, 1/8 of them past retention: the sweep deletes ~37k in transactions of at most batch_rows rows,
    and a durable write (a command's journal row) queued meanwhile never waits long. The bound is checked
    against the v1 sweep's statement on the same points: it must be far above what the new sweep holds."""
    path = tmp_path / "h.db"
    create_database(path)
    now = _ms(2026, 6, 1, tz=UTC)
    fill(path, HistoryShape(series=30, points=10_000, step_ms=69_120, end_ms=now))  # 8 days each
    db, writer, recorder, _ = await _recorder(path)
    writer.start()
    waits: list[float] = []
    stop = False

    async def commands() -> None:
        n = 0
        while not stop:
            started = time.perf_counter()
            await writer.commit(
                "INSERT OR REPLACE INTO gateway_settings (key, value) VALUES (?, ?)", ("bench-probe", str(n))
            )
            waits.append(time.perf_counter() - started)
            n += 1
            await asyncio.sleep(0.001)

    probe = asyncio.create_task(commands())
    deleted = await recorder.sweep(now_ms=now)
    stop = True
    await probe
    stats = recorder.retention.last
    assert 30 * 1_200 <= deleted <= 30 * 1_300
    assert stats.most_rows <= recorder.retention.batch_rows
    await _close(db, writer, recorder)
    v1_seconds = _v1_cap_seconds(path)
    longest = stats.longest_ms / 1000
    p99 = sorted(stats.per_transaction_ms)[int(0.99 * stats.transactions)]
    print(
        f"longest hold {stats.longest_hold_ms:.1f} ms, round trip p99 {p99:.1f} ms, longest {longest * 1000:.1f} ms, "
        f"longest durable write {max(waits) * 1000:.1f} ms, v1 cap statement {v1_seconds * 1000:.0f} ms"
    )
    assert longest * 10 < v1_seconds, (longest, v1_seconds)
    assert max(waits) < v1_seconds, (max(waits), v1_seconds)
    assert len(waits) > 10


async def test_migration_keeps_v1_history(tmp_path: Path) -> None:
    """A store written by a Hearth before migration 0010: its history points become series and raw points."""
    path = tmp_path / "h.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version, _, sql in [m for m in migrations() if m[0] <= 9]:
        conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")
    conn.executemany(
        "INSERT INTO state_history (url, name, value, time) VALUES (?, ?, ?, ?)",
        [
            ("a", "core:TemperatureState", "20.5", 1),
            ("a", "core:TemperatureState", "21.0", 2),
            ("b", "core:OnOffState", '"on"', 1),
        ],
    )
    conn.close()
    db, writer, recorder, bus = await _recorder(path)
    assert await db.fetchall("SELECT url, name, value, time FROM state_history ORDER BY url, time") == [
        ("a", "core:TemperatureState", "20.5", 1),
        ("a", "core:TemperatureState", "21.0", 2),
        ("b", "core:OnOffState", '"on"', 1),
    ]
    assert recorder.series == {("a", "core:TemperatureState"): 1, ("b", "core:OnOffState"): 2}
    _report(bus, "a", "core:TemperatureState", 22.0, 3)
    await writer.flush()
    assert (await db.fetchone("SELECT count(*) FROM state_raw WHERE series = 1"))[0] == 3
    await _close(db, writer, recorder)
