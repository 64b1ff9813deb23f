"""Which calendar objects apply on a date, the day type they make of it, and when their time triggers run.

See ``hearth.core.calendar.model`` for the meaning of each field. Dates are local dates of the setup's
timezone; moments are epoch seconds, computed through the timezone on each date (so 07:00 is 07:00 in
summer and in winter; a time that a spring-forward skips runs at the same offset after the change, e.g.
02:30 in Paris on the last Sunday of March runs at 03:30; a time that a fall-back repeats runs once, at its
first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hearth.core.calendar.model import CalendarDay, CalendarRule, DayType, TimeTrigger, TimeTriggerType
from hearth.core.sun import SunSetting
from hearth.core.triggers.intervals import local_time

# How far ahead the next run is looked for (a rule may start months from now).
HORIZON_DAYS = 400


@dataclass(frozen=True, slots=True)
class DayFilter:
    """dayView's filters: objects to leave out, and the lowest rule priority still taken."""

    days: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    triggers: frozenset[str] = frozenset()
    min_priority: int | None = None


NO_FILTER = DayFilter()


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: date
    day_type: DayType | None
    rules: list[CalendarRule]
    days: list[CalendarDay]
    triggers: list[tuple[CalendarRule, TimeTrigger]]  # each trigger once, with the rule that brought it


@dataclass(frozen=True, slots=True)
class Run:
    """One time trigger due at one moment."""

    due: float
    day: date
    rule_oid: str
    trigger: TimeTrigger

    @property
    def key(self) -> str:
        return f"{self.day.isoformat()}|{self.trigger.id}"


class Planning:
    """The calendar in memory: its days, its rules, its switch."""

    def __init__(self) -> None:
        self.days: dict[str, CalendarDay] = {}
        self.rules: dict[str, CalendarRule] = {}
        self.enabled = True
        self._types: dict[date, DayType | None] = {}

    def changed(self) -> None:
        self._types.clear()

    def day_of(self, rule: CalendarRule) -> CalendarDay | None:
        if rule.local_day is not None:
            return rule.local_day
        return self.days.get(rule.day_oid or "")

    def plan(self, day: date, where: DayFilter = NO_FILTER) -> DayPlan:
        rules = sorted(
            (
                r
                for r in self.rules.values()
                if r.oid not in where.rules
                and r.applies(day)
                and (where.min_priority is None or r.priority >= where.min_priority)
            ),
            key=lambda r: (-r.priority, r.created, r.oid),
        )
        taken: list[CalendarRule] = []
        for rule in rules:
            taken.append(rule)
            if rule.final:
                break
        days: list[CalendarDay] = []
        triggers: list[tuple[CalendarRule, TimeTrigger]] = []
        seen: set[str] = set()
        day_type: DayType | None = None
        for rule in taken:
            found = self.day_of(rule)
            if day_type is None:
                day_type = rule.day_type or (found.type if found is not None else None)
            if found is None or found.oid in where.days:
                continue
            if found not in days:
                days.append(found)
            for trigger in found.triggers:
                if trigger.id not in seen and trigger.id not in where.triggers:
                    seen.add(trigger.id)
                    triggers.append((rule, trigger))
        return DayPlan(day, day_type, taken, days, triggers)

    def day_type(self, day: date) -> str | None:
        """The kind of day the calendar makes of ``day`` (None: the calendar is off or says nothing)."""
        if not self.enabled:
            return None
        if day not in self._types:
            if len(self._types) > 4096:
                self._types.clear()
            self._types[day] = self.plan(day).day_type
        found = self._types[day]
        return found.value if found is not None else None

    # ------------------------------------------------------------------ time triggers

    def fire_time(self, rule: CalendarRule, trigger: TimeTrigger, day: date, sun: SunSetting) -> float | None:
        """When ``trigger`` runs on ``day`` (None: not that day)."""
        tz = sun.tz
        if trigger.type is TimeTriggerType.TIME:
            moment: float | None = local_time(day, trigger.minutes, tz)
        else:
            found = sun.dawn(day) if trigger.type is TimeTriggerType.DAWN else sun.dusk(day)
            offset = trigger.dawn_offset if trigger.type is TimeTriggerType.DAWN else trigger.dusk_offset
            moment = None if found is None else found.timestamp() + offset * 60
        if moment is None:  # no dawn or dusk that day (polar, or no coordinates): the held time, if any
            fallback = trigger.always_before if trigger.always_before is not None else trigger.always_after
            if fallback is None:
                return None
            moment = local_time(day, fallback, tz)
        moment += trigger.random_offset(day, rule.random_range) * 60
        if trigger.always_after is not None:
            moment = max(moment, local_time(day, trigger.always_after, tz))
        if trigger.always_before is not None:
            moment = min(moment, local_time(day, trigger.always_before, tz))
        if day == rule.start and moment < local_time(day, rule.start_minutes, tz):
            return None
        if day == rule.end and moment >= local_time(day, rule.end_minutes, tz):
            return None
        return moment

    def runs_on(self, day: date, sun: SunSetting) -> list[Run]:
        if not self.enabled:
            return []
        runs = []
        for rule, trigger in self.plan(day).triggers:
            if not trigger.enabled:
                continue
            moment = self.fire_time(rule, trigger, day, sun)
            if moment is not None:
                runs.append(Run(moment, day, rule.oid, trigger))
        return runs

    def _days_around(self, start: float, stop: float, sun: SunSetting) -> Iterable[date]:
        # A run's moment may fall on the day before or after its date (offsets of up to 12 h).
        first = datetime.fromtimestamp(start, sun.tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(stop, sun.tz).date() + timedelta(days=1)
        day = first
        while day <= last:
            yield day
            day += timedelta(days=1)

    def runs_between(self, start: float, stop: float, sun: SunSetting) -> list[Run]:
        """Runs due in ``[start, stop]``, in time order."""
        found = [
            run
            for day in self._days_around(start, stop, sun)
            for run in self.runs_on(day, sun)
            if start <= run.due <= stop
        ]
        return sorted(found, key=lambda r: (r.due, r.key))

    def next_runs(self, after: float, sun: SunSetting) -> tuple[float, list[Run]] | None:
        """The first moment after ``after`` when time triggers run, and those runs."""
        if not self.enabled or not self.rules:
            return None
        today = datetime.fromtimestamp(after, sun.tz).date()
        best: float | None = None
        runs: list[Run] = []
        for offset in range(-1, HORIZON_DAYS):
            day = today + timedelta(days=offset)
            if best is not None and local_time(day, 0, sun.tz) - 43_200 > best:
                break
            for run in self.runs_on(day, sun):
                if run.due <= after:
                    continue
                if best is None or run.due < best:
                    best, runs = run.due, [run]
                elif run.due == best:
                    runs.append(run)
        return None if best is None else (best, runs)
