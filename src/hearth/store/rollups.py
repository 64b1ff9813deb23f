"""Rollups of state history: hour, day and month buckets, kept up to date as each point is written.

A bucket is a period of the gateway's local time (its timezone, from ``/setup/location``); its key is the
period's start in ms. Each bucket holds the count of points, and for numbers their sum, minimum and maximum;
for every value, the newest one. Averages (sum / count) are of the reported samples, not time-weighted: a
sensor that reports on change would need its previous value carried into each bucket for a time-weighted
mean, which the seed does not ask for.

The year is not stored: a year is at most 12 month rows, summed when it is read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import IntEnum
from typing import Any

HOUR_MS = 3_600_000


class Resolution(IntEnum):
    HOUR = 0
    DAY = 1
    MONTH = 2


UPSERT_ROLLUP = (
    "INSERT INTO state_rollups (series, resolution, bucket, samples, total, low, high, last, last_time) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series, resolution, bucket) DO UPDATE SET "
    "samples = samples + excluded.samples, total = total + excluded.total, low = min(low, excluded.low), "
    "high = max(high, excluded.high), "
    "last = CASE WHEN excluded.last_time >= last_time THEN excluded.last ELSE last END, "
    "last_time = max(last_time, excluded.last_time)"
)


def numeric(value: Any) -> float | None:
    """The value as a number when it is one (booleans are not), else None."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None


def _start(moment: datetime, resolution: Resolution) -> datetime:
    if resolution is Resolution.DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next(start: datetime, resolution: Resolution) -> datetime:
    if resolution is Resolution.DAY:
        return start + timedelta(days=1)  # naive local arithmetic: a 23- or 25-hour DST day ends at midnight
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def bucket_bounds(ts_ms: int, resolution: Resolution, tz: tzinfo) -> tuple[int, int]:
    """[start, end) in ms of the local period holding ``ts_ms``.

    Local wall times are converted back through the zone's rules, so a day is 23 or 25 hours across a DST
    change; an hour bucket in a half-hour zone starts on the local hour.
    """
    local = datetime.fromtimestamp(ts_ms / 1000, tz)
    if resolution is Resolution.HOUR:
        # By the offset in force at that instant: the repeated hour of a DST change is two buckets.
        offset = local.utcoffset()
        offset_ms = int(offset.total_seconds() * 1000) if offset is not None else 0
        start_ms = ts_ms - (ts_ms + offset_ms) % HOUR_MS
        return start_ms, start_ms + HOUR_MS
    start = _start(local.replace(tzinfo=None), resolution)
    end = _next(start, resolution)
    return _ms(start.replace(tzinfo=tz)), _ms(end.replace(tzinfo=tz))


def buckets_between(from_ms: int, to_ms: int, resolution: Resolution, tz: tzinfo) -> list[int]:
    """Starts of every bucket that overlaps [from_ms, to_ms], oldest first."""
    starts = []
    start, end = bucket_bounds(from_ms, resolution, tz)
    while start <= to_ms:
        starts.append(start)
        start, end = end, bucket_bounds(end, resolution, tz)[1]
    return starts


class BucketClock:
    """Bucket starts for a stream of timestamps, cheap when they arrive in order (one cache per resolution).

    ``timezone`` is asked again only on a cache miss, so a change of the setup's timezone applies from the
    next bucket on; buckets already written keep the zone they were written in.
    """

    def __init__(self, timezone: Callable[[], tzinfo]) -> None:
        self.timezone = timezone
        self._cache: dict[Resolution, tuple[int, int]] = {r: (0, 0) for r in Resolution}

    def start(self, ts_ms: int, resolution: Resolution) -> int:
        start, end = self._cache[resolution]
        if start <= ts_ms < end:
            return start
        bounds = bucket_bounds(ts_ms, resolution, self.timezone())
        self._cache[resolution] = bounds
        return bounds[0]


class RollupBuffer:
    """Rollup rows of the current batch window, one per (series, resolution, bucket), summed in memory.

    A sensor reporting in bursts, or a thousand of them at once, costs one upsert per bucket per window rather
    than three per point. ``drain`` hands the rows to the writer just before it flushes the stream, so they
    are written in the same flush as their points (and lost with them in a crash: the stream's bargain).
    The merge is the same as UPSERT_ROLLUP's: a value that is not a number makes sum/min/max NULL.
    """

    def __init__(self, clock: BucketClock) -> None:
        self.clock = clock
        self._rows: dict[tuple[int, int, int], list[Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, series: int, ts_ms: int, value: Any, value_json: str) -> None:
        number = numeric(value)
        rows = self._rows
        for resolution in Resolution:
            bucket = self.clock.start(ts_ms, resolution)
            key = (series, resolution, bucket)
            row = rows.get(key)
            if row is None:
                rows[key] = [series, int(resolution), bucket, 1, number, number, number, value_json, ts_ms]
                continue
            row[3] += 1
            if number is None or row[4] is None:
                row[4] = row[5] = row[6] = None
            else:
                row[4] += number
                row[5] = min(row[5], number)
                row[6] = max(row[6], number)
            if ts_ms >= row[8]:
                row[7], row[8] = value_json, ts_ms

    def drain(self) -> list[list[Any]]:
        rows = list(self._rows.values())
        self._rows.clear()
        return rows


@dataclass(slots=True)
class Bucket:
    """One rollup row as read back (or several summed: a year of months)."""

    start: int
    samples: int
    total: float | None
    low: float | None
    high: float | None
    last: str
    last_time: int

    @property
    def average(self) -> float | None:
        return self.total / self.samples if self.total is not None and self.samples else None

    def merge(self, other: Bucket) -> None:
        self.samples += other.samples
        self.total = None if self.total is None or other.total is None else self.total + other.total
        self.low = None if self.low is None or other.low is None else min(self.low, other.low)
        self.high = None if self.high is None or other.high is None else max(self.high, other.high)
        if other.last_time >= self.last_time:
            self.last, self.last_time = other.last, other.last_time


def years_of(months: list[Bucket], tz: tzinfo) -> list[Bucket]:
    """Month buckets summed into local years (each keyed by the year's start)."""
    years: dict[int, Bucket] = {}
    for month in months:
        year_start = datetime.fromtimestamp(month.start / 1000, tz).replace(
            month=1, day=1, hour=0, minute=0, second=0, microsecond=0
        )
        key = _ms(year_start.replace(tzinfo=None).replace(tzinfo=tz))
        current = years.get(key)
        if current is None:
            years[key] = Bucket(key, month.samples, month.total, month.low, month.high, month.last, month.last_time)
        else:
            current.merge(month)
    return [years[k] for k in sorted(years)]
