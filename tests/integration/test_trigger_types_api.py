"""Every setup trigger type through the API of a real gateway process: the seed's example body of each type
(its placeholders replaced by the demo house's devices, states and commands, and the "exhaustive but
non-functional" example's impossible values, such as a lower bound above the upper one, put right), answered
201 with the seed's response shape and shown back with every field it was given; the types the seed gives no
example for (discreteSensorTrigger, eventTrigger, delayedCommandSchedulingTrigger) with the bodies the README
documents; bad bodies refused; and a delayedCommandsSchedulingTrigger due while the gateway is SIGKILLed run
once at the next start.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.api_client import ApiClient, api_client
from tests.support.process import HearthProcess
from tests.support.seed_examples import (
    event_example,
    response_example,
    shape_mismatches,
    status_of,
    trigger_type_examples,
)

TEMPERATURE, THERMOSTAT, LIGHT, DOOR = "5", "8", "10", "15"
LEAVE_OUT = frozenset({"owningPartners"})  # not added by the event streams yet (another part's work)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-trigger-types")).start()
    yield proc
    proc.kill()


@pytest.fixture
async def api(gateway: HearthProcess) -> AsyncIterator[ApiClient]:
    async for client in api_client(gateway):
        yield client
        for trigger in await client.call("GET", "/triggers"):
            ((kind, body),) = trigger.items()
            await client.call("DELETE", f"/triggers/{kind}/{body['oid']}", status=204)


def tomorrow_at(hour: int) -> dict[str, int]:
    day = datetime.now().astimezone() + timedelta(days=1)
    return {"commandYear": day.year, "commandMonth": day.month, "commandDay": day.day, "commandMinutes": hour * 60}


def real_example(api: ApiClient, kind: str) -> dict[str, Any]:
    """The seed's example of ``kind`` with this gateway's devices in place of its placeholders."""
    body = copy.deepcopy(trigger_type_examples()[kind])
    device = {
        "genericStateRegulationTrigger": THERMOSTAT,
        "ovpThermostatRegulationTrigger": THERMOSTAT,
        "genericCommandSchedulingTrigger": THERMOSTAT,
        "genericPointToPointRegulationTrigger": TEMPERATURE,
        "discreteTrigger": DOOR,
        "sensorThreshold": TEMPERATURE,
        "delayedCommandsSchedulingTrigger": THERMOSTAT,
        "ifThenSetupTrigger": TEMPERATURE,
    }[kind]
    state = {DOOR: "core:ContactState", TEMPERATURE: "core:TemperatureState"}.get(device, "core:StatusState")

    def fix(node: Any, in_effect: bool = False) -> None:
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if key == "deviceURL" and isinstance(value, str) and "<protocol>" in value:
                    node[key] = api.url(LIGHT if in_effect else device)
                elif key == "objectPath":
                    del node[key]  # the demo's states are not JSON objects
                elif key == "stateName" and value == "a state name":
                    node[key] = state
                elif key == "stateValue":
                    node[key] = "available"
                elif key in ("startAngle", "stopAngle") and isinstance(value, int | float) and value > 18:
                    node[key] = 6  # the example's 21 to 44 degrees: the sun is never that far below the horizon
                elif key == "name" and value == "a command name":
                    node.update({"name": "on", "parameters": [], "sensitiveParametersIndexes": []})
                elif key in ("localActionGroup", "effects", "upperEffects", "middleEffects", "lowerEffects"):
                    fix(value, True)
                    continue
                fix(node.get(key), in_effect)
        elif isinstance(node, list):
            for item in node:
                fix(item, in_effect)

    fix(body)
    if kind == "sensorThreshold":
        body.update({"upperBound": 30, "lowerBound": 14})  # the example has 14 above and 30 below
    if kind == "ifThenSetupTrigger":
        condition = body["rootConditionBlock"]["orBlock"]["subConditionBlocks"][0]["staticDeviceStateCondition"]
        condition.update({"value1": 18, "value2": 25})
    if kind == "discreteTrigger":
        body["effectsList"][0]["key"] = "open"
        body["activationDelays"] = {"map": {"open": 17}}
        body["deactivationDelays"] = {"map": {"open": 20}}
    if kind == "genericCommandSchedulingTrigger":
        body.update({"commandFunctionName": "setHeatingLevel"})
        body["commandSchedules"][0]["parameters"] = ["eco"]
    if kind == "genericPointToPointRegulationTrigger":
        body.update(
            {
                "sourceStateName": "core:TemperatureState",
                "targetDeviceURL": api.url(THERMOSTAT),
                "targetCommandName": "setTargetTemperature",
                "adaptationFunction": "x + 0.5",
            }
        )
    if kind == "genericStateRegulationTrigger":
        body.update(
            {
                "updateTargetFunctionName": "setHeatingLevel",
                "regulationBusyStateName": "core:NameState",
                "regulatedStateName": "core:TargetHeatingLevelState",
            }
        )
    if kind == "delayedCommandsSchedulingTrigger":
        body["commandCalls"][0] = {"commandFunctionName": "setHeatingLevel", "commandParameters": ["eco"]}
        body.update(tomorrow_at(6))
    return {kind: body}


@pytest.mark.parametrize("kind", sorted(trigger_type_examples()))
async def test_the_seed_example_of_each_type(api: ApiClient, kind: str) -> None:
    body = real_example(api, kind)
    created = await api.call("POST", "/triggers", body, status=status_of("POST", "/triggers"))
    assert shape_mismatches(created, response_example("POST", "/triggers")) == []
    oid = created["setupTriggerOID"]
    shown = await api.call("GET", f"/triggers/{kind}/{oid}")
    assert list(shown) == [kind]
    inner = shown[kind]
    # Every field given is shown back (blockIds and effect ids added), with what the API adds on GET.
    assert shape_mismatches(inner, body[kind]) == []
    assert inner["oid"] == oid and inner["id"] == created["setupTriggerId"]
    assert isinstance(inner["creationTime"], int) and isinstance(inner["lastUpdateTime"], int)
    [event] = await api.events("SetupTriggerCreatedEvent")
    # The event's example holds a staticDeviceStateCondition at the root where ours is the orBlock we sent:
    # the root block is compared with what was sent, the rest with the event's example.
    leave_out = LEAVE_OUT | {"rootConditionBlock"} | ({"effects"} if not event["effects"] else set())
    assert (
        shape_mismatches(event, event_example("POST", "/triggers", "SetupTriggerCreatedEvent"), leave_out=leave_out)
        == []
    )
    if kind == "ifThenSetupTrigger":
        assert shape_mismatches(event["rootConditionBlock"], body[kind]["rootConditionBlock"]) == []
    status = await api.call("GET", f"/triggers/{kind}/{oid}/status")
    assert status["triggerOID"] == oid and status["mode"] == 1 and isinstance(status["subTriggersStatus"], list)
    assert [t[kind]["oid"] for t in await api.call("GET", f"/triggers/{kind}")] == [oid]


async def test_the_types_without_an_example_in_the_seed(api: ApiClient) -> None:
    effect = {
        "actionGroupEffect": {
            "localActionGroup": {
                "label": "light",
                "actions": [{"deviceURL": api.url(LIGHT), "commands": [{"name": "on"}]}],
            }
        }
    }
    bodies = {
        "discreteSensorTrigger": {
            "deviceURL": api.url(DOOR),
            "stateName": "core:ContactState",
            "effectsList": [{"key": "open", "effects": [effect]}],
        },
        "eventTrigger": {"eventName": "DeviceUnavailableEvent", "deviceURL": api.url(THERMOSTAT), "effects": [effect]},
        "delayedCommandSchedulingTrigger": {"deviceURL": api.url(LIGHT), "commandFunctionName": "on", **tomorrow_at(7)},
    }
    for kind, body in bodies.items():
        created = await api.call("POST", "/triggers", {kind: body}, status=201)
        shown = (await api.call("GET", f"/triggers/{kind}/{created['setupTriggerOID']}"))[kind]
        assert shape_mismatches(shown, body) == []
    codes = sorted(e["setupTriggerType"] for e in await api.events("SetupTriggerCreatedEvent"))
    assert codes == [9, 10, 11]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {
                "genericPointToPointRegulationTrigger": {
                    "deviceURL": "D:5",
                    "sourceStateName": "core:TemperatureState",
                    "targetDeviceURL": "D:8",
                    "targetCommandName": "setTargetTemperature",
                    "adaptationFunction": "__import__('os')",
                }
            },
            "adaptationFunction",
        ),
        (
            {
                "genericPointToPointRegulationTrigger": {
                    "deviceURL": "D:5",
                    "sourceStateName": "core:TemperatureState",
                    "targetDeviceURL": "D:8",
                    "targetCommandName": "fly",
                }
            },
            "has no command fly",
        ),
        (
            {
                "ovpThermostatRegulationTrigger": {
                    "deviceURL": "D:8",
                    "targetRegulationSchedulingIntervals": [{"target": "ECO", "schedulingIntervals": []}],
                }
            },
            "needs at least one interval",
        ),
        (
            {
                "genericStateRegulationTrigger": {
                    "deviceURL": "D:8",
                    "targetRegulationSchedulingIntervals": [
                        {"target": "ECO", "schedulingIntervals": [{"dailySchedule": {}}]}
                    ],
                }
            },
            "updateTargetFunctionName",
        ),
        (
            {
                "delayedCommandsSchedulingTrigger": {
                    "deviceURL": "D:10",
                    "commandCalls": [],
                    "commandYear": 2030,
                    "commandMonth": 1,
                    "commandDay": 1,
                    "commandMinutes": 0,
                }
            },
            "needs at least one command",
        ),
        (
            {
                "delayedCommandsSchedulingTrigger": {
                    "deviceURL": "D:10",
                    "commandCalls": [{"commandFunctionName": "on"}],
                    "commandYear": 2030,
                    "commandMonth": 2,
                    "commandDay": 30,
                    "commandMinutes": 0,
                }
            },
            "2030-02-30 is not a date",
        ),
        (
            {
                "delayedCommandSchedulingTrigger": {
                    "deviceURL": "D:10",
                    "commandFunctionName": "on",
                    "commandYear": 2001,
                    "commandMonth": 1,
                    "commandDay": 1,
                    "commandMinutes": 0,
                }
            },
            "in the past",
        ),
        ({"eventTrigger": {"eventName": "GroupTriggeredEvent", "effects": []}}, "would fire it again"),
        (
            {"discreteSensorTrigger": {"deviceURL": "D:15", "stateName": "core:ContactState", "effectsList": []}},
            "needs at least one key",
        ),
    ],
)
async def test_bad_bodies_are_refused(api: ApiClient, body: dict[str, Any], reason: str) -> None:
    ((kind, inner),) = body.items()
    for key, value in list(inner.items()):
        if isinstance(value, str) and value.startswith("D:"):
            inner[key] = api.url(value[2:])
    error = await api.call("POST", "/triggers", body, status=400)
    assert set(error) == {"errorCode", "error"} and reason in error["error"], error
    assert await api.call("GET", "/triggers") == []
    assert [e["setupTriggerType"] for e in await api.events("SetupTriggerCreationFailedEvent")]


async def test_delayed_commands_due_while_killed_run_once_after_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-delayed-kill")).start()
    try:
        due = datetime.now().astimezone().replace(second=0, microsecond=0) + timedelta(minutes=1)
        if (due - datetime.now().astimezone()).total_seconds() < 5:
            due += timedelta(minutes=1)
        async for api in api_client(proc):
            created = await api.call(
                "POST",
                "/triggers",
                {
                    "delayedCommandsSchedulingTrigger": {
                        "label": "soon",
                        "deviceURL": api.url(LIGHT),
                        "commandLabel": "light up",
                        "commandCalls": [{"commandFunctionName": "on"}],
                        "commandYear": due.year,
                        "commandMonth": due.month,
                        "commandDay": due.day,
                        "commandMinutes": due.hour * 60 + due.minute,
                    }
                },
                status=201,
            )
        proc.kill()  # SIGKILL: what survives is the row written before the wait
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()) + 2)
        proc.start()
        async for api in api_client(proc):
            runs = await wait_for(lambda a=api: _runs(a), timeout=10)
            assert [(r["label"], r["executionSubType"]) for r in runs] == [("light up", "GENERIC_COMMAND_SCHEDULING")]
            status = await api.call(
                "GET", f"/triggers/delayedCommandsSchedulingTrigger/{created['setupTriggerOID']}/status"
            )
            assert status["subTriggersStatus"][0]["active"] is False
        proc.stop()
        proc.start()
        async for api in api_client(proc):
            await asyncio.sleep(1)
            assert len(await _runs(api)) == 1  # once only
    finally:
        proc.kill()


async def _runs(api: ApiClient) -> list[dict[str, Any]]:
    return [
        e
        for e in await api.call("GET", "/history/executions")
        if e.get("executionSubType") == "GENERIC_COMMAND_SCHEDULING"
    ]
