"""The calendar: which rule gives a date its day, when time triggers run (DST in Paris, 29 February), and in a
real Gateway on a ManualClock, runs as executions, the switch, restarts (catch-up within the grace, missed
runs recorded) and its effect on setup triggers whose scheduling interval names a day type.

Expected moments are worked out by hand from the Paris clock: 2024-03-31 02:00 CET becomes 03:00 CEST;
2024-10-27 03:00 CEST becomes 02:00 CET; 2024-02-29 is a Thursday.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hearth.core.calendar.model import parse_day, parse_rule
from hearth.core.calendar.planning import DayFilter, Planning
from hearth.core.sun import SunSetting, TwilightAngle
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionSubType, ExecutionType
from tests.support.clock_gateway import Harness, start_harness

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
SUN = SunSetting(timezone="Europe/Paris", latitude=48.8566, longitude=2.3522, angle=TwilightAngle.SOLAR)
EVERY_DAY, WEEKDAYS, WEEKEND = 0b1111111, 0b0111110, 0b1000001


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


def utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


def local(moment: float) -> str:
    return datetime.fromtimestamp(moment, PARIS).strftime("%a %Y-%m-%d %H:%M")


def time_trigger(
    hours: int, minutes: int, trigger_id: str, *, kind: str = "TIME", url: str = "virtual://x/10", **extra: Any
) -> dict[str, Any]:
    return {
        "startActionGroupTimeTrigger": {
            "triggerType": kind,
            "hours": hours,
            "minutes": minutes,
            "id": trigger_id,
            **extra,
            "localActionGroup": {
                "label": f"run {trigger_id}",
                "actions": [{"deviceURL": url, "commands": [{"name": "on"}]}],
            },
        }
    }


def weekly(day_oid: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"weeklyCalendarRule": {**({"calendarDayOID": day_oid} if day_oid else {}), **fields}}


def planning_with(days: list[dict[str, Any]], rules: list[dict[str, Any]]) -> Planning:
    planning = Planning()
    for i, body in enumerate(days):
        day = parse_day(body, oid=f"day{i}")
        planning.days[day.oid] = day
    for i, body in enumerate(rules):
        rule = parse_rule(body, checks=False, oid=f"rule{i}")
        rule.created = i
        planning.rules[rule.oid] = rule
    return planning


# ----------------------------------------------------------------------------- which day a date is


def test_priority_final_rule_mask_period_and_dates() -> None:
    work = {"label": "work", "type": "WORK_DAY", "dayTimeTriggers": [time_trigger(7, 0, "wake")]}
    home = {"label": "home", "type": "DAY_OFF_AT_HOME", "dayTimeTriggers": [time_trigger(9, 30, "late")]}
    away = {"label": "away", "type": "HOLIDAY", "dayTimeTriggers": [time_trigger(20, 0, "lights")]}
    planning = planning_with(
        [work, home, away],
        [
            weekly("day0", dayMask=WEEKDAYS, priority=1),
            weekly("day1", dayMask=WEEKEND, priority=1),
            # A fortnight away in August, over everything, and final: the weekday rules do not add their triggers.
            weekly(
                "day2",
                priority=10,
                finalRule=True,
                startYear=2024,
                startMonth=8,
                startDay=5,
                endYear=2024,
                endMonth=8,
                endDay=18,
            ),
            # Every other Wednesday from 2024-06-05, not final: its day's triggers come on top of the work day's.
            weekly(
                "day1",
                dayMask=0b0001000,
                period=2,
                priority=5,
                startYear=2024,
                startMonth=6,
                startDay=5,
                dayType="DAY_OFF_AT_HOME",
            ),
        ],
    )
    assert planning.day_type(date(2024, 6, 3)) == "WORK_DAY"  # a Monday
    assert planning.day_type(date(2024, 6, 8)) == "DAY_OFF_AT_HOME"  # a Saturday
    assert planning.day_type(date(2024, 8, 7)) == "HOLIDAY"
    assert [t.id for _, t in planning.plan(date(2024, 8, 7)).triggers] == ["lights"]
    # Wednesdays: the 5th and the 19th are off (period 2 from the 5th), the 12th is a work day.
    assert planning.day_type(date(2024, 6, 5)) == "DAY_OFF_AT_HOME"
    assert [t.id for _, t in planning.plan(date(2024, 6, 5)).triggers] == ["late", "wake"]
    assert planning.day_type(date(2024, 6, 12)) == "WORK_DAY"
    assert planning.day_type(date(2024, 6, 19)) == "DAY_OFF_AT_HOME"
    assert planning.day_type(date(2024, 5, 29)) == "WORK_DAY"  # before the rule starts
    # dayView's filters: leave the off-Wednesday rule out, or every rule under priority 6.
    assert [t.id for _, t in planning.plan(date(2024, 6, 5), DayFilter(rules=frozenset({"rule3"}))).triggers] == [
        "wake"
    ]
    assert planning.plan(date(2024, 6, 5), DayFilter(min_priority=6)).triggers == []
    assert [t.id for _, t in planning.plan(date(2024, 6, 5), DayFilter(triggers=frozenset({"late"}))).triggers] == [
        "wake"
    ]
    planning.enabled = False
    planning.changed()
    assert planning.day_type(date(2024, 6, 3)) is None


def test_time_triggers_across_both_dst_changes_in_paris() -> None:
    planning = planning_with(
        [{"type": "WORK_DAY", "dayTimeTriggers": [time_trigger(7, 0, "seven"), time_trigger(2, 30, "night")]}],
        [weekly("day0")],
    )
    # 07:00 is 07:00 local on both sides of the change: 06:00 UTC on Saturday, 05:00 UTC on Sunday.
    spring = planning.runs_between(at("2024-03-30T00:00"), at("2024-04-01T00:00"), SUN)
    assert [(r.trigger.id, utc(r.due)) for r in spring] == [
        ("night", "2024-03-30 01:30"),
        ("seven", "2024-03-30 06:00"),
        # 02:30 does not exist on the 31st: it runs once, at 03:30 CEST (01:30 UTC, one hour after 01:00 CET).
        ("night", "2024-03-31 01:30"),
        ("seven", "2024-03-31 05:00"),
    ]
    assert local(spring[2].due) == "Sun 2024-03-31 03:30"
    # 02:30 happens twice on 27 October: the trigger runs once, at the first (00:30 UTC, still CEST).
    autumn = planning.runs_between(at("2024-10-26T12:00"), at("2024-10-28T00:00"), SUN)
    assert [(r.trigger.id, utc(r.due)) for r in autumn] == [
        ("night", "2024-10-27 00:30"),
        ("seven", "2024-10-27 06:00"),
    ]
    # next_runs steps over the change the same way.
    found = planning.next_runs(at("2024-03-31T01:59"), SUN)
    assert found is not None and utc(found[0]) == "2024-03-31 01:30" and [r.trigger.id for r in found[1]] == ["night"]


def test_leap_day_and_dates_that_do_not_exist() -> None:
    planning = planning_with(
        [{"type": "HOLIDAY", "dayTimeTriggers": [time_trigger(12, 0, "noon")]}],
        [weekly("day0", startYear=2024, startMonth=2, startDay=29, endYear=2024, endMonth=2, endDay=29)],
    )
    assert planning.day_type(date(2024, 2, 28)) is None
    assert planning.day_type(date(2024, 2, 29)) == "HOLIDAY"
    assert planning.day_type(date(2024, 3, 1)) is None
    [run] = planning.runs_between(at("2024-02-01T00:00"), at("2024-03-31T00:00"), SUN)
    assert local(run.due) == "Thu 2024-02-29 12:00"
    with pytest.raises(ApiError) as caught:
        parse_rule(weekly("d", startYear=2023, startMonth=2, startDay=29))
    assert caught.value.status == 400 and "2023-02-29 is not a date" in caught.value.message
    assert caught.value.to_json()["errorCode"] == "INVALID_FIELD_VALUE"


def test_dawn_offsets_random_and_held_times() -> None:
    planning = planning_with(
        [
            {
                "type": "WORK_DAY",
                "dayTimeTriggers": [
                    time_trigger(0, 0, "dusk", kind="DUSK", duskOffset=-30),
                    time_trigger(0, 0, "dawn", kind="DAWN", alwaysAfterHours=6, alwaysAfterMinutes=30),
                    time_trigger(8, 0, "random", randomTimeOffset=20),
                    time_trigger(8, 0, "off", enabled=False),
                ],
            }
        ],
        [weekly("day0")],
    )
    runs = {r.trigger.id: r for r in planning.runs_on(date(2024, 6, 21), SUN)}
    assert set(runs) == {"dusk", "dawn", "random"}
    assert local(runs["dusk"].due) in ("Fri 2024-06-21 21:27", "Fri 2024-06-21 21:28")  # sunset 21:57:38
    assert local(runs["dawn"].due) == "Fri 2024-06-21 06:30"  # sunrise 05:47, held at or after 06:30
    offset = runs["random"].due - at("2024-06-21T08:00")
    assert -1200 <= offset <= 1200 and offset % 60 == 0
    # The same on every computation (a restart keeps it), and not the same every day.
    assert planning.runs_on(date(2024, 6, 21), SUN)[2].due == runs["random"].due
    offsets = {
        r.due - at(f"{r.day.isoformat()}T08:00")
        for d in range(10)
        for r in planning.runs_on(date(2024, 7, 1) + timedelta(days=d), SUN)
        if r.trigger.id == "random"
    }
    assert len(offsets) > 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"weeklyCalendarRule": {}}, "needs calendarDayOID or localCalendarDay"),
        ({"weeklyCalendarRule": {"calendarDayOID": "x", "dayType": "BIRTHDAY"}}, "dayType: 'BIRTHDAY' is not one of"),
        ({"weeklyCalendarRule": {"calendarDayOID": "x", "dayMask": 128}}, "dayMask: selects no day"),
        ({"weeklyCalendarRule": {"calendarDayOID": "x", "presenceFilter": "AWAY"}}, "presenceFilter: only NO_FILTER"),
        ({"weeklyCalendarRule": {"calendarDayOID": "x", "startYear": 2024}}, "start date needs"),
        ({"weeklyCalendarRule": {"calendarDayOID": "x", "priority": "high"}}, "priority: must be an integer"),
        (
            {
                "weeklyCalendarRule": {
                    "calendarDayOID": "x",
                    "startYear": 2024,
                    "startMonth": 5,
                    "startDay": 1,
                    "endYear": 2024,
                    "endMonth": 4,
                    "endDay": 1,
                }
            },
            "ends before it starts",
        ),
        ({"weeklyCalendarRule": {"calendarDayOID": "x", "endYear": 2020, "endMonth": 1, "endDay": 1}}, "ended on"),
        (
            {
                "weeklyCalendarRule": {
                    "localCalendarDay": {
                        "dayTimeTriggers": [{"startActionGroupTimeTrigger": {"hours": 25, "actionGroupOID": "g"}}]
                    }
                }
            },
            "dayTimeTriggers[0].startActionGroupTimeTrigger.hours",
        ),
        (
            {
                "weeklyCalendarRule": {
                    "localCalendarDay": {"dayTimeTriggers": [{"startActionGroupTimeTrigger": {"triggerType": "NOON"}}]}
                }
            },
            "triggerType: 'NOON' is not one of",
        ),
        (
            {"weeklyCalendarRule": {"localCalendarDay": {"dayTimeTriggers": [{"startActionGroupTimeTrigger": {}}]}}},
            "needs actionGroupOID or localActionGroup",
        ),
        ({"dailyCalendarRule": {}}, 'must be {"weeklyCalendarRule": {...}}'),
    ],
)
def test_bad_rules_name_the_field(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_rule(body, today=date(2024, 6, 1))
    assert caught.value.status == 400 and reason in caught.value.message, caught.value.message


# ----------------------------------------------------------------------------- a gateway on a ManualClock


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await start_harness(tmp_path, at("2024-03-30T12:00"))
    yield h
    await h.gateway.stop()


async def test_time_triggers_run_as_planning_executions_over_the_spring_change(harness: Harness) -> None:
    h = harness
    cal = h.gateway.calendar
    day = await cal.create_day(
        {
            "label": "every day",
            "type": "WORK_DAY",
            "dayTimeTriggers": [
                time_trigger(7, 0, "seven", url=h.url("10")),
                time_trigger(2, 30, "night", url=h.url("10")),
            ],
        }
    )
    [rule] = await cal.create_rules([weekly(day.oid)])
    assert rule.id == "1"
    assert [e["calendarDayOID"] for e in h.named("CalendarDayCreatedEvent")] == [day.oid]
    [created] = h.named("CalendarRuleCreatedEvent")
    assert created["calendarRuleOID"] == rule.oid and created["calendarDayOID"] == day.oid
    assert created["dayType"] == "WORK_DAY" and created["type"] == "weeklyCalendarRule"

    # Sunday 03:29 CEST (01:29 UTC): 02:30 does not exist that night; it runs at 03:30 CEST, not before.
    await h.advance(at("2024-03-31T03:29") - h.clock.now())
    assert utc(h.clock.now()) == "2024-03-31 01:29"
    assert h.named("ExecutionRegisteredEvent") == []
    await h.advance(2 * 60)
    [night] = h.named("ExecutionRegisteredEvent")
    assert night["type"] == ExecutionType.PLANNING and night["subType"] == ExecutionSubType.TIME_TRIGGER
    assert night["triggerId"] == "night"
    await h.advance(at("2024-03-31T06:59") - h.clock.now())
    assert len(h.named("ExecutionRegisteredEvent")) == 1
    await h.advance(120)
    assert [e["triggerId"] for e in h.named("ExecutionRegisteredEvent")] == ["night", "seven"]
    triggered = h.named("GroupTriggeredEvent")
    assert [(e["triggerId"], e["triggerType"]) for e in triggered] == [("night", 3), ("seven", 3)]

    # Switched off: nothing runs, and the switch is announced.
    await cal.set_enabled(False)
    [switch] = h.named("GatewayFunctionChangedEvent")
    assert switch["functionType"] == 2 and switch["enabled"] is False
    await h.advance(86_400)
    assert len(h.named("ExecutionRegisteredEvent")) == 2
    await cal.set_enabled(True)


async def test_restart_catches_up_within_the_grace_and_records_the_rest(harness: Harness) -> None:
    h = harness
    cal = h.gateway.calendar
    day = await cal.create_day({"type": "WORK_DAY", "dayTimeTriggers": [time_trigger(13, 0, "one", url=h.url("10"))]})
    await cal.create_rules([weekly(day.oid)])
    # Killed in effect (stop, then a clock past the due time): 13:05 is within the 600 s grace: run once.
    await h.restart(at_time=at("2024-03-30T13:05"))
    assert [e["triggerId"] for e in h.named("ExecutionRegisteredEvent")] == ["one"]
    assert [d.oid for d in h.gateway.calendar.days()] == [day.oid]  # kept across the restart
    # Down for three days: recorded as missed, not run, announced.
    await h.restart(at_time=at("2024-04-02T18:00"))
    assert h.named("ExecutionRegisteredEvent") == []
    assert [e["triggerId"] for e in h.named("DelayedTriggerCancelledEvent")] == ["one"]
    await h.gateway.writer.flush()
    conn = sqlite3.connect(h.data_dir / "hearth.db")
    missed = conn.execute("SELECT day FROM calendar_missed_runs ORDER BY due_time").fetchall()
    conn.close()
    assert [d for (d,) in missed] == ["2024-03-31", "2024-04-01", "2024-04-02"]
    # And the next day it runs again, at 13:00 CEST.
    await h.advance(at("2024-04-03T13:00:30") - h.clock.now())
    assert [e["triggerId"] for e in h.named("ExecutionRegisteredEvent")] == ["one"]


async def test_setup_trigger_on_a_day_type_runs_only_on_those_days(harness: Harness) -> None:
    h = harness
    cal = h.gateway.calendar
    off = await cal.create_day({"label": "off", "type": "HOLIDAY"})
    # Thursday 29 February 2024 is a holiday; the window of the trigger is that whole day.
    await h.restart(at_time=at("2024-02-27T12:00"))
    cal = h.gateway.calendar
    await cal.create_rules(
        [weekly(off.oid, startYear=2024, startMonth=2, startDay=29, endYear=2024, endMonth=2, endDay=29)], checks=False
    )
    trigger = await h.gateway.triggers.create(
        {
            "ifThenSetupTrigger": {
                "label": "holiday morning",
                "mode": 3,
                "schedulingIntervals": [{"dayType": {"dayType": "HOLIDAY"}}],
                "effects": [
                    {
                        "actionGroupEffect": {
                            "localActionGroup": {
                                "label": "holiday",
                                "actions": [{"deviceURL": h.url("10"), "commands": [{"name": "on"}]}],
                            }
                        }
                    }
                ],
            }
        }
    )
    assert trigger.status()["schedulingIntervalsStatus"] == [False]
    await h.advance(at("2024-02-28T23:59") - h.clock.now())
    assert h.named("ExecutionRegisteredEvent") == []
    await h.advance(120)  # midnight: 29 February opens the window
    [run] = h.named("ExecutionRegisteredEvent")
    assert run["triggerId"] == trigger.oid and run["subType"] == ExecutionSubType.TIME_TRIGGER
    assert trigger.status()["schedulingIntervalsStatus"] == [True]
    await h.advance(at("2024-03-01T00:01") - h.clock.now())
    assert trigger.status()["schedulingIntervalsStatus"] == [False]
    # The calendar changes at 00:01 on 1 March: that day becomes a holiday too, and the window is open again.
    await cal.update_rules(
        [
            weekly(
                off.oid,
                oid=cal.rules()[0].oid,
                startYear=2024,
                startMonth=2,
                startDay=29,
                endYear=2024,
                endMonth=3,
                endDay=1,
            )
        ],
        checks=False,
    )
    await h.advance(1)
    assert trigger.status()["schedulingIntervalsStatus"] == [True]
    # Switched off, the calendar says nothing: the window closes.
    await cal.set_enabled(False)
    await h.advance(1)
    assert trigger.status()["schedulingIntervalsStatus"] == [False]


async def test_exec_schedule_lists_the_rest_of_today(harness: Harness) -> None:
    h = harness
    cal = h.gateway.calendar
    day = await cal.create_day(
        {
            "type": "WORK_DAY",
            "dayTimeTriggers": [
                time_trigger(7, 0, "morning", url=h.url("10")),
                time_trigger(13, 0, "lunch", url=h.url("10")),
                time_trigger(0, 0, "dusk", kind="DUSK", url=h.url("10")),
            ],
        }
    )
    await cal.create_rules([weekly(day.oid)])
    listed = cal.scheduled_today()  # at 12:00: lunch and dusk are still to come today, the morning is over
    assert [(s["triggerId"], s["executionSubType"]) for s in listed] == [
        ("lunch", "TIME_TRIGGER"),
        ("dusk", "DUSK_TRIGGER"),
    ]
    assert local(listed[0]["utcTime"] / 1000) == "Sat 2024-03-30 13:00"
    assert listed[0]["executionType"] == "Weekly planning" and listed[0]["label"] == "run lunch"


async def test_a_command_schedule_on_work_days_only(harness: Harness) -> None:
    """A genericCommandSchedulingTrigger in mode 3 with a dayType interval: its 13:00 command is sent on the
    days the calendar makes work days (weekdays), not at the weekend."""
    h = harness  # Saturday 2024-03-30 12:00
    cal = h.gateway.calendar
    work = await cal.create_day({"label": "work", "type": "WORK_DAY"})
    await cal.create_rules([weekly(work.oid, dayMask=WEEKDAYS)])
    await h.gateway.triggers.create(
        {
            "genericCommandSchedulingTrigger": {
                "label": "lunch light",
                "mode": 3,
                "deviceURL": h.url("10"),
                "commandFunctionName": "on",
                "schedulingIntervals": [{"dayType": {"dayType": "WORK_DAY"}}],
                "commandSchedules": [{"scheduleTimes": [{"dailyTime": {"minutesOfDay": 13 * 60}}]}],
            }
        }
    )
    await h.advance(at("2024-04-01T12:00") - h.clock.now())  # Saturday and Sunday 13:00 went by
    assert h.named("ExecutionRegisteredEvent") == []
    await h.advance(3600 + 5)  # Monday 13:00
    [run] = h.named("ExecutionRegisteredEvent")
    assert run["subType"] == ExecutionSubType.GENERIC_COMMAND_SCHEDULING


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"dayTimeTriggers": [time_trigger(7, 0, f"t{i}") for i in range(51)]}, "more than 50 items"),
        ({"dayTimeTriggers": [time_trigger(7, 0, "same"), time_trigger(8, 0, "same")]}, "the same id"),
        ({"label": "x" * 300}, "longer than 256 characters"),
        ({"metadata": {"nested": [1, 2]}}, "metadata: must be a text"),
        ({"dayTimeTriggers": "all of them"}, "dayTimeTriggers: must be a list"),
        (
            {"dayTimeTriggers": [{"startActionGroupTimeTrigger": {"dawnOffset": 10**30, "actionGroupOID": "g"}}]},
            "dawnOffset: must be between -720 and 720",
        ),
        (
            {"dayTimeTriggers": [{"startActionGroupTimeTrigger": {"localActionGroup": {"actions": "none"}}}]},
            "localActionGroup.actions",
        ),
        ({"blob": "y" * (300 * 1024)}, "larger than"),
    ],
)
def test_bad_days_name_the_field(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_day(body)
    assert caught.value.status == 400 and reason in caught.value.message, caught.value.message


async def test_a_time_the_fall_back_repeats_runs_once(harness: Harness) -> None:
    h = harness
    await h.restart(at_time=at("2024-10-26T12:00"))
    cal = h.gateway.calendar
    day = await cal.create_day({"type": "WORK_DAY", "dayTimeTriggers": [time_trigger(2, 30, "night", url=h.url("10"))]})
    await cal.create_rules([weekly(day.oid)])
    # 02:30 CEST is 00:30 UTC: not before; at the second 02:30 (CET, 01:30 UTC) not again.
    await h.advance(at("2024-10-27T02:29") - h.clock.now())
    assert utc(h.clock.now()) == "2024-10-27 00:29" and h.named("ExecutionRegisteredEvent") == []
    await h.advance(120)
    assert [r["triggerId"] for r in h.named("ExecutionRegisteredEvent")] == ["night"]
    for _ in range(24):  # the rest of that 25-hour day, hour by hour
        await h.advance(3600)
    assert [r["triggerId"] for r in h.named("ExecutionRegisteredEvent")] == ["night"]
