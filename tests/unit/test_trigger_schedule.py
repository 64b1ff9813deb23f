"""Time in setup triggers: the sun against published values, scheduling windows, and, in a real Gateway
driven by a ManualClock, a dusk schedule firing at the computed time, command schedules and the rule for
runs missed while the gateway was down."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hearth.core.location import validate_location
from hearth.core.sun import SunSetting, TwilightAngle, time_json
from hearth.core.triggers.intervals import IntervalKind, next_change
from hearth.core.triggers.model import parse_interval
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionSubType, ExecutionType
from tests.conftest import wait_for
from tests.support.clock_gateway import Harness, start_harness

PARIS = ZoneInfo("Europe/Paris")

# ----------------------------------------------------------------------------- the sun

# Published times (timeanddate.com, rounded to the minute): (latitude, longitude, zone, day, angle,
# dawn "HH:MM" or None, dusk "HH:MM" or None)
PUBLISHED = [
    (48.8566, 2.3522, "Europe/Paris", date(2024, 6, 21), TwilightAngle.SOLAR, "05:47", "21:58"),
    (48.8566, 2.3522, "Europe/Paris", date(2024, 6, 21), TwilightAngle.CIVIL, "05:04", "22:41"),
    (40.7128, -74.0060, "America/New_York", date(2024, 12, 21), TwilightAngle.SOLAR, "07:17", "16:32"),
    (-33.8688, 151.2093, "Australia/Sydney", date(2024, 12, 21), TwilightAngle.SOLAR, "05:41", "20:05"),
    (69.6492, 18.9553, "Europe/Oslo", date(2024, 6, 21), TwilightAngle.SOLAR, None, None),  # midnight sun
    (69.6492, 18.9553, "Europe/Oslo", date(2024, 12, 21), TwilightAngle.SOLAR, None, None),  # polar night
]


def minutes(moment: datetime | None) -> int | None:
    return None if moment is None else moment.hour * 60 + moment.minute + round(moment.second / 60)


@pytest.mark.parametrize(("lat", "lon", "zone", "day", "angle", "dawn", "dusk"), PUBLISHED)
def test_sun_matches_published_times(
    lat: float, lon: float, zone: str, day: date, angle: TwilightAngle, dawn: str | None, dusk: str | None
) -> None:
    sun = SunSetting(timezone=zone, latitude=lat, longitude=lon, angle=angle)
    for found, published in ((sun.dawn(day), dawn), (sun.dusk(day), dusk)):
        if published is None:
            assert found is None
            continue
        hours, mins = map(int, published.split(":"))
        got = minutes(found)
        assert got is not None and abs(got - (hours * 60 + mins)) <= 2, (found, published)


def test_twilight_settings_and_undefined_times() -> None:
    day = date(2024, 6, 21)
    base = SunSetting(timezone="Europe/Paris", latitude=48.8566, longitude=2.3522)
    assert base.angle is TwilightAngle.CIVIL  # the default
    shifted = SunSetting(timezone="Europe/Paris", latitude=48.8566, longitude=2.3522, dusk_offset_min=30)
    assert (shifted.dusk(day) - base.dusk(day)).total_seconds() == 1800  # type: ignore[operator]
    nautical = SunSetting(timezone="Europe/Paris", latitude=48.8566, longitude=2.3522, angle=TwilightAngle.NAUTICAL)
    assert nautical.dusk(day) > base.dusk(day)  # type: ignore[operator]
    assert time_json(SunSetting(timezone="Europe/Paris").dusk(day), PARIS) == {}  # no coordinates
    # Tromsø in December: no sunrise, but civil twilight.
    tromso = SunSetting(timezone="Europe/Oslo", latitude=69.6492, longitude=18.9553)
    assert tromso.dawn(date(2024, 12, 21)) is not None
    # Mode 2: dusk from the solstice minutes.
    solstice = SunSetting(
        timezone="Europe/Paris",
        latitude=48.8566,
        longitude=2.3522,
        mode=2,
        summer_dusk_min=22 * 60,
        winter_dusk_min=17 * 60,
    )
    assert minutes(solstice.dusk(day)) == 22 * 60
    assert minutes(solstice.dusk(date(2024, 12, 21))) == 17 * 60


def test_location_validation_names_the_field() -> None:
    for body, field in (
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"twilightAngle": "LUNAR"}, "twilightAngle"),
        ({"latitude": 10}, "longitude"),
        ({"dawnOffset": "x"}, "dawnOffset"),
        ({"tariffSettings": {"tariffs": [{"name": "a", "startTime": "7h"}]}}, "tariffSettings.tariffs[0].startTime"),
    ):
        with pytest.raises(ApiError) as caught:
            validate_location(body, {})
        assert f"Invalid location: {field}:" in caught.value.message
    merged = validate_location({"city": "Paris", "latitude": 48.85, "longitude": 2.35}, {"country": "FR"})
    assert merged == {"city": "Paris", "latitude": 48.85, "longitude": 2.35, "country": "FR"}
    assert validate_location({"city": None}, merged) == {"latitude": 48.85, "longitude": 2.35, "country": "FR"}


# ----------------------------------------------------------------------------- windows


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


def local(moment: float) -> str:
    return datetime.fromtimestamp(moment, PARIS).strftime("%a %Y-%m-%d %H:%M")


def test_windows_of_each_kind() -> None:
    sun = SunSetting(timezone="Europe/Paris", latitude=48.8566, longitude=2.3522, angle=TwilightAngle.SOLAR)
    # Monday 09:00 to Friday 17:00, one window (2 = Monday, 6 = Friday; 1 is Sunday).
    weekly = parse_interval(
        {"weeklySchedule": {"startDay": 2, "startMinutes": 540, "stopDay": 6, "stopMinutes": 1020}}, "w"
    )
    assert weekly.active_window(sun, at("2024-06-19T12:00")) is not None  # Wednesday
    assert weekly.active_window(sun, at("2024-06-22T12:00")) is None  # Saturday
    assert local(weekly.next_boundary(sun, at("2024-06-22T12:00")) or 0) == "Mon 2024-06-24 09:00"
    # Saturday and Sunday (bits 6 and 0), 22:00 to 06:00 the next morning.
    nights = parse_interval({"weekDays": {"dayMask": 0b1000001, "startMinutes": 1320, "stopMinutes": 360}}, "n")
    assert nights.active_window(sun, at("2024-06-23T02:00")) is not None  # Saturday night
    assert nights.active_window(sun, at("2024-06-24T02:00")) is not None  # Sunday night
    assert nights.active_window(sun, at("2024-06-25T02:00")) is None  # Monday night
    # Dusk to 23:00, with dusk held at or before 21:30.
    evening = parse_interval(
        {"dailySchedule": {"startType": "DUSK", "startAlwaysBefore": "21:30", "stopMinutes": 1380}}, "e"
    )
    assert local(evening.next_boundary(sun, at("2024-06-21T12:00")) or 0) == "Fri 2024-06-21 21:30"
    winter_start = evening.next_boundary(sun, at("2024-12-21T12:00"))
    assert local(winter_start or 0).startswith("Sat 2024-12-21 16:5")  # sunset, before 21:30
    # Dusk - 30 min to dawn.
    night = parse_interval({"dailySchedule": {"startType": "DUSK", "startOffset": -30, "stopType": "DAWN"}}, "d")
    window = night.active_window(sun, at("2024-06-22T03:00"))
    assert window is not None and local(window.start) == "Fri 2024-06-21 21:27"  # sunset 21:57:38
    assert local(window.stop) == "Sat 2024-06-22 05:47"
    # 1 December to 15 January, over the new year; annualWeekHours on weekdays only.
    season = parse_interval({"annualSchedule": {"startMonth": 12, "startDay": 1, "stopMonth": 1, "stopDay": 15}}, "a")
    assert season.kind is IntervalKind.ANNUAL
    assert season.active_window(sun, at("2025-01-10T12:00")) is not None
    assert season.active_window(sun, at("2025-02-10T12:00")) is None
    workdays = parse_interval(
        {
            "annualWeekHours": {
                "startMonth": 12,
                "startDay": 1,
                "stopMonth": 1,
                "stopDay": 15,
                "dayMask": 0b0111110,
                "startMinutes": 480,
                "stopMinutes": 600,
            }
        },
        "aw",
    )
    assert workdays.active_window(sun, at("2025-01-10T09:00")) is not None  # a Friday
    assert workdays.active_window(sun, at("2025-01-11T09:00")) is None  # a Saturday
    once = parse_interval(
        {
            "absoluteSchedule": {
                "startYear": 2024,
                "startMonth": 7,
                "startDay": 1,
                "startMinutes": 600,
                "stopYear": 2024,
                "stopMonth": 7,
                "stopDay": 2,
                "stopMinutes": 0,
            }
        },
        "x",
    )
    assert next_change([once], sun, at("2024-06-01T00:00")) is not None
    assert next_change([once], sun, at("2024-07-03T00:00")) is None


# ----------------------------------------------------------------------------- a gateway on a ManualClock


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await start_harness(tmp_path, at("2024-06-21T12:00"))
    yield h
    await h.gateway.stop()


def light_on(h: Harness, label: str) -> dict[str, Any]:
    return {
        "actionGroupEffect": {
            "localActionGroup": {"label": label, "actions": [{"deviceURL": h.url("10"), "commands": [{"name": "on"}]}]}
        }
    }


async def test_dusk_schedule_fires_at_the_computed_time(harness: Harness) -> None:
    h = harness
    assert h.named("LocationUpdatedEvent")[0]["city"] == "Paris"
    dusk_ms = h.gateway.location.dusk_json(date(2024, 6, 21))["utc"]
    assert datetime.fromtimestamp(dusk_ms / 1000, PARIS).strftime("%H:%M") in ("21:57", "21:58")
    trigger = await h.gateway.triggers.create(
        {
            "ifThenSetupTrigger": {
                "label": "lights at dusk",
                "mode": 3,
                "effects": [light_on(h, "dusk light")],
                "schedulingIntervals": [{"dailySchedule": {"startType": "DUSK", "stopMinutes": 1439}}],
            }
        }
    )
    await h.advance(dusk_ms / 1000 - h.clock.now() - 5)
    assert h.named("ExecutionRegisteredEvent") == []
    await h.advance(10)
    registered = h.named("ExecutionRegisteredEvent")
    assert len(registered) == 1
    assert registered[0]["type"] == ExecutionType.RAW_TRIGGER_GATEWAY
    assert registered[0]["subType"] == ExecutionSubType.DUSK_TRIGGER
    assert registered[0]["triggerId"] == trigger.oid
    triggered = h.named("GroupTriggeredEvent")
    assert triggered == [
        {
            "name": "GroupTriggeredEvent",
            "timestamp": triggered[0]["timestamp"],
            "triggerId": trigger.oid,
            "triggerType": 3,
            "execId": registered[0]["execId"],
        }
    ]
    assert trigger.status()["schedulingIntervalsStatus"] == [True]
    # The next day, at that day's dusk (a little later in June), once more.
    await h.advance(86_400 - 60)
    assert len(h.named("ExecutionRegisteredEvent")) == 1
    await h.advance(120)
    assert len(h.named("ExecutionRegisteredEvent")) == 2


async def test_command_schedule_and_missed_runs(harness: Harness) -> None:
    h = harness
    shutter = h.url("2")
    trigger = await h.gateway.triggers.create(
        {
            "genericCommandSchedulingTrigger": {
                "label": "morning",
                "deviceURL": shutter,
                "commandFunctionName": "setClosure",
                "commandSchedules": [
                    {
                        "label": "half open",
                        "parameters": [50],
                        "scheduleTimes": [{"dailyTime": {"minutesOfDay": 13 * 60}}],
                    }
                ],
                "stateRestrictions": [{"stateName": "core:StatusState", "stateValue": "available"}],
            }
        }
    )
    await h.advance(3600 + 5)  # 13:00:05
    registered = h.named("ExecutionRegisteredEvent")
    assert len(registered) == 1 and registered[0]["subType"] == ExecutionSubType.GENERIC_COMMAND_SCHEDULING
    assert registered[0]["actions"][0]["commands"][0]["name"] == "setClosure"

    # Down from 13:30 to 13:05 the next day + 5 min: within the grace (600 s) it is caught up, once.
    await h.restart(at_time=at("2024-06-22T13:05"))
    await h.advance(0.1)
    assert len(h.named("ExecutionRegisteredEvent")) == 1
    assert trigger.oid in {t.oid for t in h.gateway.triggers.all()}

    # Down for three days: the runs are recorded as missed, and not run.
    await h.restart(at_time=at("2024-06-25T18:00"))
    await h.advance(0.1)
    assert h.named("ExecutionRegisteredEvent") == []
    assert h.named("DelayedTriggerCancelledEvent")

    async def missed_runs() -> list[tuple[int]] | None:
        # The recovery queues them for the batch writer: under load they may land a moment after the restart.
        await h.gateway.writer.flush()
        conn = sqlite3.connect(h.data_dir / "hearth.db")
        rows = conn.execute("SELECT due_time FROM trigger_missed_runs WHERE trigger_oid = ?", (trigger.oid,)).fetchall()
        conn.close()
        return rows if len(rows) >= 3 else None

    missed = await wait_for(missed_runs, timeout=10)
    assert [local(m / 1000) for (m,) in missed] == [
        "Sun 2024-06-23 13:00",
        "Mon 2024-06-24 13:00",
        "Tue 2024-06-25 13:00",
    ]
    # And the schedule goes on.
    await h.advance(19 * 3600 + 60)
    assert len(h.named("ExecutionRegisteredEvent")) == 1


async def test_threshold_delay_survives_a_restart_and_the_grace_rule(harness: Harness) -> None:
    h = harness
    gw = h.gateway
    temp = h.url("5")
    driver = gw.drivers.by_protocol["virtual"]
    device = gw.registry.require(temp)
    await driver.set_state(device.url, "core:TemperatureState", 20.0)
    trigger = await gw.triggers.create(
        {
            "sensorThreshold": {
                "label": "hot",
                "deviceURL": temp,
                "stateName": "core:TemperatureState",
                "upperBound": 25,
                "lowerBound": 18,
                "upperActivationDelay": 60,
                "upperEffects": [light_on(h, "cool down")],
            }
        }
    )
    await driver.set_state(device.url, "core:TemperatureState", 28.0)
    assert h.named("DelayedTriggerSetEvent") == [
        {
            "name": "DelayedTriggerSetEvent",
            "triggerId": trigger.oid,
            "timestamp": h.named("DelayedTriggerSetEvent")[0]["timestamp"],
        }
    ]
    await h.advance(20)
    await h.restart()  # a graceful restart 20 s into the delay: it resumes
    await h.advance(30)
    assert h.named("ExecutionRegisteredEvent") == []
    await h.advance(15)
    assert [e["subType"] for e in h.named("ExecutionRegisteredEvent")] == [ExecutionSubType.IFT_CONDITION]
    assert [e["triggerType"] for e in h.named("GroupTriggeredEvent")] == [1]
    # Across again, then down for longer than the grace: recorded as missed, not run.
    gw = h.gateway
    driver = gw.drivers.by_protocol["virtual"]
    await driver.set_state(device.url, "core:TemperatureState", 20.0)
    await driver.set_state(device.url, "core:TemperatureState", 29.0)
    await h.advance(1)
    await h.restart(at_time=h.clock.now() + 3600)
    await h.advance(1)
    assert h.named("ExecutionRegisteredEvent") == []
    assert h.named("DelayedTriggerCancelledEvent")
