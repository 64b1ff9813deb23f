"""The seven setup trigger types added to the four that ran before, each in a real Gateway on a ManualClock with
the virtual devices of the demo house (5 temperature sensor, 8 thermostat, 10 light, 15 door contact). Each
expectation is worked out by hand: what a home user would see happen, and when.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hearth.core.triggers.adaptation import Adaptation, AdaptationError
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionSubType, ExecutionType
from tests.support.clock_gateway import Harness, start_harness

PARIS = ZoneInfo("Europe/Paris")
TEMPERATURE, THERMOSTAT, LIGHT, DOOR = "5", "8", "10", "15"


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await start_harness(tmp_path, at("2024-06-21T12:00"))
    yield h
    await h.gateway.stop()


def light_on(h: Harness) -> dict[str, Any]:
    return {
        "actionGroupEffect": {
            "localActionGroup": {
                "label": "light",
                "actions": [{"deviceURL": h.url(LIGHT), "commands": [{"name": "on"}]}],
            }
        }
    }


# ----------------------------------------------------------------------------- delayed commands


async def test_delayed_commands_run_once_at_their_moment(harness: Harness) -> None:
    h = harness
    trigger = await h.gateway.triggers.create(
        {
            "delayedCommandsSchedulingTrigger": {
                "label": "evening",
                "deviceURL": h.url(THERMOSTAT),
                "commandLabel": "heat for the evening",
                "commandCalls": [
                    {"commandFunctionName": "setHeatingLevel", "commandParameters": ["comfort"]},
                    {"commandFunctionName": "setTargetTemperature", "commandParameters": [21.5]},
                ],
                "commandYear": 2024,
                "commandMonth": 6,
                "commandDay": 21,
                "commandMinutes": 13 * 60 + 30,
            }
        }
    )
    await h.advance(at("2024-06-21T13:29") - h.clock.now())
    assert h.commands() == []
    await h.advance(120)
    [registered] = h.named("ExecutionRegisteredEvent")
    assert registered["subType"] == ExecutionSubType.GENERIC_COMMAND_SCHEDULING
    assert registered["type"] == ExecutionType.RAW_TRIGGER_GATEWAY and registered["triggerId"] == trigger.oid
    assert registered["label"] == "heat for the evening"
    assert h.commands() == [("setHeatingLevel", ["comfort"]), ("setTargetTemperature", [21.5])]
    assert [e["triggerType"] for e in h.named("GroupTriggeredEvent")] == [3]
    assert trigger.status()["subTriggersStatus"] == [
        {"triggerName": "heat for the evening", "active": False, "executeAlways": False}
    ]
    # Once only: the next day nothing more, and not after a restart either.
    await h.advance(86_400)
    await h.restart()
    assert h.commands() == []
    # A moment in the past is refused, and nothing is kept.
    with pytest.raises(ApiError) as caught:
        await h.gateway.triggers.create(
            {
                "delayedCommandSchedulingTrigger": {
                    "deviceURL": h.url(LIGHT),
                    "commandFunctionName": "on",
                    "commandYear": 2024,
                    "commandMonth": 6,
                    "commandDay": 1,
                    "commandMinutes": 0,
                }
            }
        )
    assert caught.value.status == 400 and "is in the past" in caught.value.message
    assert len(h.gateway.triggers.all()) == 1


async def test_delayed_command_restriction_and_the_missed_run_rule(harness: Harness) -> None:
    h = harness
    await h.set_state(LIGHT, "core:OnOffState", "on")
    body = {
        "deviceURL": h.url(LIGHT),
        "commandFunctionName": "on",
        "commandYear": 2024,
        "commandMonth": 6,
        "commandDay": 21,
        "commandMinutes": 13 * 60,
        "stateRestrictions": [{"stateName": "core:OnOffState", "stateValue": "off"}],
    }
    await h.gateway.triggers.create({"delayedCommandSchedulingTrigger": body})
    await h.advance(3600 + 5)  # 13:00:05, the light is on: the restriction does not hold, nothing is sent
    assert h.commands() == []
    # Two more: one due during a short outage (caught up), one during a long one (recorded as missed).
    await h.set_state(LIGHT, "core:OnOffState", "off")
    soon = await h.gateway.triggers.create({"delayedCommandSchedulingTrigger": {**body, "commandMinutes": 14 * 60}})
    later = await h.gateway.triggers.create(
        {
            "delayedCommandsSchedulingTrigger": {
                **{k: v for k, v in body.items() if k != "commandFunctionName"},
                "commandMinutes": 16 * 60,
                "commandCalls": [{"commandFunctionName": "on"}],
            }
        }
    )
    await h.restart(at_time=at("2024-06-21T14:05"))  # 5 min late, within the 600 s grace: run once
    assert h.commands() == [("on", [])]
    assert [e["triggerId"] for e in h.named("ExecutionRegisteredEvent")] == [soon.oid]
    await h.restart(at_time=at("2024-06-21T17:00"))  # an hour late: not run, recorded, announced
    assert h.commands() == []
    assert [e["triggerId"] for e in h.named("DelayedTriggerCancelledEvent")] == [later.oid]
    await h.gateway.writer.flush()
    conn = sqlite3.connect(h.data_dir / "hearth.db")
    missed = conn.execute("SELECT timer FROM trigger_missed_runs WHERE trigger_oid = ?", (later.oid,)).fetchall()
    conn.close()
    assert missed == [("once",)]


# ----------------------------------------------------------------------------- regulation


def heating_plan(h: Harness, **extra: Any) -> dict[str, Any]:
    return {
        "deviceURL": h.url(THERMOSTAT),
        "targetRegulationSchedulingIntervals": [
            {
                "target": "COMFORT",
                "schedulingIntervals": [{"dailySchedule": {"startMinutes": 7 * 60, "stopMinutes": 22 * 60}}],
            },
            {
                "target": "ECO",
                "schedulingIntervals": [{"dailySchedule": {"startMinutes": 22 * 60, "stopMinutes": 7 * 60}}],
            },
        ],
        **extra,
    }


async def test_ovp_thermostat_follows_its_plan_and_its_override(harness: Harness) -> None:
    h = harness
    override = {
        "target": "19.5",
        "schedulingIntervals": [
            {
                "absoluteSchedule": {
                    "startYear": 2024,
                    "startMonth": 6,
                    "startDay": 22,
                    "startMinutes": 10 * 60,
                    "stopYear": 2024,
                    "stopMonth": 6,
                    "stopDay": 22,
                    "stopMinutes": 11 * 60,
                }
            }
        ],
    }
    trigger = await h.gateway.triggers.create(
        {"ovpThermostatRegulationTrigger": heating_plan(h, targetRegulationOverrides=[override])}
    )
    # Created at 12:00, in COMFORT time: taken as reached, not sent (no allowExecuteOnCreate).
    assert h.commands() == []
    assert [s["active"] for s in trigger.status()["subTriggersStatus"]] == [False, True, False]
    await h.advance(at("2024-06-21T21:59") - h.clock.now())
    assert h.commands() == []
    await h.advance(120)  # 22:00: ECO
    assert h.commands() == [("setHeatingLevel", ["eco"])]
    assert h.state(THERMOSTAT, "core:TargetHeatingLevelState") == "eco"
    assert h.named("ExecutionRegisteredEvent")[0]["subType"] == ExecutionSubType.TIME_TRIGGER
    await h.advance(at("2024-06-22T07:01") - h.clock.now())  # 07:00: COMFORT
    assert h.commands()[1:] == [("setHeatingLevel", ["comfort"])]
    await h.advance(at("2024-06-22T10:01") - h.clock.now())  # 10:00 the override: 19.5 °C
    assert h.commands()[2:] == [("setTargetTemperature", [19.5])]
    await h.advance(at("2024-06-22T11:01") - h.clock.now())  # 11:00 back to the plan: COMFORT again
    assert h.commands()[3:] == [("setHeatingLevel", ["comfort"])]


async def test_regulation_skips_a_reached_target_waits_while_busy_and_catches_up_after_a_restart(
    harness: Harness,
) -> None:
    h = harness
    await h.set_state(THERMOSTAT, "core:TargetTemperatureState", 17.0)
    plan = {
        "deviceURL": h.url(THERMOSTAT),
        "updateTargetFunctionName": "setTargetTemperature",
        "regulatedStateName": "core:TargetTemperatureState",
        "regulationHysteresis": 0.5,
        "regulationBusyStateName": "core:NameState",
        "targetRegulationSchedulingIntervals": [
            {
                "target": "21",
                "schedulingIntervals": [{"dailySchedule": {"startMinutes": 13 * 60, "stopMinutes": 18 * 60}}],
            },
            {
                "target": "17.3",
                "schedulingIntervals": [{"dailySchedule": {"startMinutes": 18 * 60, "stopMinutes": 13 * 60}}],
            },
        ],
    }
    await h.gateway.triggers.create({"genericStateRegulationTrigger": plan})
    await h.advance(3600 + 5)  # 13:00: 21
    assert h.commands() == [("setTargetTemperature", [21])]
    # At 18:00 the target is 17.3, but the device is "busy" (its busy state is true): held back until it is not.
    await h.set_state(THERMOSTAT, "core:NameState", "true")
    await h.advance(at("2024-06-21T18:01") - h.clock.now())
    assert len(h.commands()) == 1
    await h.set_state(THERMOSTAT, "core:NameState", "false")
    assert h.commands()[1:] == [("setTargetTemperature", [17.3])]
    # Down from 18:01 to 13:30 the next day: at start the target in force (21) is sent.
    await h.restart(at_time=at("2024-06-22T13:30"))
    assert h.commands() == [("setTargetTemperature", [21])]
    await h.restart()  # and not again on a second restart: the device shows it
    assert h.commands() == []
    # Within the hysteresis (0.5) of the target the device counts as there: 17.3 is not sent to a 17.0.
    await h.set_state(THERMOSTAT, "core:TargetTemperatureState", 17.0)
    await h.advance(at("2024-06-22T18:01") - h.clock.now())
    assert h.commands() == []


# ----------------------------------------------------------------------------- point to point


async def test_point_to_point_forwards_each_change_adapted(harness: Harness) -> None:
    h = harness
    await h.set_state(TEMPERATURE, "core:TemperatureState", 20.0)
    trigger = await h.gateway.triggers.create(
        {
            "genericPointToPointRegulationTrigger": {
                "label": "follow",
                "deviceURL": h.url(TEMPERATURE),
                "sourceStateName": "core:TemperatureState",
                "targetDeviceURL": h.url(THERMOSTAT),
                "targetCommandName": "setTargetTemperature",
                "adaptationFunction": "min(25, x + 1)",
                "executionLabel": "follow the living room",
            }
        }
    )
    assert h.commands() == []
    await h.set_state(TEMPERATURE, "core:TemperatureState", 21.5)
    assert h.commands() == [("setTargetTemperature", [22.5])]
    [registered] = h.named("ExecutionRegisteredEvent")
    assert registered["subType"] == ExecutionSubType.P2P_COMMAND_REGULATION
    assert registered["label"] == "follow the living room"
    await h.set_state(TEMPERATURE, "core:TemperatureState", 30.0)
    await h.set_state(TEMPERATURE, "core:TemperatureState", 31.0)  # adapts to 25 again: nothing new
    assert h.commands()[1:] == [("setTargetTemperature", [25])]
    # Off: nothing; back on (allowExecuteOnEnabled): the current value is sent.
    await h.gateway.triggers.set_mode(trigger.type.value, trigger.oid, 2)
    await h.set_state(TEMPERATURE, "core:TemperatureState", 18.0)
    assert len(h.commands()) == 2
    await h.gateway.triggers.set_mode(trigger.type.value, trigger.oid, 1)
    await h.advance(0.1)
    assert h.commands()[2:] == [("setTargetTemperature", [19])]


def test_adaptation_functions() -> None:
    assert Adaptation("x * 0.5 + 10")(21) == 20.5
    assert Adaptation("round(x / 3, 1)")("10") == 3.3
    assert Adaptation("100 - x")(30) == 70 and isinstance(Adaptation("100 - x")(30), int)
    assert Adaptation(None)("open") == "open"
    assert Adaptation("x / 0")(1) is None and Adaptation("x + 1")("warm") is None
    for hostile in ("__import__('os').system('id')", "x ** 99999999", "x.real", "[x] * 9", "y", "lambda: 0", "(" * 300):
        with pytest.raises(AdaptationError):
            Adaptation(hostile)


# ----------------------------------------------------------------------------- events and discrete sensors


async def test_event_trigger_runs_on_its_event_at_most_once_a_second(harness: Harness) -> None:
    h = harness
    trigger = await h.gateway.triggers.create(
        {"eventTrigger": {"label": "moved", "eventName": "LocationUpdatedEvent", "effects": [light_on(h)]}}
    )
    await h.gateway.location.update({"city": "Lyon"})
    await h.advance(0.1)
    await h.gateway.location.update({"city": "Nice"})  # within the second: not again
    await h.advance(0.1)
    assert [e["triggerId"] for e in h.named("ExecutionRegisteredEvent")] == [trigger.oid]
    assert [e["triggerType"] for e in h.named("GroupTriggeredEvent")] == [6]
    await h.advance(1.5)
    await h.gateway.location.update({"city": "Paris"})
    await h.advance(0.1)
    assert len(h.named("ExecutionRegisteredEvent")) == 2
    # Deleted: its subscription goes with it.
    await h.gateway.triggers.delete("eventTrigger", trigger.oid)
    await h.advance(2)
    await h.gateway.location.update({"city": "Lille"})
    await h.advance(0.1)
    assert len(h.named("ExecutionRegisteredEvent")) == 2
    for name, reason in (
        ("ExecutionStateChangedEvent", "an effect would fire it again"),
        ("NoSuchEvent", "is not an event this gateway publishes"),
    ):
        with pytest.raises(ApiError) as caught:
            await h.gateway.triggers.create({"eventTrigger": {"eventName": name, "effects": [light_on(h)]}})
        assert reason in caught.value.message


async def test_discrete_sensor_trigger_runs_as_a_discrete_trigger(harness: Harness) -> None:
    h = harness
    await h.set_state(DOOR, "core:ContactState", "closed")
    trigger = await h.gateway.triggers.create(
        {
            "discreteSensorTrigger": {
                "deviceURL": h.url(DOOR),
                "stateName": "core:ContactState",
                "effectsList": [{"key": "open", "effects": [light_on(h)]}],
            }
        }
    )
    assert trigger.definition.type.code == 9
    await h.set_state(DOOR, "core:ContactState", "open")
    [registered] = h.named("ExecutionRegisteredEvent")
    assert registered["subType"] == ExecutionSubType.DISCRETE_TRIGGER and registered["triggerId"] == trigger.oid
    assert await h.gateway.triggers.test_discrete(trigger.oid, "open")
