"""History retention in bounded transactions, so that a sweep never stalls a command.

The gateway has one write connection; a command waits for its journal row behind whatever transaction holds
it. The v1 sweep ranked the whole history table in one statement (seconds with 10M rows). Here:

- The plan is read on the reader connection (WAL: it never blocks the writer): the series, which of them
  hold anything past a cutoff (their oldest key), and for the per-state row cap, which may be over it. The
  count comes from the daily rollups (a few hundred rows per series, not its raw points); only a series over
  the cap has its cap time looked up in its raw index.
- Deletes are per series, over an indexed time range, at most ``batch_rows`` rows a statement. A transaction
  runs statements until ``batch_rows`` rows are gone or ``budget_ms`` has passed, commits (unsynced), then
  the sweep pauses, at least ``pause_s`` and long enough to keep its share of the write connection under
  ``duty``, so that the writer's queued commits go first.

Every rollup is kept at least as long as the raw points it summarises (a resolution's retention is raised to
the longest raw retention), so that the cap's estimate always has its daily rows.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from functools import partial

from hearth.store.database import Database
from hearth.store.history_reader import HistoryReader
from hearth.store.rollups import Resolution

log = logging.getLogger(__name__)

DAY_MS = 86_400_000

# The oldest ``limit`` rows under the cutoff, or all of them when fewer: both bounds are on the primary key.
DELETE_RAW = (
    "DELETE FROM state_raw WHERE series = ?1 AND time < ?2 AND time <= coalesce("
    "(SELECT time FROM state_raw WHERE series = ?1 AND time < ?2 ORDER BY time LIMIT 1 OFFSET ?3), ?2)"
)
DELETE_ROLLUPS = (
    "DELETE FROM state_rollups WHERE series = ?1 AND resolution = ?4 AND bucket < ?2 AND bucket <= coalesce("
    "(SELECT bucket FROM state_rollups WHERE series = ?1 AND resolution = ?4 AND bucket < ?2 "
    "ORDER BY bucket LIMIT 1 OFFSET ?3), ?2)"
)
SAMPLES_SINCE = "SELECT sum(samples) FROM state_rollups WHERE series = ? AND resolution = 1 AND bucket >= ?"
CAP_TIME = "SELECT time FROM state_raw WHERE series = ? ORDER BY time DESC LIMIT 1 OFFSET ?"
OLDEST_POINT = "SELECT time FROM state_raw WHERE series = ? ORDER BY time LIMIT 1"
OLDEST_BUCKET = "SELECT bucket FROM state_rollups WHERE series = ? AND resolution = ? ORDER BY bucket LIMIT 1"


@dataclass(slots=True)
class RetentionPolicy:
    retention_days: float
    per_state_days: dict[str, float]
    max_rows_per_state: int
    hourly_days: float = 90
    daily_days: float = 1095
    monthly_days: float = 3650

    def raw_days(self, name: str) -> float:
        return self.per_state_days.get(name, self.retention_days)

    def rollup_days(self, resolution: Resolution) -> float:
        days = {
            Resolution.HOUR: self.hourly_days,
            Resolution.DAY: self.daily_days,
            Resolution.MONTH: self.monthly_days,
        }[resolution]
        longest_raw = max([self.retention_days, *self.per_state_days.values()])
        return max(days, longest_raw)


@dataclass(slots=True)
class SweepStats:
    """What the last sweep did: for the log, the metrics and the tests."""

    raw_deleted: int = 0
    rollups_deleted: int = 0
    transactions: int = 0
    # Round trip of the longest transaction from the loop: queueing behind other writes, BEGIN, the deletes,
    # COMMIT and its sync. ``longest_hold_ms``: the deletes alone, inside the transaction.
    longest_ms: float = 0.0
    longest_hold_ms: float = 0.0
    most_rows: int = 0
    capped_series: int = 0
    seconds: float = 0.0
    per_transaction_ms: list[float] = field(default_factory=list)
    hold_ms: list[float] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    table: str  # "raw" or "rollups"
    series: int
    cutoff: int
    resolution: int = 0


class HistoryRetention:
    def __init__(
        self,
        db: Database,
        reader: HistoryReader,
        policy: RetentionPolicy,
        *,
        batch_rows: int = 200,
        budget_ms: float = 1.0,
        pause_s: float = 0.002,
        duty: float = 0.25,
    ) -> None:
        self._db = db
        self._reader = reader
        self.policy = policy
        self.batch_rows = batch_rows
        self.budget_ms = budget_ms
        self.pause_s = pause_s
        # At most this share of the write connection's time: a slow (or busy) machine gets longer pauses.
        self.duty = duty
        self.last = SweepStats()
        self._lock = asyncio.Lock()

    async def sweep(self, now_ms: int | None = None) -> int:
        """Delete what is past its retention. Returns the raw points deleted."""
        async with self._lock:  # one sweep at a time (the hourly one and one asked for by a test or a tool)
            started = time.perf_counter()
            now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
            stats = SweepStats()
            jobs = await self._plan(now_ms, stats)
            await self._run(jobs, stats)
            stats.seconds = time.perf_counter() - started
            self.last = stats
            if stats.raw_deleted or stats.rollups_deleted:
                log.info(
                    "history retention removed %d points and %d rollups in %d transactions (longest %.1f ms)",
                    stats.raw_deleted,
                    stats.rollups_deleted,
                    stats.transactions,
                    stats.longest_ms,
                )
            return stats.raw_deleted

    async def _plan(self, now_ms: int, stats: SweepStats) -> list[_Job]:
        series: list[tuple[int, str]] = await self._reader.run(
            lambda c: [(int(r[0]), str(r[1])) for r in c.execute("SELECT id, name FROM history_series")]
        )
        cap = self.policy.max_rows_per_state
        raw_cutoffs = {sid: now_ms - int(self.policy.raw_days(name) * DAY_MS) for sid, name in series}

        rollup_cutoffs = [(int(r), now_ms - int(self.policy.rollup_days(r) * DAY_MS)) for r in Resolution]

        def plan(conn: sqlite3.Connection, part: list[int]) -> list[_Job]:
            """The deletes this slice of series needs: none for a series with nothing past its cutoffs, so
            that the write transactions only delete."""
            jobs = []
            for sid in part:
                cutoff = raw_cutoffs[sid]
                # Points newer than the time cutoff, by the daily rollups (a day early: the first bucket is
                # partial, so this may overcount, never undercount, points the cap has not removed yet).
                row = conn.execute(SAMPLES_SINCE, (sid, cutoff - DAY_MS)).fetchone()
                if row is not None and row[0] is not None and int(row[0]) > cap:
                    newest_dropped = conn.execute(CAP_TIME, (sid, cap)).fetchone()
                    if newest_dropped is not None:
                        stats.capped_series += 1
                        cutoff = max(cutoff, int(newest_dropped[0]) + 1)
                oldest = conn.execute(OLDEST_POINT, (sid,)).fetchone()
                if oldest is not None and int(oldest[0]) < cutoff:
                    jobs.append(_Job("raw", sid, cutoff))
                for resolution, bucket_cutoff in rollup_cutoffs:
                    oldest = conn.execute(OLDEST_BUCKET, (sid, resolution)).fetchone()
                    if oldest is not None and int(oldest[0]) < bucket_cutoff:
                        jobs.append(_Job("rollups", sid, bucket_cutoff, resolution))
            return jobs

        jobs: list[_Job] = []
        ids = list(raw_cutoffs)
        for i in range(0, len(ids), 200):  # a slice at a time: the reader serves API queries in between
            jobs.extend(await self._reader.run(partial(plan, part=ids[i : i + 200])))
        return jobs

    async def _run(self, jobs: list[_Job], stats: SweepStats) -> None:
        position = 0
        while position < len(jobs):
            began = time.perf_counter()
            # Not synced: a delete lost in a power cut is done again by the next sweep.
            position, raw, rollups, hold = await self._db.atomic(
                partial(self._batch, jobs=jobs, position=position), sync=False
            )
            elapsed = (time.perf_counter() - began) * 1000
            stats.longest_hold_ms = max(stats.longest_hold_ms, hold)
            stats.hold_ms.append(hold)
            stats.transactions += 1
            stats.raw_deleted += raw
            stats.rollups_deleted += rollups
            stats.longest_ms = max(stats.longest_ms, elapsed)
            stats.most_rows = max(stats.most_rows, raw + rollups)
            stats.per_transaction_ms.append(elapsed)
            await asyncio.sleep(max(self.pause_s, elapsed / 1000 * (1 - self.duty) / self.duty))

    def _batch(self, conn: sqlite3.Connection, jobs: list[_Job], position: int) -> tuple[int, int, int, float]:
        """Run jobs from ``position`` within one transaction's row and time budget; returns where to resume,
        the rows deleted and the ms it took."""
        began = time.perf_counter()
        deadline = began + self.budget_ms / 1000
        raw = rollups = 0
        while position < len(jobs):
            room = self.batch_rows - raw - rollups
            if room <= 0 or time.perf_counter() >= deadline:
                break
            job = jobs[position]
            if job.table == "raw":
                count = conn.execute(DELETE_RAW, (job.series, job.cutoff, room - 1)).rowcount
                raw += count
            else:
                count = conn.execute(DELETE_ROLLUPS, (job.series, job.cutoff, room - 1, job.resolution)).rowcount
                rollups += count
            if count < room:
                position += 1  # nothing older is left in this series
        return position, raw, rollups, (time.perf_counter() - began) * 1000
