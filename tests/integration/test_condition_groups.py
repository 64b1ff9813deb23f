"""Condition groups through the API on the demo house: CRUD and events, evaluation as the virtual world
changes (states set with PUT /setup/devices/{url}/states/...), and the conditional run of an action group.

Devices used (demo house): 5 zigbee temperature, 23 BLE temperature, 6 humidity, 15 door contact,
30 luminance, 10 kitchen light. Every test puts back what it changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.process import HearthProcess

ZIGBEE_T = "zigbee:TemperatureSensorComponent"
BLE_T = "ble:TemperatureSensorBLEComponent"
TEMPERATURE = "core:TemperatureState"


def controllable(names: list[str], state: str, operator: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "controllable": {"controllableNames": names, "stateName": state, "operator": operator, "value": value, **extra}
    }


def device(url: str, state: str, operator: str, value: Any) -> dict[str, Any]:
    return {"device": {"deviceURL": url, "stateName": state, "operator": operator, "value": value}}


async def set_state(api: httpx.AsyncClient, url: str, name: str, dtype: int, value: Any) -> None:
    response = await api.put(f"/setup/devices/{quote(url, safe='')}/states/{name}/{dtype}/{value}")
    assert response.status_code == 200, response.text


async def create(api: httpx.AsyncClient, conditions: list[dict[str, Any]], label: str = "test") -> str:
    response = await api.post("/conditionGroups", json={"label": label, "conditions": conditions})
    assert response.status_code == 201, response.text
    return str(response.json()["conditionGroupOID"])


async def evaluate(api: httpx.AsyncClient, oid: str) -> dict[str, Any]:
    response = await api.get(f"/conditionGroups/{oid}/evaluate")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == {
        "evaluationStatus",
        "evaluationTime",
        "failedDevices",
        "invalidatingDevices",
        "ignoredControllables",
    }
    return result


@asynccontextmanager
async def group(api: httpx.AsyncClient, conditions: list[dict[str, Any]]) -> AsyncIterator[str]:
    oid = await create(api, conditions)
    try:
        yield oid
    finally:
        await api.delete(f"/conditionGroups/{oid}")


async def test_crud_shapes_and_events(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    listener = (await api.post("/events/register")).json()["id"]
    conditions = [
        controllable([ZIGBEE_T], TEMPERATURE, "GREATERTHAN", "25"),
        device(hearth.device_url("15"), "core:ContactState", "EQUALS", "closed"),
    ]
    created = await api.post(
        "/conditionGroups", json={"label": "warm, door shut", "metadata": '{"k": 1}', "conditions": conditions}
    )
    assert created.status_code == 201 and set(created.json()) == {"conditionGroupOID"}
    oid = created.json()["conditionGroupOID"]
    shown = (await api.get(f"/conditionGroups/{oid}")).json()
    assert shown["conditions"] == conditions, "GET gives back what was sent, operator spelling included"
    assert (shown["label"], shown["metadata"], shown["oid"]) == ("warm, door shut", '{"k": 1}', oid)
    assert shown["creationTime"] == shown["lastUpdateTime"] > 0
    assert oid in [g["oid"] for g in (await api.get("/conditionGroups")).json()]

    changed = [controllable([ZIGBEE_T, BLE_T], TEMPERATURE, "LOWER_THAN_OR_EQUAL", 30)]
    updated = await api.put("/conditionGroups", json={"oid": oid, "label": "not too hot", "conditions": changed})
    assert updated.status_code == 200, updated.text
    shown = (await api.get(f"/conditionGroups/{oid}")).json()
    assert (shown["label"], shown["conditions"]) == ("not too hot", changed) and "metadata" not in shown
    assert shown["lastUpdateTime"] >= shown["creationTime"]

    assert (await api.delete(f"/conditionGroups/{oid}")).status_code == 204
    assert (await api.get(f"/conditionGroups/{oid}")).status_code == 404
    assert (await api.get(f"/conditionGroups/{oid}/evaluate")).status_code == 404
    assert (await api.delete(f"/conditionGroups/{oid}")).status_code == 404

    events = [e for e in (await api.post(f"/events/{listener}/fetch")).json() if e["name"].startswith("ConditionGroup")]
    assert [e["name"] for e in events] == [
        "ConditionGroupCreatedEvent",
        "ConditionGroupUpdatedEvent",
        "ConditionGroupDeletedEvent",
    ]
    assert events[0]["conditionGroupOID"] == oid and events[0]["conditions"] == conditions
    assert events[0]["label"] == "warm, door shut" and events[0]["metadata"] == '{"k": 1}'
    assert events[1]["conditions"] == changed and events[2] == {**events[2], "conditionGroupOID": oid}


async def test_evaluation_follows_the_states(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    t1, t2 = hearth.device_url("5"), hearth.device_url("23")
    await set_state(api, t1, TEMPERATURE, 2, 22)
    await set_state(api, t2, TEMPERATURE, 2, 19)
    async with group(api, [controllable([ZIGBEE_T, BLE_T], TEMPERATURE, "GREATER_THAN", "20")]) as oid:
        result = await evaluate(api, oid)
        assert result["evaluationStatus"] == "FAILED"
        assert result["invalidatingDevices"] == [t2] and result["failedDevices"] == []
        assert result["ignoredControllables"] == []
        await set_state(api, t2, TEMPERATURE, 2, 20.5)
        result = await evaluate(api, oid)
        assert result["evaluationStatus"] == "SUCCESS" and result["invalidatingDevices"] == []
        await set_state(api, t1, TEMPERATURE, 2, 20)  # GREATER_THAN is strict
        assert (await evaluate(api, oid))["invalidatingDevices"] == [t1]


async def test_both_operator_spellings_agree(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    sensor = hearth.device_url("30")
    await set_state(api, sensor, "core:LuminanceState", 1, 500)
    pairs = [
        ("GREATER_THAN_OR_EQUAL", "GREATERTHANOREQUAL", 500, "SUCCESS"),
        ("LOWER_THAN", "LOWERTHAN", 500, "FAILED"),
        ("NOT_EQUALS", "NOTEQUALS", 499, "SUCCESS"),
        ("LOWER_THAN_OR_EQUAL", "LOWERTHANOREQUAL", 500, "SUCCESS"),
        ("EQUALS", "EQUALS", "500", "SUCCESS"),
    ]
    for underscored, joined, value, expected in pairs:
        statuses = []
        for spelling in (underscored, joined):
            async with group(api, [device(sensor, "core:LuminanceState", spelling, value)]) as oid:
                statuses.append((await evaluate(api, oid))["evaluationStatus"])
        assert statuses == [expected, expected], (underscored, statuses)


async def test_between_inclusive(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    humidity = hearth.device_url("6")
    state = "core:RelativeHumidityState"
    await set_state(api, humidity, state, 2, 40)
    forms = [
        controllable(["zigbee:RelativeHumidityComponent"], state, "BETWEEN_INCLUSIVE", ["40", "60"]),
        controllable(["zigbee:RelativeHumidityComponent"], state, "BETWEEN_INCLUSIVE", 60, value2=40),
    ]
    for form in forms:
        async with group(api, [form]) as oid:
            assert (await evaluate(api, oid))["evaluationStatus"] == "SUCCESS", "bounds are inclusive"
            await set_state(api, humidity, state, 2, 60.5)
            result = await evaluate(api, oid)
            assert result["evaluationStatus"] == "FAILED" and result["invalidatingDevices"] == [humidity]
            await set_state(api, humidity, state, 2, 40)


async def test_unavailable_device_fails_and_missing_controllables_are_ignored(
    hearth: HearthProcess, api: httpx.AsyncClient
) -> None:
    t1 = hearth.device_url("5")
    await set_state(api, t1, TEMPERATURE, 2, 22)
    names = [ZIGBEE_T, "io:NoSuchSensorComponent"]
    async with group(api, [controllable(names, TEMPERATURE, "GREATER_THAN", 10)]) as oid:
        result = await evaluate(api, oid)
        assert result["evaluationStatus"] == "SUCCESS", "an ignored controllable neither helps nor hinders"
        assert result["ignoredControllables"] == ["io:NoSuchSensorComponent"]
        await set_state(api, t1, "core:StatusState", 3, "unavailable")
        try:
            result = await evaluate(api, oid)
            assert result["evaluationStatus"] == "FAILED"
            assert result["failedDevices"] == [t1] and result["invalidatingDevices"] == []
            # ... but a condition on the status itself is evaluated, not failed.
            async with group(api, [device(t1, "core:StatusState", "EQUALS", "unavailable")]) as down:
                assert (await evaluate(api, down))["evaluationStatus"] == "SUCCESS"
        finally:
            await set_state(api, t1, "core:StatusState", 3, "available")
        assert (await evaluate(api, oid))["evaluationStatus"] == "SUCCESS"
    async with group(api, [controllable(["io:NoSuchSensorComponent"], TEMPERATURE, "EQUALS", 1)]) as oid:
        result = await evaluate(api, oid)
        assert result["evaluationStatus"] == "FAILED", "a condition with no device at all does not hold"
        assert result["ignoredControllables"] == ["io:NoSuchSensorComponent"] and not result["failedDevices"]
    async with group(api, [controllable([ZIGBEE_T], "core:NoSuchState", "EQUALS", 1)]) as oid:
        result = await evaluate(api, oid)
        assert result["evaluationStatus"] == "FAILED" and result["failedDevices"] == [t1], "state missing"


async def test_conditional_exec(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    door, light = hearth.device_url("15"), hearth.device_url("10")
    action_group = {"label": "kitchen light", "actions": [{"deviceURL": light, "commands": [{"name": "on"}]}]}
    ag = (await api.post("/actionGroups", json=action_group)).json()["actionGroupOID"]
    await set_state(api, door, "core:ContactState", 3, "open")
    try:
        async with group(api, [device(door, "core:ContactState", "EQUALS", "closed")]) as oid:
            refused = await api.post(f"/exec/{ag}", params={"conditionGroupOID": oid})
            assert refused.status_code == 400, refused.text
            assert refused.json()["errorCode"] == "UNSUPPORTED_OPERATION"
            assert "does not hold" in refused.json()["error"] and door in refused.json()["error"]
            await set_state(api, door, "core:ContactState", 3, "closed")
            allowed = await api.post(f"/exec/{ag}", params={"conditionGroupOID": oid})
            assert allowed.status_code == 200 and allowed.json()["execId"], allowed.text
            missing = await api.post(f"/exec/{ag}", params={"conditionGroupOID": "no-such-group"})
            assert missing.status_code == 404 and "condition group" in missing.json()["error"]
            no_ag = await api.post("/exec/no-such-action-group", params={"conditionGroupOID": oid})
            assert no_ag.status_code == 404 and "action group" in no_ag.json()["error"]
    finally:
        await set_state(api, door, "core:ContactState", 3, "closed")
        await api.delete(f"/actionGroups/{ag}")


BAD = [
    ({"label": "x"}, "conditions"),
    ({"conditions": []}, "conditions"),
    ({"conditions": [{"other": {}}]}, "conditions[0]"),
    ({"conditions": [controllable([ZIGBEE_T], TEMPERATURE, "BIGGER", 1)]}, "conditions[0].controllable.operator"),
    (
        {"conditions": [{"controllable": {"controllableNames": [ZIGBEE_T], "operator": "EQUALS", "value": 1}}]},
        "conditions[0].controllable.stateName",
    ),
    ({"conditions": [controllable([], TEMPERATURE, "EQUALS", 1)]}, "conditions[0].controllable.controllableNames"),
    (
        {
            "conditions": [
                {"controllable": {"controllableNames": [ZIGBEE_T], "stateName": TEMPERATURE, "operator": "EQUALS"}}
            ]
        },
        "conditions[0].controllable.value",
    ),
    (
        {"conditions": [controllable([ZIGBEE_T], TEMPERATURE, "BETWEEN_INCLUSIVE", 1)]},
        "conditions[0].controllable.value2",
    ),
    (
        {"conditions": [controllable([ZIGBEE_T], TEMPERATURE, "GREATER_THAN", "warm")]},
        "conditions[0].controllable.value: 'warm' is not a number",
    ),
    (
        {"conditions": [controllable(["zigbee:DoorSensorComponent"], "core:ContactState", "EQUALS", "shut")]},
        "conditions[0].controllable.value: 'shut' is never a value",
    ),
    (
        {"conditions": [controllable([ZIGBEE_T], TEMPERATURE, "EQUALS", 1, value2=2)]},
        "conditions[0].controllable.value2",
    ),
    ({"label": 5, "conditions": [controllable([ZIGBEE_T], TEMPERATURE, "EQUALS", 1)]}, "label"),
]


@pytest.mark.parametrize(("body", "named"), BAD, ids=[b[1] for b in BAD])
async def test_bad_input_is_named_and_changes_nothing(api: httpx.AsyncClient, body: dict[str, Any], named: str) -> None:
    before = len((await api.get("/conditionGroups")).json())
    response = await api.post("/conditionGroups", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "INVALID_FIELD_VALUE"
    assert response.json()["error"].startswith(named), response.json()["error"]
    assert len((await api.get("/conditionGroups")).json()) == before


async def test_bad_references(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    gone = await api.post(
        "/conditionGroups",
        json={"conditions": [device(f"virtual://{hearth.gateway_id}/999", TEMPERATURE, "EQUALS", 1)]},
    )
    assert gone.status_code == 400 and gone.json()["errorCode"] == "NO_SUCH_DEVICE"
    assert gone.json()["error"].startswith("conditions[0].device.deviceURL")
    malformed = await api.post("/conditionGroups", json={"conditions": [device("nope", TEMPERATURE, "EQUALS", 1)]})
    assert malformed.status_code == 400 and "conditions[0].device.deviceURL" in malformed.json()["error"]
    body = {"conditions": [controllable([ZIGBEE_T], TEMPERATURE, "EQUALS", 1)]}
    no_oid = await api.put("/conditionGroups", json=body)
    assert no_oid.status_code == 400 and no_oid.json()["error"].startswith("oid")
    unknown = await api.put("/conditionGroups", json={**body, "oid": "no-such-group"})
    assert unknown.status_code == 404 and unknown.json()["errorCode"] == "UNKNOWN_OBJECT"
    not_json = await api.post("/conditionGroups", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400


async def test_view_token_reads_but_cannot_write(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    view = hearth.token("view", "conditions view")
    async with (
        group(api, [controllable([ZIGBEE_T], TEMPERATURE, "GREATER_THAN", -50)]) as oid,
        httpx.AsyncClient(
            base_url=hearth.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {view}"}
        ) as viewer,
    ):
        assert (await viewer.get(f"/conditionGroups/{oid}/evaluate")).status_code == 200
        assert (await viewer.get("/conditionGroups")).status_code == 200
        assert (await viewer.delete(f"/conditionGroups/{oid}")).status_code == 403
        body = {"conditions": [controllable([ZIGBEE_T], TEMPERATURE, "EQUALS", 1)]}
        assert (await viewer.post("/conditionGroups", json=body)).status_code == 403


async def test_groups_survive_a_restart(fresh_hearth: HearthProcess) -> None:
    proc = fresh_hearth.start()
    headers = {"Authorization": f"Bearer {proc.first_token}"}
    conditions = [
        controllable([ZIGBEE_T], TEMPERATURE, "BETWEEN_INCLUSIVE", [-40, 80]),
        device(proc.device_url("15"), "core:ContactState", "NOTEQUALS", "open"),
    ]
    async with httpx.AsyncClient(base_url=proc.base_url, verify=False, timeout=10, headers=headers) as api:
        oid = await create(api, conditions, "kept")
        assert (await evaluate(api, oid))["evaluationStatus"] == "SUCCESS"
    proc.kill()
    proc.start()
    async with httpx.AsyncClient(base_url=proc.base_url, verify=False, timeout=10, headers=headers) as api:
        shown = (await api.get(f"/conditionGroups/{oid}")).json()
        assert (shown["label"], shown["conditions"]) == ("kept", conditions)
        assert (await evaluate(api, oid))["evaluationStatus"] == "SUCCESS"
        await set_state(api, proc.device_url("15"), "core:ContactState", 3, "open")
        assert (await evaluate(api, oid))["invalidatingDevices"] == [proc.device_url("15")]
