"""Scheduling intervals: when a trigger in mode 3 (scheduled) is enabled.

Each interval yields windows ``[start, stop)`` in epoch seconds. A bound is a time of the local day (the
location's timezone): ``TIME`` is ``startMinutes``/``stopMinutes`` after midnight (0..1440); ``DAWN`` and
``DUSK`` are the location's dawn or dusk (its own offset included) plus ``startOffset``/``stopOffset``
minutes, computed at ``startAngle``/``stopAngle`` degrees below the horizon when one is given (0 or absent:
the location's twilight angle), then held at or after ``...AlwaysAfter`` and at or before
``...AlwaysBefore`` ("HH:MM"; before wins when both apply). On a day without dawn or dusk (polar, or no
coordinates) the bound falls back to AlwaysBefore, else AlwaysAfter, else that day has no window.

Days are ranked 1 (Sunday) to 7 (Saturday), as ``enabledDays`` of the End-User API; a ``dayMask`` has bit
``rank - 1`` for each day (bit 0 Sunday ... bit 6 Saturday; bit 7 is ignored).

- ``dailySchedule``: every day, from start to stop (past midnight when stop is not after start).
- ``weekDays``, ``weekHours``: the same, on the days of ``dayMask`` (the day the window starts).
- ``annualWeekHours``: the same, also only between startMonth/startDay and stopMonth/stopDay (inclusive;
  wrapping over the new year when stop comes before start).
- ``weeklySchedule``: one window a week, from (startDay, start) to the next (stopDay, stop).
- ``annualSchedule``: one window a year, from (startMonth/startDay, start) to the next (stopMonth/stopDay,
  stop).
- ``absoluteSchedule``: one window, from startYear/startMonth/startDay at startMinutes to the stop date.
- ``dayType``: open for each whole local day (midnight to midnight, 23 or 25 hours on a DST change) whose
  day type, as the calendar (``/setup/calendar``) makes it, is ``dayType`` or one of ``mask``. The API gives
  ``{"dayType": "WORK_DAY", "mask": "DAY_OFF_AT_HOME"}`` and no meaning for ``mask``; a day has one type, so
  a mask that excluded would mean nothing: here it names more day types that also open the window (one, or
  several separated by ``|`` or ``,``). Closed on every day while the calendar is switched off.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import NamedTuple, Protocol

from hearth.core.sun import SunSetting

MINUTES_PER_DAY = 1440


class DayTypes(Protocol):
    """Where day types come from (the calendar)."""

    def day_type(self, day: date) -> str | None: ...


class BoundType(StrEnum):
    TIME = "TIME"
    DAWN = "DAWN"
    DUSK = "DUSK"


class IntervalKind(StrEnum):
    DAILY = "dailySchedule"
    WEEKLY = "weeklySchedule"
    ANNUAL = "annualSchedule"
    WEEK_DAYS = "weekDays"
    WEEK_HOURS = "weekHours"
    ANNUAL_WEEK_HOURS = "annualWeekHours"
    ABSOLUTE = "absoluteSchedule"
    DAY_TYPE = "dayType"


# How far back a window that is still open may have started, and how far ahead the next one may lie.
_LOOKBACK_DAYS = {
    IntervalKind.DAILY: 2,
    IntervalKind.WEEK_DAYS: 2,
    IntervalKind.WEEK_HOURS: 2,
    IntervalKind.ANNUAL_WEEK_HOURS: 2,
    IntervalKind.WEEKLY: 15,
    IntervalKind.ANNUAL: 367 * 2,
    IntervalKind.ABSOLUTE: 0,
    IntervalKind.DAY_TYPE: 1,
}
_HORIZON_DAYS = {
    IntervalKind.DAILY: 3,
    IntervalKind.WEEK_DAYS: 9,
    IntervalKind.WEEK_HOURS: 9,
    IntervalKind.ANNUAL_WEEK_HOURS: 370,
    IntervalKind.WEEKLY: 16,
    IntervalKind.ANNUAL: 370,
    IntervalKind.ABSOLUTE: 0,
    IntervalKind.DAY_TYPE: 400,
}


def day_rank(day: date) -> int:
    """1 for Sunday ... 7 for Saturday."""
    return (day.weekday() + 1) % 7 + 1


def local_time(day: date, minutes: int, tz: tzinfo) -> float:
    """Epoch seconds of ``minutes`` after local midnight of ``day`` (1440 is the next midnight)."""
    extra, minutes = divmod(minutes, MINUTES_PER_DAY)
    moment = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60), tz)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class TimeBound:
    type: BoundType = BoundType.TIME
    minutes: int = 0
    offset: int = 0
    angle: float | None = None
    always_before: int | None = None
    always_after: int | None = None

    def at(self, day: date, sun: SunSetting) -> float | None:
        tz = sun.tz
        if self.type is BoundType.TIME:
            return local_time(day, self.minutes, tz)
        found = sun.dawn(day, self.angle) if self.type is BoundType.DAWN else sun.dusk(day, self.angle)
        if found is None:
            fallback = self.always_before if self.always_before is not None else self.always_after
            return None if fallback is None else local_time(day, fallback, tz)
        moment = found.timestamp() + self.offset * 60
        if self.always_after is not None:
            moment = max(moment, local_time(day, self.always_after, tz))
        if self.always_before is not None:
            moment = min(moment, local_time(day, self.always_before, tz))
        return moment


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    stop: float
    start_type: BoundType


class WindowChange(NamedTuple):
    """A moment the union of the windows opens or closes, and the window open from then (None: closed)."""

    at: float
    window: Window | None


@dataclass(frozen=True, slots=True)
class SchedulingInterval:
    kind: IntervalKind
    start: TimeBound
    stop: TimeBound
    start_day: int | None = None
    stop_day: int | None = None
    start_month: int | None = None
    stop_month: int | None = None
    start_year: int | None = None
    stop_year: int | None = None
    day_mask: int | None = None
    day_types: frozenset[str] = frozenset()

    def _in_range(self, day: date) -> bool:
        assert self.start_month and self.start_day and self.stop_month and self.stop_day
        here, first, last = (day.month, day.day), (self.start_month, self.start_day), (self.stop_month, self.stop_day)
        return first <= here <= last if first <= last else here >= first or here <= last

    def _qualifies(self, day: date, calendar: DayTypes | None = None) -> bool:
        kind = self.kind
        if kind is IntervalKind.DAY_TYPE:
            return calendar is not None and calendar.day_type(day) in self.day_types
        if kind is IntervalKind.DAILY:
            return True
        if kind in (IntervalKind.WEEK_DAYS, IntervalKind.WEEK_HOURS, IntervalKind.ANNUAL_WEEK_HOURS):
            if not (self.day_mask or 0) >> (day_rank(day) - 1) & 1:
                return False
            return kind is not IntervalKind.ANNUAL_WEEK_HOURS or self._in_range(day)
        if kind is IntervalKind.WEEKLY:
            return day_rank(day) == self.start_day
        if kind is IntervalKind.ANNUAL:
            return (day.month, day.day) == (self.start_month, self.start_day)
        return False

    def _stop_day(self, day: date) -> date:
        """The local date of the stop bound for a window starting on ``day``."""
        if self.kind is IntervalKind.WEEKLY:
            assert self.start_day is not None and self.stop_day is not None
            return day + timedelta(days=(self.stop_day - self.start_day) % 7)
        if self.kind is IntervalKind.ANNUAL:
            assert self.stop_month is not None and self.stop_day is not None
            for year in (day.year, day.year + 1, day.year + 2):
                try:
                    candidate = date(year, self.stop_month, self.stop_day)
                except ValueError:  # 29 February of a common year
                    continue
                if candidate >= day:
                    return candidate
        return day

    def _next_stop(self, day: date, stop_date: date, start: float, sun: SunSetting) -> float | None:
        stop = self.stop.at(stop_date, sun)
        if stop is not None and stop > start:
            return stop
        # Stop is not after start on that day: the window ends at the next occurrence of the stop bound.
        step = {IntervalKind.WEEKLY: 7, IntervalKind.ANNUAL: 365}.get(self.kind, 1)
        for _ in range(3):
            stop_date = stop_date + timedelta(days=step)
            if self.kind is IntervalKind.ANNUAL:
                stop_date = self._stop_day(stop_date)
            stop = self.stop.at(stop_date, sun)
            if stop is not None and stop > start:
                return stop
        return None

    def windows(self, sun: SunSetting, first: date, last: date, calendar: DayTypes | None = None) -> Iterator[Window]:
        """Windows whose start day lies in ``[first, last]``, in order of start."""
        if self.kind is IntervalKind.DAY_TYPE:
            # Consecutive days of the type make one window (a fortnight of holidays opens once).
            day, opened = first, None
            while day <= last:
                if self._qualifies(day, calendar):
                    opened = opened or day
                elif opened is not None:
                    yield Window(local_time(opened, 0, sun.tz), local_time(day, 0, sun.tz), BoundType.TIME)
                    opened = None
                day += timedelta(days=1)
            if opened is not None:
                yield Window(local_time(opened, 0, sun.tz), local_time(day, 0, sun.tz), BoundType.TIME)
            return
        if self.kind is IntervalKind.ABSOLUTE:
            assert self.start_year and self.start_month and self.start_day
            assert self.stop_year and self.stop_month and self.stop_day
            start_date = date(self.start_year, self.start_month, self.start_day)
            start = self.start.at(start_date, sun)
            stop = self.stop.at(date(self.stop_year, self.stop_month, self.stop_day), sun)
            if start is not None and stop is not None and stop > start:
                yield Window(start, stop, self.start.type)
            return
        day = first
        while day <= last:
            if self._qualifies(day):
                start = self.start.at(day, sun)
                if start is not None:
                    stop = self._next_stop(day, self._stop_day(day), start, sun)
                    if stop is not None:
                        yield Window(start, stop, self.start.type)
            day += timedelta(days=1)

    def _around(self, sun: SunSetting, now: float, ahead: bool, calendar: DayTypes | None) -> Iterator[Window]:
        today = datetime.fromtimestamp(now, sun.tz).date()
        first = today - timedelta(days=_LOOKBACK_DAYS[self.kind])
        last = today + timedelta(days=_HORIZON_DAYS[self.kind] if ahead else 1)
        return self.windows(sun, first, last, calendar)

    def active_window(self, sun: SunSetting, now: float, calendar: DayTypes | None = None) -> Window | None:
        for window in self._around(sun, now, False, calendar):
            if window.start <= now < window.stop:
                return window
        return None

    def next_boundary(self, sun: SunSetting, now: float, calendar: DayTypes | None = None) -> float | None:
        """The first start or stop of a window after ``now``."""
        found: float | None = None
        for window in self._around(sun, now, True, calendar):
            for moment in (window.start, window.stop):
                if moment > now and (found is None or moment < found):
                    found = moment
            if found is not None and window.start > found:
                break
        return found


def active_window(
    intervals: Sequence[SchedulingInterval], sun: SunSetting, now: float, calendar: DayTypes | None = None
) -> Window | None:
    for interval in intervals:
        window = interval.active_window(sun, now, calendar)
        if window is not None:
            return window
    return None


def next_change(
    intervals: Sequence[SchedulingInterval],
    sun: SunSetting,
    now: float,
    max_steps: int = 64,
    calendar: DayTypes | None = None,
) -> WindowChange | None:
    """The next moment the union of the windows opens or closes, and the window open from then (None: closed).

    None when nothing changes any more (an absolute window in the past, or no interval).
    """
    currently = active_window(intervals, sun, now, calendar) is not None
    moment = now
    for _ in range(max_steps):
        boundaries = [b for b in (i.next_boundary(sun, moment, calendar) for i in intervals) if b is not None]
        if not boundaries:
            return None
        moment = min(boundaries)
        window = active_window(intervals, sun, moment, calendar)
        if (window is not None) != currently:
            return WindowChange(moment, window)
    return None
