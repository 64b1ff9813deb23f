"""S11 state history: queries, write cost, size on disk, and commands during start and retention, at 10M points.

Data: BENCH_HISTORY_ROWS raw points (default 10M) made directly in SQLite in the real schema
(tests/support/history_data.py): 500 series (250 devices x 2 states), each 20,000 points (the default row cap)
36 s apart, i.e. 8.3 days ending now, so that 1/6 of them are past the default 7-day retention; rollups summed
from them. The time it takes is noted.

(a) Query latency: 300 queries of each kind on random series, through the history reader (its own connection)
    and the API's shaping (``point_json``/``summarise`` + JSON): raw points of one day (2,400 points), daily
    buckets over 8 days, monthly over a year. Baseline, same run: the same queries on a 100k-point file (5
    series); ratio ~1 means the cost does not grow with the table.
(b) Write cost per state change: 50k changes over 500 series through a real StateRecorder and BatchWriter
    (synchronous=FULL), wall time from the first publish until all is committed, per change; once with a
    flush after each round of 500 (one change per series per flush: nothing for the rollup buffer to
    coalesce, the worst case) and once as a burst. Baseline: the same changes with history off
    (retention_days=0: the current-value upsert only); also given: raw points without rollups (a recorder
    that queues only the point), to show what the rollups add.
(c) Size on disk (dbstat pages of the history tables) per raw point and per rollup row, and per device-year
    for a device of 2 numeric states reporting every 5 minutes: with every raw point kept, and under the
    default retention (raw 7 days, hourly 90 days, daily and monthly the year). Baseline: the v1 table (url,
    name, value, time and its two indexes) with the same 1M points.
(d) Command latency (submit of a one-command action group -> COMPLETED, journal commits included) on a real
    in-process Gateway whose data folder holds the 10M points: during the first 2 s after ``start()``, and
    during a retention sweep deleting the expired 1/6 (~1.6M points). Baseline, same run: the same gateway
    on a folder without history, the same commands, in the 2 s after its start and during its (empty) sweep
    and on for as long as the measured sweep took (at most 30 s).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from hearth.api.state_history_json import AVERAGE, point_json, summarise, summary_json
from hearth.model.action import Action, ActionGroup, Command
from hearth.model.events import DeviceStateChangedEvent
from hearth.store.database import Database
from hearth.store.history import INSERT_RAW, UPSERT_STATE, StateRecorder
from hearth.store.history_reader import HistoryReader
from hearth.store.rollups import Resolution
from hearth.store.writer import BatchWriter
from tests.bench.common import Results, Row, gateway_env, percentile
from tests.support.history_data import HistoryShape, create_database, fill

DAY_MS = 86_400_000
SERIES = 500
STEP_MS = 36_000
QUERIES = 300
CHANGES = 50_000
DEVICES = 20
START_WINDOW_S = 2.0


def _shape(rows: int, series: int = SERIES) -> HistoryShape:
    """Always 8.3 days of points (fewer rows: points further apart), so that 1/6 are past retention."""
    points = rows // series
    return HistoryShape(
        series=series, points=points, step_ms=STEP_MS * 20_000 // points, end_ms=int(time.time() * 1000)
    )


# ------------------------------------------------------------------ (a) queries


async def _queries(path: Path, shape: HistoryShape) -> dict[str, list[float]]:
    reader = HistoryReader(path)
    rng = random.Random(11)
    out: dict[str, list[float]] = {"raw 1 day": [], "daily 8 days": [], "monthly 1 year": []}
    try:
        for _ in range(QUERIES):
            series = rng.randrange(1, shape.series + 1)
            end = shape.end_ms - rng.randrange(0, 6 * DAY_MS)
            started = time.perf_counter()
            points = await reader.points(series, end - DAY_MS, end, 50_000)
            json.dumps({"historyValues": [point_json(t, v) for t, v in points], "historizationMethod": AVERAGE})
            out["raw 1 day"].append((time.perf_counter() - started) * 1000)
            for label, resolution, span in (
                ("daily 8 days", Resolution.DAY, 8 * DAY_MS),
                ("monthly 1 year", Resolution.MONTH, 366 * DAY_MS),
            ):
                started = time.perf_counter()
                previous, rows = await reader.buckets(series, resolution, shape.end_ms - span, shape.end_ms)
                json.dumps({"historyValues": [summary_json(s) for s in summarise(rows, previous, AVERAGE)]})
                out[label].append((time.perf_counter() - started) * 1000)
    finally:
        reader.close()
    return out


def _query_rows(results: Results, big: Path, big_shape: HistoryShape, folder: Path) -> None:
    small = folder / "small.db"
    create_database(small)
    small_shape = _shape(100_000, 5)
    fill(small, small_shape)
    measured = asyncio.run(_queries(big, big_shape))
    baseline = asyncio.run(_queries(small, small_shape))
    millions = big_shape.rows / 1e6
    for label, times in measured.items():
        results.add(
            Row(
                "S11 history",
                f"query {label}, {millions:g}M points p99",
                percentile(times, 99),
                "ms",
                "<",
                50.0,
                percentile(baseline[label], 99),
            )
        )


# ------------------------------------------------------------------ (b) write cost


class RawOnlyRecorder(StateRecorder):
    """The bench's comparison point: the current value and the raw point, no rollups."""

    def on_state_changed(self, event: DeviceStateChangedEvent) -> None:
        queue = self._writer.queue
        for state in event.device_states:
            value = json.dumps(state["value"])
            queue(UPSERT_STATE, (event.device_url, state["name"], state["type"], value, event.timestamp))
            queue(INSERT_RAW, (self._series_id(event.device_url, state["name"]), event.timestamp, value))


