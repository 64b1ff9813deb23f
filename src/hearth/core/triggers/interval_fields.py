"""Scheduling intervals as clients send them (``{"weeklySchedule": {...}}`` and the other kinds), checked
field by field; ``intervals`` says what each kind means."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hearth.core.triggers.fields import Reader, invalid, one_of
from hearth.core.triggers.intervals import BoundType, IntervalKind, SchedulingInterval, TimeBound

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _hhmm(r: Reader, key: str) -> int | None:
    value = r.data.get(key)
    if value is None or value == "":
        return None
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise r.error(key, 'must be "HH:MM"')
    return int(match.group(1)) * 60 + int(match.group(2))


def _bound(r: Reader, prefix: str, default_minutes: int) -> TimeBound:
    text = r.text(f"{prefix}Type", "TIME")
    try:
        kind = BoundType(str(text).upper())
    except ValueError:
        raise r.error(f"{prefix}Type", "must be TIME, DAWN or DUSK") from None
    angle_value = r.data.get(f"{prefix}Angle")
    angle = None
    if angle_value not in (None, 0):
        angle = r.number(f"{prefix}Angle")
        if not 0 < angle <= 18:
            raise r.error(f"{prefix}Angle", "must be between 0 and 18 degrees below the horizon")
    return TimeBound(
        kind,
        r.integer(f"{prefix}Minutes", default_minutes, 0, 1440),
        r.integer(f"{prefix}Offset", 0, -720, 720),
        angle,
        _hhmm(r, f"{prefix}AlwaysBefore"),
        _hhmm(r, f"{prefix}AlwaysAfter"),
    )


def _month_day(r: Reader, prefix: str) -> tuple[int, int]:
    month, day = r.required_integer(f"{prefix}Month", 1, 12), r.required_integer(f"{prefix}Day", 1, 31)
    try:
        date(2000, month, day)  # a leap year: 29 February is a day
    except ValueError:
        raise r.error(f"{prefix}Day", f"{month}/{day} is not a day of the year") from None
    return month, day


INTERVAL_KINDS = tuple(k.value for k in IntervalKind)
DAY_TYPES = ("WORK_DAY", "DAY_OFF_AT_HOME", "HOLIDAY")  # the calendar's (hearth.core.calendar.model.DayType)


def _day_types(r: Reader) -> frozenset[str]:
    """``dayType`` and the types ``mask`` adds (see intervals: the window opens on any of them)."""
    found = {r.required_text("dayType", 64)}
    mask = r.text("mask", max_length=256)
    if mask:
        found.update(part.strip() for part in re.split(r"[|,]", mask) if part.strip())
    for name in sorted(found):
        if name not in DAY_TYPES:
            raise r.error(
                "dayType" if name == r.data.get("dayType") else "mask",
                f"{name!r} is not a day type ({', '.join(DAY_TYPES)})",
            )
    return frozenset(found)


def parse_interval(value: Any, where: str) -> SchedulingInterval:
    kind_text, r = one_of(value, where, INTERVAL_KINDS)
    kind = IntervalKind(kind_text)
    if kind is IntervalKind.DAY_TYPE:
        whole_day = TimeBound(BoundType.TIME, 0)
        return SchedulingInterval(kind, whole_day, TimeBound(BoundType.TIME, 1440), day_types=_day_types(r))
    start, stop = _bound(r, "start", 0), _bound(r, "stop", 1440)
    if kind is IntervalKind.WEEKLY:
        return SchedulingInterval(
            kind,
            start,
            stop,
            start_day=r.required_integer("startDay", 1, 7),
            stop_day=r.required_integer("stopDay", 1, 7),
        )
    if kind in (IntervalKind.WEEK_DAYS, IntervalKind.WEEK_HOURS, IntervalKind.ANNUAL_WEEK_HOURS):
        mask = r.required_integer("dayMask", 0, 255)
        if not mask & 0x7F:
            raise r.error("dayMask", "selects no day (bit 0 Sunday ... bit 6 Saturday)")
        if kind is IntervalKind.ANNUAL_WEEK_HOURS:
            (m1, d1), (m2, d2) = _month_day(r, "start"), _month_day(r, "stop")
            return SchedulingInterval(
                kind, start, stop, start_day=d1, stop_day=d2, start_month=m1, stop_month=m2, day_mask=mask
            )
        return SchedulingInterval(kind, start, stop, day_mask=mask)
    if kind is IntervalKind.ANNUAL:
        (m1, d1), (m2, d2) = _month_day(r, "start"), _month_day(r, "stop")
        return SchedulingInterval(kind, start, stop, start_day=d1, stop_day=d2, start_month=m1, stop_month=m2)
    if kind is IntervalKind.ABSOLUTE:
        if start.type is not BoundType.TIME or stop.type is not BoundType.TIME:
            raise invalid(where, "an absolute schedule is given in minutes (TIME)")
        dates = []
        for prefix in ("start", "stop"):
            year = r.required_integer(f"{prefix}Year", 1970, 9999)
            month, day = _month_day(r, prefix)
            try:
                dates.append(date(year, month, day))
            except ValueError:
                raise r.error(f"{prefix}Day", f"{year}-{month}-{day} is not a date") from None
        if (dates[1], stop.minutes) <= (dates[0], start.minutes):
            raise invalid(where, "stops before it starts")
        return SchedulingInterval(
            kind,
            start,
            stop,
            start_day=dates[0].day,
            stop_day=dates[1].day,
            start_month=dates[0].month,
            stop_month=dates[1].month,
            start_year=dates[0].year,
            stop_year=dates[1].year,
        )
    return SchedulingInterval(kind, start, stop)
