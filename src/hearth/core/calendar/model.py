"""Calendar days and weekly calendar rules as clients send them, checked field by field.

The End-User API gives the shapes (``/setup/calendar/days``, ``/setup/calendar/rules``) but not their
meaning; what this gateway makes of each field is written here and in the README's Calendar section:

- A **calendar day** is a kind of day (``type``: WORK_DAY, DAY_OFF_AT_HOME or HOLIDAY, the values the API's
  examples show) and the time triggers that run on such a day (``dayTimeTriggers``). A day on its own runs
  nothing: rules say on which dates it applies.
- A time trigger (``startActionGroupTimeTrigger``) runs an action group (``localActionGroup``, carried inline,
  wins over ``actionGroupOID``) at ``triggerType`` TIME (``hours``:``minutes``, local time), DAWN
  (+ ``dawnOffset`` minutes) or DUSK (+ ``duskOffset`` minutes). Then a random offset: up to
  ``randomTimeOffset`` minutes either way (0: none; a day's trigger without one takes the rule's
  ``randomTimeRange``), drawn from the trigger's id and the date so that a restart keeps the same moment.
  Then it is held at or after ``alwaysAfterHours``:``alwaysAfterMinutes`` and at or before
  ``alwaysBeforeHours``:``alwaysBeforeMinutes`` (before wins). ``enabled`` false: kept, not run.
- A **weekly calendar rule** applies its day (``calendarDayOID``, or ``localCalendarDay`` kept with the rule)
  on the days of ``dayMask`` (bit 0 Sunday ... bit 6 Saturday, as the scheduling intervals of setup
  triggers; absent: every day), every ``period`` weeks counted from the week of its start date (absent or
  1: every week), from ``startYear``/``startMonth``/``startDay`` at ``startTimeHours``:``startTimeMinutes``
  to ``endYear``/``endMonth``/``endDay`` at ``endTimeHours``:``endTimeMinutes`` (absent: no limit; the
  times only cut the first and the last day). ``dayType`` (absent: its day's type) is the kind of day the
  rule makes of a date. ``presenceFilter``: only NO_FILTER (the box knows nobody's presence).
- On a date, the enabled rules that apply are taken by ``priority``, highest number first, down to and
  including the first ``finalRule``: the first one gives the date its day type, and the time triggers of
  all their days run (each trigger once).
- ``withTimeValidityChecks`` (default true): a rule must end after it starts, and not in the past.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from hearth.core.triggers.fields import Reader
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError, ErrorCode

MAX_TIME_TRIGGERS = 50
MAX_BODY_CHARS = 256 * 1024
ALL_DAYS = 0x7F


class DayType(StrEnum):
    WORK_DAY = "WORK_DAY"
    DAY_OFF_AT_HOME = "DAY_OFF_AT_HOME"
    HOLIDAY = "HOLIDAY"


class TimeTriggerType(StrEnum):
    TIME = "TIME"
    DAWN = "DAWN"
    DUSK = "DUSK"


class CalendarReader(Reader):
    """A Reader whose errors say "calendar" (the trigger model's Reader says "setup trigger")."""

    def error(self, key: str, reason: str) -> ApiError:
        return invalid(self.where(key), reason)

    def child(self, key: str) -> CalendarReader | None:
        found = self.obj(key)
        return None if found is None else CalendarReader(found.data, found.path)


def invalid(where: str, reason: str) -> ApiError:
    return ApiError.bad_request(f"Invalid calendar object: {where}: {reason}", ErrorCode.INVALID_FIELD_VALUE)


def _enum(r: CalendarReader, key: str, kind: type[StrEnum]) -> str | None:
    text = r.text(key, max_length=64)
    if text is None:
        return None
    try:
        return kind(text).value
    except ValueError:
        raise r.error(key, f"{text!r} is not one of {', '.join(kind)}") from None


def _clock(r: CalendarReader, hours_key: str, minutes_key: str) -> int | None:
    """Minutes of the day from an hours/minutes pair; None when neither is given."""
    if not r.has(hours_key) and not r.has(minutes_key):
        return None
    return r.integer(hours_key, 0, 0, 23) * 60 + r.integer(minutes_key, 0, 0, 59)


@dataclass(frozen=True, slots=True)
class TimeTrigger:
    id: str
    type: TimeTriggerType
    minutes: int  # TIME: minutes of the local day
    dawn_offset: int
    dusk_offset: int
    random_range: int  # minutes either way; 0: none (the rule's randomTimeRange applies)
    always_before: int | None
    always_after: int | None
    enabled: bool
    action_group_oid: str | None
    local_group: ActionGroup | None

    def random_offset(self, day: date, rule_range: int) -> int:
        """Minutes, the same for this trigger on this date at every computation (a restart keeps it)."""
        spread = self.random_range or rule_range
        if spread <= 0:
            return 0
        digest = hashlib.sha256(f"{self.id}|{day.isoformat()}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % (2 * spread + 1) - spread


def parse_time_trigger(value: Any, where: str) -> TimeTrigger:
    if not isinstance(value, dict) or set(value) != {"startActionGroupTimeTrigger"}:
        raise invalid(where, 'must be {"startActionGroupTimeTrigger": {...}}')
    inner = value["startActionGroupTimeTrigger"]
    if not isinstance(inner, dict):
        raise invalid(f"{where}.startActionGroupTimeTrigger", "must be an object")
    r = CalendarReader(inner, f"{where}.startActionGroupTimeTrigger")
    kind = TimeTriggerType(_enum(r, "triggerType", TimeTriggerType) or "TIME")
    trigger_id = r.text("id", max_length=64) or str(uuid.uuid4())
    inner["id"] = trigger_id  # shown on GET, named by dayView's timeTriggersId
    oid = r.text("actionGroupOID", max_length=64) or None
    group = None
    local = inner.get("localActionGroup")
    if local is not None:
        if not isinstance(local, dict):
            raise r.error("localActionGroup", "must be an object")
        local.setdefault("oid", str(uuid.uuid4()))
        try:
            group = ActionGroup.model_validate(local)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise r.error(f"localActionGroup.{loc}" if loc else "localActionGroup", err["msg"]) from None
    if oid is None and group is None:
        raise invalid(r.path, "needs actionGroupOID or localActionGroup")
    r.text("metadata", max_length=4096)
    trigger = TimeTrigger(
        trigger_id,
        kind,
        r.integer("hours", 0, 0, 23) * 60 + r.integer("minutes", 0, 0, 59),
        r.integer("dawnOffset", 0, -720, 720),
        r.integer("duskOffset", 0, -720, 720),
        r.integer("randomTimeOffset", 0, 0, 720),
        _clock(r, "alwaysBeforeHours", "alwaysBeforeMinutes"),
        _clock(r, "alwaysAfterHours", "alwaysAfterMinutes"),
        r.boolean("enabled", True),
        oid,
        group,
    )
    # Shown with its defaults (the always... bounds stay absent: absent means no bound).
    for key, value in (
        ("triggerType", kind.value),
        ("hours", trigger.minutes // 60),
        ("minutes", trigger.minutes % 60),
        ("enabled", trigger.enabled),
        ("dawnOffset", trigger.dawn_offset),
        ("duskOffset", trigger.dusk_offset),
        ("randomTimeOffset", trigger.random_range),
    ):
        inner.setdefault(key, value)
    return trigger


@dataclass(slots=True)
class CalendarDay:
    oid: str
    label: str
    type: DayType
    triggers: list[TimeTrigger]
    body: dict[str, Any]  # as shown, time trigger ids filled in
    created: int = 0
    updated: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"creationTime": self.created, "lastUpdateTime": self.updated}
        out.update(self.body)
        # A managed (inline) action group is shown as the API shows one: with its oid and the day's times.
        shown = []
        for item in self.body.get("dayTimeTriggers", []):
            inner = dict(item["startActionGroupTimeTrigger"])
            local = inner.get("localActionGroup")
            if isinstance(local, dict):
                inner["localActionGroup"] = {
                    "creationTime": self.created,
                    "lastUpdateTime": self.updated,
                    **{k: v for k, v in local.items() if k not in ("creationTime", "lastUpdateTime")},
                }
            shown.append({"startActionGroupTimeTrigger": inner})
        out["dayTimeTriggers"] = shown
        out["oid"] = self.oid
        return out


def _own_copy(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, "must be an object")
    text = json.dumps(value)
    if len(text) > MAX_BODY_CHARS:
        raise invalid(where, f"larger than {MAX_BODY_CHARS} characters")
    data: dict[str, Any] = json.loads(text)
    for key in ("creationTime", "lastUpdateTime"):
        data.pop(key, None)
    return data


def parse_day(value: Any, where: str = "calendarDay", *, oid: str | None = None) -> CalendarDay:
    """A calendar day; ``oid`` None: the body's own (an update), or a new one."""
    data = _own_copy(value, where)
    body_oid = data.pop("oid", None)
    r = CalendarReader(data, where)
    label = r.text("label", "", max_length=256) or ""
    day_type = DayType(_enum(r, "type", DayType) or DayType.WORK_DAY.value)
    r.text("metadata", max_length=4096)
    raw = r.items("dayTimeTriggers", max_items=MAX_TIME_TRIGGERS)
    triggers = [parse_time_trigger(item, f"{r.where('dayTimeTriggers')}[{i}]") for i, item in enumerate(raw)]
    ids = [t.id for t in triggers]
    if len(set(ids)) != len(ids):
        raise r.error("dayTimeTriggers", "two time triggers have the same id")
    data.update({"label": label, "type": day_type.value, "dayTimeTriggers": raw})
    chosen = oid or (body_oid if isinstance(body_oid, str) and body_oid else None) or str(uuid.uuid4())
    return CalendarDay(chosen, label, day_type, triggers, data)


def _sunday_of(day: date) -> date:
    return day - timedelta(days=(day.weekday() + 1) % 7)


@dataclass(slots=True)
class CalendarRule:
    oid: str
    id: str
    priority: int
    day_oid: str | None
    local_day: CalendarDay | None
    final: bool
    random_range: int
    day_type: DayType | None
    enabled: bool
    start: date | None
    end: date | None
    start_minutes: int  # on the start date
    end_minutes: int  # on the end date (1440: the whole day)
    period: int
    day_mask: int
    body: dict[str, Any]  # the inner object of {"weeklyCalendarRule": {...}}, as shown
    created: int = 0
    updated: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def applies(self, day: date) -> bool:
        if not self.enabled:
            return False
        if self.start is not None and day < self.start or self.end is not None and day > self.end:
            return False
        rank = (day.weekday() + 1) % 7  # 0 Sunday ... 6 Saturday: the bit of dayMask
        if not self.day_mask >> rank & 1:
            return False
        if self.period > 1:
            origin = self.start or date(1970, 1, 4)  # a Sunday
            weeks = (_sunday_of(day) - _sunday_of(origin)).days // 7
            if weeks % self.period:
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        inner: dict[str, Any] = {"creationTime": self.created, "lastUpdateTime": self.updated}
        inner.update(self.body)
        if self.local_day is not None:
            local = self.local_day
            local.created, local.updated = self.created, self.updated
            inner["localCalendarDay"] = local.to_json()
            inner["calendarDayOID"] = local.oid  # the rule's day is the one it carries
        inner["oid"] = self.oid
        return {"weeklyCalendarRule": inner}

    def event_fields(self, day: CalendarDay | None) -> dict[str, Any]:
        """The fields of CalendarRule{Created,Updated}Event (the API's example lists them); ``day``: its day."""
        type_text = self.day_type.value if self.day_type else (day.type.value if day else None)
        fields = {
            "calendar_rule_oid": self.oid,
            "calendar_rule_id": self.id,
            "type": "weeklyCalendarRule",
            "priority": self.priority,
            "calendar_day_oid": self.day_oid or (self.local_day.oid if self.local_day else None),
            "day_type": type_text,
            "metadata": self.body.get("metadata"),
            "final_rule": self.final,
            "random_time_range": self.random_range,
        }
        for prefix, moment, minutes in (("start", self.start, self.start_minutes), ("end", self.end, self.end_minutes)):
            fields[f"{prefix}_day"] = moment.day if moment else None
            fields[f"{prefix}_month"] = moment.month if moment else None
            fields[f"{prefix}_year"] = moment.year if moment else None
            fields[f"{prefix}_time_hours"] = min(minutes, 1439) // 60 if moment else None
            fields[f"{prefix}_time_minutes"] = min(minutes, 1439) % 60 if moment else None
        return fields


def _date(r: CalendarReader, prefix: str) -> date | None:
    keys = [f"{prefix}Year", f"{prefix}Month", f"{prefix}Day"]
    given = [r.has(k) for k in keys]
    if not any(given):
        return None
    if not all(given):
        raise r.error(keys[given.index(False)], f"{prefix} date needs {', '.join(keys)}")
    year, month, day = r.integer(keys[0], 1, 1, 9999), r.integer(keys[1], 1, 1, 12), r.integer(keys[2], 1, 1, 31)
    try:
        return date(year, month, day)
    except ValueError:
        raise r.error(keys[2], f"{year}-{month:02d}-{day:02d} is not a date") from None


def parse_rule(
    value: Any, where: str = "calendarRule", *, checks: bool = True, today: date | None = None, oid: str | None = None
) -> CalendarRule:
    """A ``{"weeklyCalendarRule": {...}}``; the rule's id and the local day's oid are filled in by the caller
    for a new rule."""
    if not isinstance(value, dict) or set(value) != {"weeklyCalendarRule"}:
        raise invalid(where, 'must be {"weeklyCalendarRule": {...}}')
    where = f"{where}.weeklyCalendarRule"
    data = _own_copy(value["weeklyCalendarRule"], where)
    body_oid = data.pop("oid", None)
    r = CalendarReader(data, where)
    day_oid = r.text("calendarDayOID", max_length=64) or None
    local = None
    if r.has("localCalendarDay"):
        local = parse_day(data.pop("localCalendarDay"), r.where("localCalendarDay"))
    elif day_oid is None:
        raise invalid(where, "needs calendarDayOID or localCalendarDay")
    day_type_text = _enum(r, "dayType", DayType)
    presence = r.text("presenceFilter", "NO_FILTER", max_length=64)
    if presence != "NO_FILTER":
        raise r.error("presenceFilter", "only NO_FILTER: this gateway knows nobody's presence")
    r.text("metadata", max_length=4096)
    start, end = _date(r, "start"), _date(r, "end")
    start_minutes = _clock(r, "startTimeHours", "startTimeMinutes")
    end_minutes = _clock(r, "endTimeHours", "endTimeMinutes")
    mask = r.integer("dayMask", ALL_DAYS, 0, 255)
    if not mask & ALL_DAYS:
        raise r.error("dayMask", "selects no day (bit 0 Sunday ... bit 6 Saturday)")
    rule = CalendarRule(
        oid=oid or (body_oid if isinstance(body_oid, str) and body_oid else None) or str(uuid.uuid4()),
        id=str(data.pop("id", "") or ""),
        priority=r.integer("priority", 0, -1_000_000, 1_000_000),
        day_oid=None if local is not None else day_oid,
        local_day=local,
        final=r.boolean("finalRule", False),
        random_range=r.integer("randomTimeRange", 0, 0, 720),
        day_type=DayType(day_type_text) if day_type_text else None,
        enabled=r.boolean("enabled", True),
        start=start,
        end=end,
        start_minutes=start_minutes or 0,
        end_minutes=1440 if end_minutes is None else end_minutes,
        period=r.integer("period", 1, 0, 520),
        day_mask=mask,
        body=data,
    )
    if local is not None:
        data.pop("calendarDayOID", None)  # the rule's own day is the one it carries
    if checks:
        if start is not None and end is not None and (end, rule.end_minutes) <= (start, rule.start_minutes):
            raise invalid(where, "ends before it starts")
        if end is not None and today is not None and end < today:
            raise invalid(where, f"ended on {end.isoformat()} (withTimeValidityChecks=false to keep it anyway)")
    return rule
