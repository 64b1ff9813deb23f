"""Setup triggers through the API, on the virtual devices of the demo house, in a real gateway process.

The physical world is played with ``PUT /setup/devices/{url}/states/...``; what the triggers do is read from
the event listener, the execution history and the devices' states. Shutter travel is 1 s here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import wait_for
from tests.support import overkiz_client as ovk
from tests.support.api_client import ApiClient, api_client
from tests.support.process import HearthProcess

TEMPERATURE = "5"  # zigbee:TemperatureSensorComponent
SHUTTERS = ("2", "24")  # zigbee and zwave positionable roller shutters
MOTION, DOOR, LIGHT = "7", "15", "10"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-triggers")).start()
    yield proc
    proc.kill()


class Client(ApiClient):
    """The shared API client, with the shortcuts these tests use."""

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        return await self.call(method, path, body, status)

    async def set_state(self, address: str, name: str, dtype: int, value: Any) -> None:
        await self.ok("PUT", f"/setup/devices/{quote(self.url(address), safe='')}/states/{name}/{dtype}/{value}")

    async def state(self, address: str, name: str) -> Any:
        return (await self.ok("GET", f"/setup/devices/{quote(self.url(address), safe='')}/states/{name}"))["value"]

    async def apply(self, address: str, command: str, *params: Any) -> str:
        body = {
            "label": f"{command} {address}",
            "actions": [{"deviceURL": self.url(address), "commands": [{"name": command, "parameters": list(params)}]}],
        }
        return str((await self.ok("POST", "/exec/apply", body))["execId"])

    async def finished(self, exec_id: str) -> dict[str, Any] | None:
        response = await self.http.get(f"/history/executions/{exec_id}")
        if response.status_code != 200:
            return None
        execution: dict[str, Any] = response.json()["execution"]
        return execution if execution["state"] in ("COMPLETED", "FAILED") else None


@pytest.fixture
async def api(gateway: HearthProcess) -> AsyncIterator[Client]:
    async for client in api_client(gateway, Client):
        yield client
        await client.ok("PUT", "/triggers/status", {"enabled": True})
        for trigger in await client.ok("GET", "/triggers"):
            ((kind, body),) = trigger.items()
            await client.ok("DELETE", f"/triggers/{kind}/{body['oid']}", status=204)


async def open_shutters(api: Client) -> None:
    opened = [await api.apply(a, "open") for a in SHUTTERS]
    for exec_id in opened:
        await wait_for(lambda e=exec_id: api.finished(e), timeout=10)
    assert [await api.state(a, "core:ClosureState") for a in SHUTTERS] == [0, 0]


def group(client: Client, label: str, command: str, *addresses: str) -> dict[str, Any]:
    return {
        "label": label,
        "actions": [{"deviceURL": client.url(a), "commands": [{"name": command}]} for a in addresses],
    }


def effect(client: Client, label: str, command: str, *addresses: str) -> dict[str, Any]:
    return {"actionGroupEffect": {"localActionGroup": group(client, label, command, *addresses)}}


async def test_threshold_closes_the_shutters_after_its_delay(api: Client) -> None:
    await open_shutters(api)
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 21.0)
    created = await api.ok(
        "POST",
        "/triggers",
        {
            "sensorThreshold": {
                "label": "too hot: close",
                "deviceURL": api.url(TEMPERATURE),
                "stateName": "core:TemperatureState",
                "upperBound": 26,
                "lowerBound": 18,
                "upperActivationDelay": 2,
                "upperEffects": [effect(api, "close the shutters", "close", *SHUTTERS)],
            }
        },
        status=201,
    )
    oid = created["setupTriggerOID"]
    assert created["setupTriggerId"]
    [created_event] = await api.events("SetupTriggerCreatedEvent")
    assert created_event["setupTriggerType"] == 6 and created_event["setupTriggerOID"] == oid
    assert created_event["sourceDeviceURLs"] == [api.url(TEMPERATURE)]

    # A short spike above the bound, back within the delay: nothing runs.
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 27.5)
    await asyncio.sleep(0.5)
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 24.0)
    await asyncio.sleep(2.0)
    assert await api.events("GroupTriggeredEvent") == []
    assert len(await api.events("DelayedTriggerCancelledEvent")) == 1

    # It crosses and stays: the shutters close once the 2 s have passed, not before.
    crossed = time.time()
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 28.0)
    await asyncio.sleep(1.0)
    assert await api.events("GroupTriggeredEvent") == []
    status = await api.ok("GET", f"/triggers/sensorThreshold/{oid}/status")
    assert status["triggerOID"] == oid and status["mode"] == 1
    [triggered] = await wait_for(lambda: api.events("GroupTriggeredEvent"), timeout=5)
    assert time.time() - crossed >= 1.9
    assert triggered["triggerId"] == oid and triggered["triggerType"] == 1
    [registered] = [e for e in await api.events("ExecutionRegisteredEvent") if e["execId"] == triggered["execId"]]
    assert registered["type"] == 5 and registered["subType"] == 7 and registered["triggerId"] == oid
    done = await wait_for(lambda: api.finished(triggered["execId"]), timeout=10)
    assert done["state"] == "COMPLETED" and done["executionType"] == "Raw trigger (Gateway)"
    assert done["executionSubType"] == "IFT_CONDITION"
    assert [await api.state(a, "core:ClosureState") for a in SHUTTERS] == [100, 100]
    status = await api.ok("GET", f"/triggers/sensorThreshold/{oid}/status")
    assert {s["triggerName"]: s["active"] for s in status["subTriggersStatus"]} == {
        "upper": True,
        "middle": False,
        "lower": False,
    }
    # Staying above runs nothing more.
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 29.0)
    await asyncio.sleep(0.5)
    assert len(await api.events("GroupTriggeredEvent")) == 1


async def test_if_then_with_and_or_blocks_and_delays(api: Client) -> None:
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 20.0)
    await api.set_state(MOTION, "core:OccupancyState", 3, "noPersonInside")
    await api.set_state(DOOR, "core:ContactState", 3, "closed")
    await api.apply(LIGHT, "off")
    # Warm (> 23) and (someone inside, or the door open for 1 s), all of it holding for 1 s.
    created = await api.ok(
        "POST",
        "/triggers",
        {
            "ifThenSetupTrigger": {
                "label": "warm and busy",
                "rootConditionBlock": {
                    "andBlock": {
                        "activationDelay": 1,
                        "subConditionBlocks": [
                            {
                                "staticDeviceStateCondition": {
                                    "deviceURL": api.url(TEMPERATURE),
                                    "stateName": "core:TemperatureState",
                                    "operator": "GREATER_THAN",
                                    "value1": "23",
                                }
                            },
                            {
                                "orBlock": {
                                    "subConditionBlocks": [
                                        {
                                            "staticDeviceStateCondition": {
                                                "deviceURL": api.url(MOTION),
                                                "stateName": "core:OccupancyState",
                                                "operator": "EQUALS",
                                                "value1": "personInside",
                                            }
                                        },
                                        {
                                            "staticDeviceStateCondition": {
                                                "deviceURL": api.url(DOOR),
                                                "stateName": "core:ContactState",
                                                "operator": "EQUALS",
                                                "value1": "open",
                                                "activationDelay": 1,
                                            }
                                        },
                                    ]
                                }
                            },
                        ],
                    }
                },
                "effects": [effect(api, "light on", "on", LIGHT)],
            }
        },
        status=201,
    )
    oid = created["setupTriggerOID"]
    stored = await api.ok("GET", f"/triggers/ifThenSetupTrigger/{oid}")
    root = stored["ifThenSetupTrigger"]["rootConditionBlock"]["andBlock"]
    assert root["blockId"] == "root" and stored["ifThenSetupTrigger"]["oid"] == oid

    await api.set_state(DOOR, "core:ContactState", 3, "open")  # not warm yet
    await asyncio.sleep(1.3)
    assert await api.events("GroupTriggeredEvent") == []
    await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 24.5)  # warm, door open: 1 s more
    await asyncio.sleep(0.5)
    assert await api.events("GroupTriggeredEvent") == []
    [triggered] = await wait_for(lambda: api.events("GroupTriggeredEvent"), timeout=5)
    assert triggered["triggerId"] == oid
    await wait_for(lambda: api.finished(triggered["execId"]), timeout=5)
    assert await api.state(LIGHT, "core:OnOffState") == "on"

    # Door closed, nobody in: the condition ends; someone comes in and stays: it runs again (1 s later).
    await api.set_state(DOOR, "core:ContactState", 3, "closed")
    await asyncio.sleep(0.2)
    await api.set_state(MOTION, "core:OccupancyState", 3, "personInside")
    await asyncio.sleep(0.5)
    assert len(await api.events("GroupTriggeredEvent")) == 1  # the root's 1 s
    await wait_for(lambda: _count(api, "GroupTriggeredEvent", 2), timeout=5)


async def _count(api: Client, name: str, n: int) -> bool:
    return len(await api.events(name)) == n


async def test_discrete_trigger_and_its_test_endpoint(api: Client) -> None:
    await api.set_state(DOOR, "core:ContactState", 3, "closed")
    await api.apply(LIGHT, "off")
    created = await api.ok(
        "POST",
        "/triggers",
        {
            "discreteTrigger": {
                "label": "hall light",
                "deviceURL": api.url(DOOR),
                "stateName": "core:ContactState",
                "effectsList": [
                    {"key": "open", "effects": [effect(api, "hall on", "on", LIGHT)]},
                    {"key": "closed", "effects": [effect(api, "hall off", "off", LIGHT)]},
                ],
                "activationDelays": {"map": {"closed": 1}},
            }
        },
        status=201,
    )
    oid = created["setupTriggerOID"]
    await api.set_state(DOOR, "core:ContactState", 3, "open")
    [opened] = await wait_for(lambda: api.events("GroupTriggeredEvent"), timeout=5)
    [registered] = [e for e in await api.events("ExecutionRegisteredEvent") if e["execId"] == opened["execId"]]
    assert registered["subType"] == 6  # DISCRETE_TRIGGER
    await wait_for(lambda: api.finished(opened["execId"]), timeout=5)
    assert await api.state(LIGHT, "core:OnOffState") == "on"
    await api.set_state(DOOR, "core:ContactState", 3, "closed")
    await asyncio.sleep(0.5)
    assert len(await api.events("GroupTriggeredEvent")) == 1  # "closed" waits 1 s
    await wait_for(lambda: _count(api, "GroupTriggeredEvent", 2), timeout=5)
    status = await api.ok("GET", f"/triggers/discreteTrigger/{oid}/status")
    assert {s["triggerName"]: s["active"] for s in status["subTriggersStatus"]} == {"open": False, "closed": True}

    tested = await api.ok("PUT", f"/triggers/test/discrete/{oid}", {"targetValue": "open"})
    [exec_id] = tested["execIds"]
    done = await wait_for(lambda: api.finished(exec_id), timeout=5)
    assert done["executionSubType"] == "DISCRETE_TRIGGER_USER"
    bad = await api.http.put(f"/triggers/test/discrete/{oid}", json={"targetValue": "ajar"})
    assert bad.status_code == 400 and "ajar" in bad.json()["error"]
    # POST /triggers/test runs the effects of a definition that is not kept.
    tested = await api.ok(
        "POST",
        "/triggers/test",
        {
            "ifThenSetupTrigger": {
                "label": "try",
                "rootConditionBlock": {
                    "staticDeviceStateCondition": {
                        "deviceURL": api.url(DOOR),
                        "stateName": "core:ContactState",
                        "operator": "EQUALS",
                        "value1": "open",
                    }
                },
                "effects": [effect(api, "try it", "off", LIGHT)],
            }
        },
    )
    assert len(tested["execIds"]) == 1
    assert [t for t in await api.ok("GET", "/triggers") if "ifThenSetupTrigger" in t] == []


async def test_modes_global_switch_crud_and_errors(api: Client) -> None:
    await api.set_state(DOOR, "core:ContactState", 3, "closed")
    body = {
        "label": "door open",
        "rootConditionBlock": {
            "staticDeviceStateCondition": {
                "deviceURL": api.url(DOOR),
                "stateName": "core:ContactState",
                "operator": "EQUALS",
                "value1": "open",
            }
        },
        "effects": [effect(api, "mode test", "on", LIGHT)],
    }
    oid = (await api.ok("POST", "/triggers", {"ifThenSetupTrigger": body}, status=201))["setupTriggerOID"]
    path = f"/triggers/ifThenSetupTrigger/{oid}"

    # Off: the door opens, nothing runs; back on while it is open: allowExecuteOnEnabled runs it then.
    await api.ok("PUT", f"{path}/activation/2")
    [changed] = await api.events("SetupTriggerModeChangedEvent")
    assert changed["newMode"] == 2 and changed["setupTriggerOID"] == oid
    await api.set_state(DOOR, "core:ContactState", 3, "open")
    await asyncio.sleep(0.3)
    assert await api.events("GroupTriggeredEvent") == []
    await api.ok("PUT", f"{path}/activation/1")
    [enabled] = await wait_for(lambda: api.events("GroupTriggeredEvent"), timeout=5)
    assert enabled["triggerType"] == 5
    bad = await api.http.put(f"{path}/activation/3")  # no scheduling intervals
    assert bad.status_code == 400
    assert await api.events("SetupTriggerModeChangeFailedEvent")

    # The global switch: off, nothing runs; the status says so.
    await api.set_state(DOOR, "core:ContactState", 3, "closed")
    await api.ok("PUT", "/triggers/status", {"enabled": False})
    assert await api.ok("GET", "/triggers/status") == {"enabled": False}
    [function] = await api.events("GatewayFunctionChangedEvent")
    assert function["enabled"] is False and function["functionType"] == 1
    assert function["gatewayId"] == api.proc.gateway_id
    await api.set_state(DOOR, "core:ContactState", 3, "open")
    await asyncio.sleep(0.3)
    assert len(await api.events("GroupTriggeredEvent")) == 1
    await api.ok("PUT", "/triggers/status", {"enabled": True})
    await wait_for(lambda: _count(api, "GroupTriggeredEvent", 2), timeout=5)  # enabled while it holds

    # Reads, update, delete and their events.
    assert [list(t) for t in await api.ok("GET", "/triggers")] == [["ifThenSetupTrigger"]]
    assert len(await api.ok("GET", "/triggers/ifThenSetupTrigger")) == 1
    assert await api.ok("GET", "/triggers/discreteTrigger") == []
    assert len(await api.ok("GET", "/triggers/ifThenSetupTrigger/status")) == 1
    updated = dict(body, label="door open (renamed)", oid=oid)
    await api.ok("PUT", "/triggers", {"ifThenSetupTrigger": updated})
    assert (await api.ok("GET", path))["ifThenSetupTrigger"]["label"] == "door open (renamed)"
    assert (await api.events("SetupTriggerUpdatedEvent"))[0]["label"] == "door open (renamed)"
    await api.ok("DELETE", path, status=204)
    assert (await api.http.get(path)).status_code == 404
    assert (await api.events("SetupTriggerDeletedEvent"))[0]["setupTriggerOID"] == oid

    # Refusals name what is wrong, and keep nothing.
    wrong_operator = {
        "ifThenSetupTrigger": dict(
            body,
            rootConditionBlock={
                "staticDeviceStateCondition": {
                    "deviceURL": api.url(DOOR),
                    "stateName": "core:ContactState",
                    "operator": "SOMETIMES",
                    "value1": "x",
                }
            },
        )
    }
    response = await api.http.post("/triggers", json=wrong_operator)
    assert response.status_code == 400 and response.json()["errorCode"] == "INVALID_FIELD_VALUE"
    assert "staticDeviceStateCondition.operator" in response.json()["error"]
    no_device = {
        "sensorThreshold": {
            "deviceURL": api.url("999"),
            "stateName": "core:TemperatureState",
            "upperBound": 1,
            "lowerBound": 0,
            "upperEffects": [effect(api, "x", "on", LIGHT)],
        }
    }
    response = await api.http.post("/triggers", json=no_device)
    assert response.status_code == 400 and response.json()["errorCode"] == "NO_SUCH_DEVICE"
    # eventTrigger runs now (it was refused with UNSUPPORTED_OPERATION): an empty one lacks its eventName.
    empty_event = (await api.http.post("/triggers", json={"eventTrigger": {}})).json()
    assert empty_event["errorCode"] == "INVALID_FIELD_VALUE" and "eventTrigger.eventName" in empty_event["error"]
    assert await api.events("SetupTriggerCreationFailedEvent")
    assert await api.ok("GET", "/triggers") == []


async def test_location_and_sun_times(api: Client) -> None:
    await api.ok(
        "PUT",
        "/setup/location",
        {
            "city": "Paris",
            "country": "FR",
            "timezone": "Europe/Paris",
            "latitude": 48.8566,
            "longitude": 2.3522,
            "twilightAngle": "SOLAR",
        },
    )
    location = await api.ok("GET", "/setup/location")
    assert location["city"] == "Paris" and location["twilightAngle"] == "SOLAR" and location["creationTime"]
    parsed = ovk.parse_location(location)  # as pyoverkiz reads it from /setup
    assert parsed.timezone == "Europe/Paris" and parsed.dawn_offset == 0
    assert (await api.ok("GET", "/setup"))["location"]["city"] == "Paris"
    [updated] = await api.events("LocationUpdatedEvent")
    assert updated["latitude"] == 48.8566 and updated["timezone"] == "Europe/Paris"
    dusk = await api.ok("GET", "/setup/duskTime/2024/6/21")
    assert (dusk["hours"], dusk["minutes"]) in ((21, 57), (21, 58)) and dusk["utc"] > 0
    dawn = await api.ok("GET", "/setup/dawnTime/2024/6/21")
    assert (dawn["hours"], dawn["minutes"]) in ((5, 46), (5, 47))
    assert set(await api.ok("GET", "/setup/dawnTime")) == {"hours", "minutes", "utc"}
    response = await api.http.put("/setup/location", json={"latitude": 123})
    assert response.status_code == 400 and "latitude" in response.json()["error"]
    assert (await api.http.get("/setup/duskTime/2024/2/30")).status_code == 400
    # Up north in June, the sun does not set: no dusk ("utc, hours and minutes are not set").
    await api.ok("PUT", "/setup/location", {"latitude": 78.22, "longitude": 15.65, "timezone": "Arctic/Longyearbyen"})
    assert await api.ok("GET", "/setup/duskTime/2024/6/21") == {}


async def test_activation_delay_survives_sigkill(tmp_path: Path) -> None:
    proc = HearthProcess(tmp_path / "data").start()
    token = proc.first_token
    assert token
    label = "closed after the kill"
    try:
        async with httpx.AsyncClient(
            base_url=proc.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            api = Client(proc, http)
            await open_shutters(api)
            await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 21.0)
            await api.ok(
                "POST",
                "/triggers",
                {
                    "sensorThreshold": {
                        "label": "hot",
                        "deviceURL": api.url(TEMPERATURE),
                        "stateName": "core:TemperatureState",
                        "upperBound": 26,
                        "lowerBound": 18,
                        "upperActivationDelay": 5,
                        "upperEffects": [effect(api, label, "close", *SHUTTERS)],
                    }
                },
                status=201,
            )
            crossed_ms = time.time() * 1000
            await api.set_state(TEMPERATURE, "core:TemperatureState", 2, 30.0)
            await asyncio.sleep(1.0)  # the state and the running delay are on disk (batch window 250 ms)
        proc.kill()
        proc.start()
        async with httpx.AsyncClient(
            base_url=proc.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            api = Client(proc, http)

            async def runs() -> list[dict[str, Any]]:
                history = await api.ok("GET", "/history/executions")
                return [e for e in history if e["label"] == label]

            assert await runs() == []
            [run] = await wait_for(runs, timeout=10)
            assert run["state"] == "COMPLETED" and run["executionSubType"] == "IFT_CONDITION"
            assert run["eventTime"] >= crossed_ms + 5000 - 100  # at its due time, not at the restart
            await asyncio.sleep(1.0)
            assert len(await runs()) == 1  # once
            assert [await api.state(a, "core:ClosureState") for a in SHUTTERS] == [100, 100]
    finally:
        proc.kill()
