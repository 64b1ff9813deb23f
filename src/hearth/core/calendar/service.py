"""The calendar as the API sees it: days, rules and rule sets, the schedule, the day view, the switch.

Every change is checked whole before anything is kept (a rule set: every rule), written, then published
(Calendar* events) and the time triggers rescheduled. Setup triggers whose scheduling intervals name a day
type follow (they listen to the same events).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.calendar.model import CalendarDay, CalendarRule, TimeTrigger, invalid, parse_day, parse_rule
from hearth.core.calendar.planning import DayFilter, Planning
from hearth.core.calendar.runner import CalendarRunner
from hearth.core.clock import Clock
from hearth.core.executor import Executor
from hearth.core.location import LocationStore
from hearth.model.calendar_events import (
    CALENDAR_FUNCTION_TYPE,
    CalendarDayCreatedEvent,
    CalendarDayDeletedEvent,
    CalendarDayUpdatedEvent,
    CalendarRuleCreatedEvent,
    CalendarRuleDeletedEvent,
    CalendarRuleUpdatedEvent,
)
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import GatewayFunctionChangedEvent, LocationUpdatedEvent, now_ms
from hearth.store.calendar import DELETE_DAY, DELETE_RULE, CalendarRepository

log = logging.getLogger(__name__)

MAX_DAYS = 500
MAX_RULES = 2000
MAX_SCHEDULE_DAYS = 366
EPOCH = date(1970, 1, 1)


class CalendarService:
    def __init__(
        self,
        repo: CalendarRepository,
        bus: EventBus,
        clock: Clock,
        executor: Executor,
        groups: ActionGroupStore,
        location: LocationStore,
        gateway_id: str,
        *,
        missed_grace_s: float = 900.0,
    ) -> None:
        self._repo = repo
        self._bus = bus
        self._clock = clock
        self._executor = executor
        self._groups = groups
        self._location = location
        self._gateway_id = gateway_id
        self.planning = Planning()
        self.runner = CalendarRunner(
            self.planning, repo, bus, clock, executor, groups, location, missed_grace_s=missed_grace_s
        )
        self._next_id = 1
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ start and stop

    async def load(self) -> None:
        planning = self.planning
        planning.enabled = await self._repo.enabled()
        for row in await self._repo.days():
            try:
                day = parse_day(row.body, oid=row.oid)
            except ApiError as exc:
                log.error("calendar day %s could not be read back (%s): it is not used", row.oid, exc.message)
                continue
            day.created, day.updated = row.created, row.updated
            planning.days[day.oid] = day
        for row in await self._repo.rules():
            try:
                rule = parse_rule({"weeklyCalendarRule": row.body}, checks=False, oid=row.oid)
            except ApiError as exc:
                log.error("calendar rule %s could not be read back (%s): it is not used", row.oid, exc.message)
                continue
            rule.id, rule.created, rule.updated = row.id, row.created, row.updated
            planning.rules[rule.oid] = rule
            if rule.id.isascii() and rule.id.isdigit():
                self._next_id = max(self._next_id, int(rule.id) + 1)
        planning.changed()
        self._unsubscribe = self._bus.subscribe(self._on_location, LocationUpdatedEvent)
        await self.runner.start()
        log.info(
            "calendar: %d days, %d rules%s",
            len(planning.days),
            len(planning.rules),
            "" if planning.enabled else " (switched off)",
        )

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.runner.stop()

    def _on_location(self, _: LocationUpdatedEvent) -> None:
        self.runner.reschedule()

    async def _changed(self) -> None:
        self.planning.changed()
        self.runner.reschedule()
        await self._repo.sync()

    def today(self) -> date:
        return datetime.fromtimestamp(self._clock.now(), self._location.sun.tz).date()

    # ------------------------------------------------------------------ checks

    def _check_triggers(self, triggers: list[TimeTrigger], where: str) -> None:
        """What the shape cannot say: the action groups exist and fit their devices."""
        for i, trigger in enumerate(triggers):
            if trigger.local_group is not None:
                self._executor.plan(trigger.local_group, 0)
            elif trigger.action_group_oid is not None:
                try:
                    self._groups.get(trigger.action_group_oid)
                except ApiError:
                    raise invalid(
                        f"{where}.dayTimeTriggers[{i}]", f"no such action group : {trigger.action_group_oid}"
                    ) from None

    def _check_rule(self, rule: CalendarRule, where: str) -> None:
        if rule.local_day is not None:
            self._check_triggers(rule.local_day.triggers, f"{where}.localCalendarDay")
        elif rule.day_oid not in self.planning.days:
            raise invalid(f"{where}.calendarDayOID", f"no such calendar day : {rule.day_oid}")

    # ------------------------------------------------------------------ days

    def days(self) -> list[CalendarDay]:
        return list(self.planning.days.values())

    def day(self, oid: str) -> CalendarDay:
        found = self.planning.days.get(oid)
        if found is None:
            raise ApiError.not_found(f"No such calendar day : {oid}")
        return found

    @staticmethod
    def _day_event_fields(day: CalendarDay) -> dict[str, Any]:
        return {
            "calendar_day_oid": day.oid,
            "label": day.label,
            "metadata": day.body.get("metadata"),
            "type": day.type.value,
            "day_time_triggers": day.to_json()["dayTimeTriggers"],
        }

    async def create_day(self, body: Any) -> CalendarDay:
        if len(self.planning.days) >= MAX_DAYS:
            raise ApiError.bad_request(f"Too many calendar days (at most {MAX_DAYS})")
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "oid"}  # a new day gets a new oid
        day = parse_day(body)
        self._check_triggers(day.triggers, "calendarDay")
        day.created = day.updated = now_ms()
        await self._repo.write([self._repo.day_row(day.oid, day.body, day.created, day.updated)])
        self.planning.days[day.oid] = day
        self.planning.changed()  # before the event: its listeners read day types
        self._bus.publish(CalendarDayCreatedEvent(**self._day_event_fields(day)))
        await self._changed()
        return day

    async def update_day(self, body: Any) -> CalendarDay:
        oid = body.get("oid") if isinstance(body, dict) else None
        if not isinstance(oid, str) or not oid:
            raise ApiError.bad_request(
                "Invalid calendar object: calendarDay.oid: is required", ErrorCode.INVALID_FIELD_VALUE
            )
        old = self.day(oid)
        day = parse_day(body, oid=oid)
        self._check_triggers(day.triggers, "calendarDay")
        day.created, day.updated = old.created, now_ms()
        await self._repo.write([self._repo.day_row(day.oid, day.body, day.created, day.updated)])
        self.planning.days[day.oid] = day
        self.planning.changed()  # before the event: its listeners read day types
        self._bus.publish(CalendarDayUpdatedEvent(**self._day_event_fields(day)))
        await self._changed()
        return day

    async def delete_day(self, oid: str) -> None:
        self.day(oid)
        users = [r.oid for r in self.planning.rules.values() if r.day_oid == oid]
        if users:
            raise ApiError.bad_request(
                f"Calendar day {oid} is used by the calendar rule(s) {', '.join(users)}: delete or change them first",
                ErrorCode.INVALID_FIELD_VALUE,
            )
        await self._repo.write([(DELETE_DAY, (oid,))])
        del self.planning.days[oid]
        self.planning.changed()  # before the event: its listeners read day types
        self._bus.publish(CalendarDayDeletedEvent(calendar_day_oid=oid))
        await self._changed()

    # ------------------------------------------------------------------ rules

    def rules(self) -> list[CalendarRule]:
        return list(self.planning.rules.values())

    def rule(self, oid: str) -> CalendarRule:
        found = self.planning.rules.get(oid)
        if found is None:
            raise ApiError.not_found(f"No such calendar rule : {oid}")
        return found

    def _new_rules(self, bodies: list[Any], checks: bool) -> list[CalendarRule]:
        if len(self.planning.rules) + len(bodies) > MAX_RULES:
            raise ApiError.bad_request(f"Too many calendar rules (at most {MAX_RULES})")
        rules = []
        now, today = now_ms(), self.today()
        for i, body in enumerate(bodies):
            where = f"calendarRules[{i}]" if len(bodies) > 1 else "calendarRule"
            if isinstance(body, dict) and isinstance(body.get("weeklyCalendarRule"), dict):
                body = {"weeklyCalendarRule": {k: v for k, v in body["weeklyCalendarRule"].items() if k != "oid"}}
                local = body["weeklyCalendarRule"].get("localCalendarDay")
                if isinstance(local, dict):
                    body["weeklyCalendarRule"]["localCalendarDay"] = {k: v for k, v in local.items() if k != "oid"}
            rule = parse_rule(body, where, checks=checks, today=today)
            self._check_rule(rule, f"{where}.weeklyCalendarRule")
            rule.id = str(self._next_id + i)
            rule.created = rule.updated = now
            rules.append(rule)
        return rules

    def _changed_rules(self, bodies: list[Any], checks: bool) -> list[CalendarRule]:
        rules = []
        now, today = now_ms(), self.today()
        seen: set[str] = set()
        for i, body in enumerate(bodies):
            where = f"calendarRules[{i}]" if len(bodies) > 1 else "calendarRule"
            inner = body.get("weeklyCalendarRule") if isinstance(body, dict) else None
            oid = inner.get("oid") if isinstance(inner, dict) else None
            if not isinstance(oid, str) or not oid:
                raise invalid(f"{where}.weeklyCalendarRule.oid", "is required")
            if oid in seen:
                raise invalid(f"{where}.weeklyCalendarRule.oid", f"{oid} appears twice")
            seen.add(oid)
            old = self.rule(oid)
            local = inner.get("localCalendarDay") if isinstance(inner, dict) else None
            if isinstance(local, dict):
                # The rule keeps its own day: the oid it was given (a client's copy of it is not an other day).
                local["oid"] = old.local_day.oid if old.local_day is not None else str(uuid.uuid4())
            rule = parse_rule(body, where, checks=checks, today=today, oid=oid)
            self._check_rule(rule, f"{where}.weeklyCalendarRule")
            rule.id, rule.created, rule.updated = old.id, old.created, now
            rules.append(rule)
        return rules

    def _stored_body(self, rule: CalendarRule) -> dict[str, Any]:
        body = dict(rule.body)
        if rule.local_day is not None:
            body["localCalendarDay"] = {**rule.local_day.body, "oid": rule.local_day.oid}
        return body

    async def _keep(self, rules: list[CalendarRule], created: bool) -> None:
        await self._repo.write(
            [self._repo.rule_row(r.oid, r.id, self._stored_body(r), r.created, r.updated) for r in rules]
        )
        for rule in rules:
            self.planning.rules[rule.oid] = rule
            if created:
                self._next_id = max(self._next_id, int(rule.id) + 1)
            event = CalendarRuleCreatedEvent if created else CalendarRuleUpdatedEvent
            self.planning.changed()  # before the event: its listeners read day types
            self._bus.publish(event(**rule.event_fields(self.planning.day_of(rule))))
        await self._changed()

    async def create_rules(self, bodies: list[Any], *, checks: bool = True) -> list[CalendarRule]:
        rules = self._new_rules(bodies, checks)
        await self._keep(rules, True)
        return rules

    async def update_rules(self, bodies: list[Any], *, checks: bool = True) -> list[CalendarRule]:
        rules = self._changed_rules(bodies, checks)
        await self._keep(rules, False)
        return rules

    async def delete_rules(self, oids: list[str]) -> None:
        for oid in oids:
            self.rule(oid)
        await self._repo.write([(DELETE_RULE, (oid,)) for oid in dict.fromkeys(oids)])
        for oid in dict.fromkeys(oids):
            del self.planning.rules[oid]
            self.planning.changed()  # before the event: its listeners read day types
            self._bus.publish(CalendarRuleDeletedEvent(calendar_rule_oid=oid))
        await self._changed()

    # ------------------------------------------------------------------ schedule and day view

    def _local_midnight_ms(self, day: date) -> int:
        tz = self._location.sun.tz
        return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)

    def objects_on(self, day: date) -> dict[str, list[str]]:
        plan = self.planning.plan(day)
        return {"calendarDays": [d.oid for d in plan.days], "calendarRules": [r.oid for r in plan.rules]}

    def schedule(self, start_epoch_day: int, end_epoch_day: int) -> dict[str, dict[str, list[str]]]:
        if end_epoch_day < start_epoch_day:
            raise ApiError.bad_request(
                "Invalid calendar schedule: endDate is before startDate", ErrorCode.INVALID_FIELD_VALUE
            )
        if end_epoch_day - start_epoch_day >= MAX_SCHEDULE_DAYS:
            raise ApiError.bad_request(
                f"Invalid calendar schedule: at most {MAX_SCHEDULE_DAYS} days at once", ErrorCode.INVALID_FIELD_VALUE
            )
        try:
            first = EPOCH + timedelta(days=start_epoch_day)
            EPOCH + timedelta(days=end_epoch_day)
        except OverflowError:
            raise ApiError.bad_request(
                "Invalid calendar schedule: date out of range", ErrorCode.INVALID_FIELD_VALUE
            ) from None
        out = {}
        for n in range(end_epoch_day - start_epoch_day + 1):
            day = first + timedelta(days=n)
            out[str(self._local_midnight_ms(day))] = self.objects_on(day)
        return out

    def day_view(self, day: date, where: DayFilter) -> CalendarDay:
        """The day the calendar makes of ``day``: every time trigger that applies, in one calendar day. It is a
        view: not kept (keeping it would add a day at each look)."""
        plan = self.planning.plan(day, where)
        triggers = [t for _, t in plan.triggers]
        raw = []
        for found in plan.days:
            for item in found.body.get("dayTimeTriggers", []):
                inner = item.get("startActionGroupTimeTrigger", {})
                if any(inner.get("id") == t.id for t in triggers) and item not in raw:
                    raw.append(item)
        label = " + ".join(d.label for d in plan.days if d.label) or f"day view {day.isoformat()}"
        body: dict[str, Any] = {
            "label": label,
            "type": (plan.day_type.value if plan.day_type else "WORK_DAY"),
            "dayTimeTriggers": raw,
        }
        metadata = next((d.body["metadata"] for d in plan.days if isinstance(d.body.get("metadata"), str)), None)
        if metadata is not None:
            body["metadata"] = metadata
        view = parse_day(body, oid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"hearth:calendar/dayView/{day.isoformat()}")))
        view.created = view.updated = now_ms()
        return view

    def scheduled_today(self, action_group_oid: str | None = None) -> list[dict[str, Any]]:
        """The runs still to come today, as ``GET /exec/schedule`` lists them: the API says that list holds
        "a time of the current day of the weekly planning" (executionType "Weekly planning", as it writes it
        there, with subType TIME_TRIGGER, or DAWN_TRIGGER / DUSK_TRIGGER)."""
        tz = self._location.sun.tz
        now = self._clock.now()
        today = datetime.fromtimestamp(now, tz).date()
        end = datetime(today.year, today.month, today.day, tzinfo=tz) + timedelta(days=1)
        out = []
        for run in self.planning.runs_between(now, end.timestamp() - 0.001, self._location.sun):
            trigger = run.trigger
            if action_group_oid is not None and trigger.action_group_oid != action_group_oid:
                continue
            label = trigger.local_group.label if trigger.local_group is not None else ""
            rule = self.planning.rules.get(run.rule_oid)
            out.append(
                {
                    "triggerId": trigger.id,
                    "label": label,
                    "utcTime": int(run.due * 1000),
                    "actionGroupOID": trigger.action_group_oid,
                    "randomTimeRange": trigger.random_range or (rule.random_range if rule else 0),
                    "serverSideManaged": False,
                    "executionType": "Weekly planning",
                    "executionSubType": f"{trigger.type.value}_TRIGGER",
                }
            )
        return out

    # ------------------------------------------------------------------ the switch

    @property
    def enabled(self) -> bool:
        return self.planning.enabled

    async def set_enabled(self, enabled: bool) -> None:
        await self._repo.set_enabled(enabled)
        changed = enabled != self.planning.enabled
        self.planning.enabled = enabled
        self.planning.changed()
        if changed:
            self._bus.publish(
                GatewayFunctionChangedEvent(
                    gateway_id=self._gateway_id, function_type=CALENDAR_FUNCTION_TYPE, enabled=enabled
                )
            )
        await self._changed()
