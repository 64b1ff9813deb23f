"""The Calendar* events of the End-User API (its examples give their fields; setupOID and owningPartners
are added by the event streams)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hearth.model.events import Event

# functionType of GatewayFunctionChangedEvent for the calendar's switch (1 is the setup triggers' switch; the
# End-User API gives the numbers no meaning).
CALENDAR_FUNCTION_TYPE = 2


@dataclass(slots=True, kw_only=True)
class _CalendarDayEvent(Event):
    calendar_day_oid: str
    label: str
    metadata: str | None
    type: str
    day_time_triggers: list[dict[str, Any]]


@dataclass(slots=True, kw_only=True)
class CalendarDayCreatedEvent(_CalendarDayEvent):
    pass


@dataclass(slots=True, kw_only=True)
class CalendarDayUpdatedEvent(_CalendarDayEvent):
    pass


@dataclass(slots=True, kw_only=True)
class CalendarDayDeletedEvent(Event):
    calendar_day_oid: str


@dataclass(slots=True, kw_only=True)
class _CalendarRuleEvent(Event):
    calendar_rule_oid: str
    calendar_rule_id: str
    type: str
    priority: int
    calendar_day_oid: str | None
    day_type: str | None
    metadata: str | None
    final_rule: bool
    random_time_range: int
    start_day: int | None
    start_month: int | None
    start_year: int | None
    start_time_hours: int | None
    start_time_minutes: int | None
    end_day: int | None
    end_month: int | None
    end_year: int | None
    end_time_hours: int | None
    end_time_minutes: int | None


@dataclass(slots=True, kw_only=True)
class CalendarRuleCreatedEvent(_CalendarRuleEvent):
    pass


@dataclass(slots=True, kw_only=True)
class CalendarRuleUpdatedEvent(_CalendarRuleEvent):
    pass


@dataclass(slots=True, kw_only=True)
class CalendarRuleDeletedEvent(Event):
    calendar_rule_oid: str


CALENDAR_EVENTS: tuple[type[Event], ...] = (
    CalendarDayCreatedEvent,
    CalendarDayUpdatedEvent,
    CalendarDayDeletedEvent,
    CalendarRuleCreatedEvent,
    CalendarRuleUpdatedEvent,
    CalendarRuleDeletedEvent,
)