async def _write_cost(folder: Path, variant: str, spread: bool) -> float:
    """us per change. ``spread``: every flush holds one change of each series (a house of sensors reporting
    now and then: nothing to coalesce, the rollups' worst case); else the changes come as one burst."""
    path = folder / f"write-{variant}-{spread}.db"
    db = Database(path)
    await db.open()
    writer = BatchWriter(db)
    cls = RawOnlyRecorder if variant == "raw" else StateRecorder
    recorder = cls(
        db, writer, retention_days=0 if variant == "none" else 7, per_state_days={}, max_rows_per_state=20_000
    )
    await recorder.load()
    writer.start()
    now = int(time.time() * 1000)
    series = 500
    events = [
        DeviceStateChangedEvent(
            timestamp=now + i * 10,
            device_url=f"virtual://1234-5678-9012/w{i % 250}",
            device_states=[
                {
                    "name": ("core:TemperatureState", "core:LuminanceState")[(i // 250) % 2],
                    "type": 2,
                    "value": 15 + i % 200 / 10,
                }
            ],
        )
        for i in range(CHANGES)
    ]
    try:
        started = time.perf_counter()
        for i in range(0, CHANGES, series):
            for event in events[i : i + series]:
                recorder.on_state_changed(event)
            if spread:
                await writer.flush()
            else:
                await asyncio.sleep(0)
        await writer.flush()
        return (time.perf_counter() - started) * 1e6 / CHANGES
    finally:
        recorder.close()
        await writer.close()
        await db.close()


# ------------------------------------------------------------------ (c) size


def _table_bytes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {str(n): int(b) for n, b in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}
    finally:
        conn.close()


def _size_rows(results: Results, big: Path, shape: HistoryShape, folder: Path) -> None:
    sizes = _table_bytes(big)
    conn = sqlite3.connect(big)
    rollup_rows = conn.execute("SELECT count(*) FROM state_rollups").fetchone()[0]
    conn.close()
    per_point = sizes.get("state_raw", 0) / shape.rows
    per_rollup = sizes.get("state_rollups", 0) / max(1, rollup_rows)
    # v1: the same first million points in the v1 table and its two indexes.
    v1 = folder / "v1.db"
    conn = sqlite3.connect(v1, isolation_level=None)
    conn.executescript(
        "CREATE TABLE state_history (url TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, "
        "time INTEGER NOT NULL); CREATE INDEX state_history_by_state ON state_history "
        "(url, name, time); CREATE INDEX state_history_by_time ON state_history (time);"
    )
    conn.execute(f"ATTACH '{big}' AS big")
    v1_points = min(shape.rows, 1_000_000)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO state_history SELECT s.url, s.name, r.value, r.time FROM big.state_raw r "
        f"JOIN big.history_series s ON s.id = r.series LIMIT {v1_points}"
    )
    conn.execute("COMMIT")
    conn.close()
    v1_sizes = _table_bytes(v1)
    v1_per_point = (
        sum(v1_sizes.get(n, 0) for n in ("state_history", "state_history_by_state", "state_history_by_time"))
        / v1_points
    )
    points_year = 2 * 365 * 288  # 2 states, every 5 minutes
    rollups_year = 2 * (365 * 24 + 365 + 12)
    all_raw = points_year * per_point + rollups_year * per_rollup
    default = 2 * 7 * 288 * per_point + 2 * (90 * 24 + 365 + 12) * per_rollup
    results.add(
        Row("S11 history", "disk per raw point", per_point, "bytes", "", None, v1_per_point),
        Row("S11 history", "disk per rollup row", per_rollup, "bytes", "", None, None),
        Row(
            "S11 history",
            "disk per device-year, all raw kept",
            all_raw / 1e6,
            "MB",
            "",
            None,
            points_year * v1_per_point / 1e6,
        ),
        Row(
            "S11 history",
            "disk per device-year, default retention",
            default / 1e6,
            "MB",
            "",
            None,
            2 * 7 * 288 * v1_per_point / 1e6,
        ),
    )


# ------------------------------------------------------------------ (d) commands during start and sweep


async def _commands(gateway: Any, until: Any, latencies: list[float]) -> None:
    driver = gateway.drivers.by_protocol["virtual"]
    lights = [sim for sim in driver.devices.values() if "on" in sim.controllable.commands][:DEVICES]
    n = 0
    while not until():
        sim = lights[n % len(lights)]
        group = ActionGroup(
            label=f"bench {n}",
            actions=[Action(deviceURL=str(sim.url), commands=[Command(name="on" if n % 2 else "off")])],
        )
        started = time.perf_counter()
        execution = await gateway.executor.submit(group, owner="bench")
        await gateway.executor.wait(execution.id)
        latencies.append((time.perf_counter() - started) * 1000)
        n += 1
        await asyncio.sleep(0.002)


async def _gateway_phases(data_dir: Path, sweep_window_s: float = 0.0) -> dict[str, Any]:
    """Commands in the 2 s after start, then during a sweep (and, for the baseline, on until
    ``sweep_window_s`` after the sweep began: an empty sweep is over at once)."""
    from hearth.app import Gateway
    from hearth.config import load_settings

    settings = load_settings(None, gateway_env(data_dir, devices=DEVICES, HEARTH_HISTORY__SWEEP_START_DELAY_S="86400"))
    gateway = Gateway(settings)
    start_lat: list[float] = []
    sweep_lat: list[float] = []
    try:
        began = time.perf_counter()
        await gateway.start()
        started = time.perf_counter()
        await _commands(gateway, lambda: time.perf_counter() - started > START_WINDOW_S, start_lat)
        sweep = asyncio.create_task(gateway.recorder.sweep())
        swept = time.perf_counter()
        await _commands(gateway, lambda: sweep.done() and time.perf_counter() - swept > sweep_window_s, sweep_lat)
        deleted = await sweep
        stats = gateway.recorder.retention.last
        return {
            "start_s": started - began,
            "start": start_lat,
            "sweep": sweep_lat,
            "deleted": deleted,
            "sweep_s": stats.seconds,
            "transactions": stats.transactions,
            "hold_ms": stats.longest_hold_ms,
            "hold_p99_ms": percentile(stats.hold_ms, 99),
            "round_trip_ms": stats.longest_ms,
            "round_trip_p99_ms": percentile(stats.per_transaction_ms, 99),
        }
    finally:
        await gateway.stop()


def _amount(points: int) -> str:
    """10000000 -> "10M", 2500000 -> "2.5M", 100000 -> "100k": as the rows' labels say it."""
    if points >= 1_000_000:
        return f"{points / 1e6:g}M"
    return f"{points / 1e3:g}k"


def _command_rows(results: Results, big_dir: Path, folder: Path, points: int) -> None:
    empty_dir = folder / "empty"
    empty_dir.mkdir()
    create_database(empty_dir / "hearth.db")
    measured = asyncio.run(_gateway_phases(big_dir))
    base = asyncio.run(_gateway_phases(empty_dir, sweep_window_s=min(30.0, measured["sweep_s"])))
    millions = measured["deleted"] / 1e6
    results.add(
        Row(
            "S11 history",
            f"command p99, first 2 s after start, {_amount(points)} points",
            percentile(measured["start"], 99),
            "ms",
            "<",
            5.0,
            percentile(base["start"], 99),
        ),
        Row(
            "S11 history",
            f"command p99 during sweep ({millions:.1f}M deleted)",
            percentile(measured["sweep"], 99),
            "ms",
            "<",
            5.0,
            percentile(base["sweep"], 99),
        ),
        Row(
            "S11 history",
            "command max during sweep",
            max(measured["sweep"]),
            "ms",
            "",
            None,
            max(base["sweep"]) if base["sweep"] else None,
        ),
        Row("S11 history", "sweep: transaction p99 (its deletes)", measured["hold_p99_ms"], "ms", "<", 5.0, None),
        Row("S11 history", "sweep: longest transaction (its deletes)", measured["hold_ms"], "ms", "", None, None),
        Row("S11 history", "sweep: transaction round trip p99", measured["round_trip_p99_ms"], "ms", "", None, None),
        Row("S11 history", "sweep: longest transaction round trip", measured["round_trip_ms"], "ms", "", None, None),
    )
    results.note(
        f"S11: start() took {measured['start_s']:.2f} s with {_amount(points)} points ({base['start_s']:.2f} s "
        f"without); sweep deleted {measured['deleted']:,} points in {measured['transactions']:,} "
        f"transactions over {measured['sweep_s']:.1f} s; {len(measured['sweep'])} commands ran during it."
    )


def run(results: Results) -> None:
    rows = int(os.environ.get("BENCH_HISTORY_ROWS", "10000000"))
    folder = Path(tempfile.mkdtemp(prefix="hearth-bench-s11-"))
    try:
        big_dir = folder / "big"
        big_dir.mkdir()
        big = big_dir / "hearth.db"
        shape = _shape(rows)
        started = time.perf_counter()
        create_database(big)
        fill(big, shape)
        made = time.perf_counter() - started
        results.note(
            f"S11: {shape.rows:,} points and their rollups generated in SQLite in {made:.0f} s "
            f"({os.path.getsize(big) / 1e6:.0f} MB)."
        )
        _query_rows(results, big, shape, folder)
        for spread, label in ((True, "one per series per flush"), (False, "burst")):
            writes = {v: asyncio.run(_write_cost(folder, v, spread)) for v in ("none", "raw", "full")}
            results.add(
                Row(
                    "S11 history",
                    f"write per change, point + rollups, {label}",
                    writes["full"],
                    "us",
                    "",
                    None,
                    writes["none"],
                ),
                Row(
                    "S11 history",
                    f"write per change, point only, {label}",
                    writes["raw"],
                    "us",
                    "",
                    None,
                    writes["none"],
                ),
            )
        _size_rows(results, big, shape, folder)
        _command_rows(results, big_dir, folder, rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
