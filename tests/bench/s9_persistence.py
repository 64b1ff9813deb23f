"""S9 persistence: 100k history rows through ``hearth.store.writer.BatchWriter`` into a real SQLite file.

What is measured: a ``Database`` (WAL, migrations applied) on a temp file and a ``BatchWriter`` with the
gateway's defaults (250 ms window, 5000-row batches), started as the gateway starts it. A producer on the
loop queues 100k raw history points (``state_raw``: the exact INSERT the StateRecorder uses) as fast as it can, 1000
per loop turn; the clock stops when the writer reports all 100k written (committed). rows/s = 100k / that
time. A 1 ms ticker runs throughout; its worst lateness is the longest stall the writer (or the producer)
caused on the loop. Run with ``synchronous=FULL`` (Hearth's default: a sync per commit) and ``NORMAL``.

Baseline, same run, same machine, same schema file and pragmas (WAL, same synchronous): stdlib ``sqlite3``
``executemany`` of the same 100k rows in one transaction, no event loop, no thread hop. That is the
ceiling for Python on this disk; ratio = the share of it the batched, non-blocking writer keeps.
The stall's baseline is the same producer and ticker with the writer not started (nothing is written):
the loop's own floor (ticker granularity, the producer's 1000-row turns, GC), so the difference is what
the writer adds.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from hearth.store.database import Database, migrations
from hearth.store.history import INSERT_RAW as INSERT_HISTORY
from hearth.store.writer import BatchWriter
from tests.bench.common import LoopLagProbe, Results, Row, maybe_await

ROWS = 100_000
CHUNK = 1000
GATEWAY = "1234-5678-9012"


def _rows() -> list[tuple[int, int, str]]:
    """(series, time, value): 1000 series (a temperature of 1000 devices), each time distinct."""
    base = int(time.time() * 1000)
    return [(1 + i % 1000, base + i, json.dumps(15 + i % 200 / 10)) for i in range(ROWS)]


async def _hearth(folder: Path, synchronous: str, rows: list[tuple[int, int, str]]) -> tuple[float, float, int]:
    db = Database(folder / "hearth.db", synchronous)
    await db.open()
    writer = BatchWriter(db)
    writer.start()
    probe = LoopLagProbe().start()
    await asyncio.sleep(0.05)
    try:
        queue = writer.queue
        before = writer.rows_written
        start = time.perf_counter()
        for i in range(0, ROWS, CHUNK):
            for row in rows[i : i + CHUNK]:
                queue(INSERT_HISTORY, row)
            await asyncio.sleep(0)
        deadline = start + 60
        while writer.rows_written - before < ROWS and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        seconds = time.perf_counter() - start
        written = writer.rows_written - before
        await probe.stop()
        count = (await db.fetchone("SELECT COUNT(*) FROM state_raw"))[0]
        return written / seconds, probe.max, count
    finally:
        await maybe_await(writer.close())
        await db.close()


async def _stall_floor(rows: list[tuple[int, int, str]]) -> float:
    """The same producer and ticker with a writer that is never started: nothing reaches SQLite."""
    writer = BatchWriter(None, max_rows=10 * ROWS)  # type: ignore[arg-type]
    probe = LoopLagProbe().start()
    await asyncio.sleep(0.05)
    for i in range(0, ROWS, CHUNK):
        for row in rows[i : i + CHUNK]:
            writer.queue(INSERT_HISTORY, row)
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    await probe.stop()
    return probe.max


def _stdlib(folder: Path, synchronous: str, rows: list[tuple[int, int, str]]) -> float:
    conn = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        for _, _, sql in migrations():
            conn.executescript(f"BEGIN;\n{sql}\nCOMMIT;")
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(INSERT_HISTORY, rows)
        conn.execute("COMMIT")
        return ROWS / (time.perf_counter() - start)
    finally:
        conn.close()


def run(results: Results) -> None:
    rows = _rows()
    for synchronous in ("FULL", "NORMAL"):
        folder = Path(tempfile.mkdtemp(prefix="hearth-bench-s9-"))
        try:
            rate, stall, count = asyncio.run(_hearth(folder, synchronous, rows))
            base = _stdlib(folder, synchronous, rows)
            floor = asyncio.run(_stall_floor(rows))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if count != ROWS:
            results.errors.append(f"S9 {synchronous}: {count} rows in state_raw, expected {ROWS}")
        results.add(
            Row("S9 persistence", f"100k rows, sync={synchronous}", rate, "rows/s", ">=", 50_000, base),
            Row("S9 persistence", f"max loop stall, sync={synchronous}", stall, "ms", "<", 5.0, floor),
        )
