"""Reads of the state history, on a connection of their own.

In WAL mode a reader never blocks the writer nor waits for it, so a history query (or the retention's
planning) does not queue behind the gateway's write connection, nor a command's journal write behind it.
Every query is a range of one primary key (``EXPLAIN QUERY PLAN`` is checked in the tests): no scan.

Points written in the last batch window (``[store] batch_window_ms``) are not visible yet.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hearth.store.rollups import Bucket, Resolution

T = TypeVar("T")

SERIES_OF_DEVICE = "SELECT name, id FROM history_series WHERE url = ?"
# The newest ``limit`` points of the range; the caller puts them back in time order.
RAW_POINTS = "SELECT time, value FROM state_raw WHERE series = ? AND time >= ? AND time <= ? ORDER BY time DESC LIMIT ?"
ROLLUPS = (
    "SELECT bucket, samples, total, low, high, last, last_time FROM state_rollups "
    "WHERE series = ? AND resolution = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket"
)
ROLLUP_BEFORE = (
    "SELECT bucket, samples, total, low, high, last, last_time FROM state_rollups "
    "WHERE series = ? AND resolution = ? AND bucket < ? ORDER BY bucket DESC LIMIT 1"
)
NEWEST_POINTS = "SELECT time, value FROM state_raw WHERE series = ? ORDER BY time DESC LIMIT ?"
QUERIES = (SERIES_OF_DEVICE, RAW_POINTS, ROLLUPS, ROLLUP_BEFORE, NEWEST_POINTS)


class HistoryReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` in a worker thread, one at a time on this connection."""
        return await asyncio.to_thread(self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                conn = sqlite3.connect(self.path, timeout=1.0, check_same_thread=False)
                conn.execute("PRAGMA query_only=1")
                self._conn = conn
            return work(self._conn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------ queries

    async def series_of(self, url: str) -> dict[str, int]:
        """The series ids of a device's states that have history, by state name."""
        return await self.run(lambda c: {str(n): int(i) for n, i in c.execute(SERIES_OF_DEVICE, (url,))})

    async def points(self, series: int, from_ms: int, to_ms: int, limit: int) -> list[tuple[int, str]]:
        """Raw points in [from_ms, to_ms], the newest ``limit`` of them, oldest first."""
        rows = await self.run(lambda c: c.execute(RAW_POINTS, (series, from_ms, to_ms, limit)).fetchall())
        return [(int(t), str(v)) for t, v in reversed(rows)]

    async def newest_points(self, series: int, limit: int) -> list[tuple[int, str]]:
        rows = await self.run(lambda c: c.execute(NEWEST_POINTS, (series, limit)).fetchall())
        return [(int(t), str(v)) for t, v in reversed(rows)]

    async def buckets(
        self, series: int, resolution: Resolution, from_bucket: int, to_ms: int, with_previous: bool = False
    ) -> tuple[Bucket | None, list[Bucket]]:
        """Rollups whose bucket starts in [from_bucket, to_ms]; with the one before them when asked (a growing
        index's first increase is measured from it)."""

        def work(c: sqlite3.Connection) -> tuple[Bucket | None, list[Bucket]]:
            rows = [Bucket(*r) for r in c.execute(ROLLUPS, (series, int(resolution), from_bucket, to_ms))]
            previous = None
            if with_previous:
                row = c.execute(ROLLUP_BEFORE, (series, int(resolution), from_bucket)).fetchone()
                previous = Bucket(*row) if row is not None else None
            return previous, rows

        return await self.run(work)
