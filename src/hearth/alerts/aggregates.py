"""``AGG.<stateName>/<H|D|M>``: min, max, sum, count and mean of a state's numbers over the current bucket.

A bucket is the current UTC hour, day or month. Each numeric value a device reports for the state (a
change: the state updater drops repeats) is one data point; text and booleans are not counted. When the
clock passes the end of a bucket the aggregate starts again empty: ``CNT`` and ``SUM`` are 0, ``MIN``,
``MAX`` and ``MEAN`` unknown. Only the aggregates some rule names are kept, from the moment that rule
exists (earlier values of the bucket are not counted).
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass
from typing import Any

from hearth.alerts.operators import MISSING, as_number

AggKey = tuple[str, str, str]  # (deviceURL, state name, time scale)


@dataclass(slots=True)
class Aggregate:
    start: int  # ms, start of the bucket
    min: float | None = None
    max: float | None = None
    sum: float = 0.0
    cnt: int = 0
    last: int | None = None  # ms of the latest data point

    def add(self, value: float, at_ms: int) -> None:
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)
        self.sum += value
        self.cnt += 1
        self.last = at_ms

    @property
    def mean(self) -> float | None:
        return self.sum / self.cnt if self.cnt else None

    def component(self, function: str) -> Any:
        if function == "CNT":
            return self.cnt
        if function == "SUM":
            return self.sum
        value = {"MIN": self.min, "MAX": self.max, "MEAN": self.mean}.get(function)
        return MISSING if value is None else value

    def to_json(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "cnt": self.cnt, "sum": self.sum, "mean": self.mean}


def bucket_start(scale: str, now_s: float) -> int:
    """Start (ms) of the UTC hour, day or month holding ``now_s``."""
    if scale == "H":
        return int(now_s // 3600 * 3600 * 1000)
    if scale == "D":
        return int(now_s // 86400 * 86400 * 1000)
    t = time.gmtime(now_s)
    return calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0)) * 1000


def next_bucket_start(scale: str, now_s: float) -> int:
    """Start (ms) of the bucket after the one holding ``now_s``."""
    if scale == "H":
        return bucket_start("H", now_s) + 3_600_000
    if scale == "D":
        return bucket_start("D", now_s) + 86_400_000
    t = time.gmtime(now_s)
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def data_point(value: Any) -> float | None:
    """The number a reported value counts as, or None (text, booleans, non-finite)."""
    if isinstance(value, str):
        return None
    number = as_number(value)
    return number if number is not None and math.isfinite(number) else None


class AggregateBook:
    """The current bucket of every aggregate in use."""

    def __init__(self) -> None:
        self._buckets: dict[AggKey, Aggregate] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def add(self, key: AggKey, value: float, now_s: float) -> Aggregate:
        agg = self.current(key, now_s)
        agg.add(value, int(now_s * 1000))
        self._buckets[key] = agg
        return agg

    def current(self, key: AggKey, now_s: float) -> Aggregate:
        """The aggregate of the bucket holding ``now_s`` (empty if nothing arrived in it)."""
        start = bucket_start(key[2], now_s)
        agg = self._buckets.get(key)
        if agg is None or agg.start != start:
            return Aggregate(start)
        return agg

    def restore(self, key: AggKey, agg: Aggregate) -> None:
        self._buckets[key] = agg

    def roll(self, now_s: float) -> list[AggKey]:
        """Empty every bucket that has ended; returns the keys that held data (their rules must be re-read)."""
        rolled = []
        for key, agg in self._buckets.items():
            start = bucket_start(key[2], now_s)
            if agg.start != start:
                if agg.cnt:
                    rolled.append(key)
                self._buckets[key] = Aggregate(start)
        return rolled

    def next_roll(self, now_s: float) -> float | None:
        """Seconds since the epoch of the next bucket end, or None when no aggregate is kept."""
        scales = {key[2] for key in self._buckets}
        if not scales:
            return None
        return min(next_bucket_start(s, now_s) for s in scales) / 1000

    def keep_only(self, wanted: set[AggKey]) -> None:
        for key in [k for k in self._buckets if k not in wanted]:
            del self._buckets[key]

    def items(self) -> list[tuple[AggKey, Aggregate]]:
        return list(self._buckets.items())
