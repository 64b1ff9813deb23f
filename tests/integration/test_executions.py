"""Executions over the API: bursts are queued, never refused; cancel; masking; internal runs."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from tests.conftest import wait_for
from tests.support.process import HearthProcess


async def drain(api: httpx.AsyncClient, listener: str) -> list[dict[str, Any]]:
    response = await api.post(f"/events/{listener}/fetch")
    assert response.status_code == 200
    return list(response.json())


async def test_a_burst_of_200_executions_is_queued_and_completed(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    listener = (await api.post("/events/register")).json()["id"]
    devices = [hearth.device_url(a) for a in ("3", "10", "9", "19")]
    commands = [{"name": "on"}, {"name": "off"}]
    lock = hearth.device_url("14")  # a lock takes 0.2 s to turn: executions on it must wait their turn

    async def one(i: int) -> httpx.Response:
        if i % 10 == 0:
            action = {"deviceURL": lock, "commands": [{"name": "lock" if i % 20 else "unlock"}]}
        else:
            action = {"deviceURL": devices[i % len(devices)], "commands": [commands[i % 2]]}
        return await api.post("/exec/apply", json={"label": f"burst {i}", "actions": [action]})

    responses = await asyncio.gather(*(one(i) for i in range(200)))
    assert [r.status_code for r in responses] == [200] * 200
    ids = {r.json()["execId"] for r in responses}
    assert len(ids) == 200

    events: list[dict[str, Any]] = []
    finished: set[str] = set()

    async def all_done() -> bool:
        batch = await drain(api, listener)
        events.extend(batch)
        finished.update(
            e["execId"]
            for e in batch
            if e["name"] == "ExecutionStateChangedEvent" and e["newState"] in ("COMPLETED", "FAILED")
        )
        return ids <= finished

    await wait_for(all_done, timeout=30, interval=0.2)
    final = {
        e["execId"]: e["newState"]
        for e in events
        if e["name"] == "ExecutionStateChangedEvent" and e["execId"] in ids and e["newState"] in ("COMPLETED", "FAILED")
    }
    assert set(final.values()) == {"COMPLETED"}
    queued = {
        e["execId"]
        for e in events
        if e["name"] == "ExecutionStateChangedEvent" and e["newState"] == "QUEUED_GATEWAY_SIDE"
    }
    assert len(queued) >= 10, "20 executions on one slow lock must have waited their turn"
    registered = {e["execId"] for e in events if e["name"] == "ExecutionRegisteredEvent"}
    assert ids <= registered


async def test_cancel_stops_a_moving_shutter(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    shutter = hearth.device_url("24")
    exec_id = (
        await api.post(
            "/exec/apply",
            json={
                "label": "down",
                "actions": [{"deviceURL": shutter, "commands": [{"name": "setClosure", "parameters": [0]}]}],
            },
        )
    ).json()["execId"]
    await asyncio.sleep(0.3)
    assert (await api.delete(f"/exec/current/setup/{exec_id}")).status_code == 204

    async def record() -> dict[str, Any] | None:
        response = await api.get(f"/history/executions/{exec_id}")
        return (
            response.json()["execution"]
            if response.status_code == 200 and response.json()["execution"]["state"] == "FAILED"
            else None
        )

    execution = await wait_for(record, timeout=5)
    assert execution["failureType"] == "CANCELLED"
    assert execution["commands"][0]["failureType"] == "CMDCANCELLED"
    from urllib.parse import quote

    closure = (await api.get(f"/setup/devices/{quote(shutter, safe='')}/states/core:ClosureState")).json()["value"]
    assert 0 < closure < 100, "the shutter stopped where it was"
    assert (await api.delete(f"/exec/current/setup/{exec_id}")).status_code == 404


async def test_sensitive_parameters_never_shown(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    secret = "zq9x7w"
    listener = (await api.post("/events/register")).json()["id"]
    exec_id = (
        await api.post(
            "/exec/apply",
            json={
                "label": "code",
                "actions": [
                    {"deviceURL": hearth.device_url("14"), "commands": [{"name": "setCode", "parameters": [3, secret]}]}
                ],
            },
        )
    ).json()["execId"]

    async def done() -> dict[str, Any] | None:
        response = await api.get(f"/history/executions/{exec_id}")
        return (
            response.json()
            if response.status_code == 200 and response.json()["execution"]["state"] == "COMPLETED"
            else None
        )

    record = await wait_for(done, timeout=5)
    assert secret not in str(record)
    assert record["execution"]["commands"][0]["parameters"] == [3, "********"]
    assert secret not in str(await drain(api, listener))
    assert secret not in "".join(hearth.output)
    assert secret not in (await api.get("/history")).text


async def test_internal_executions_stay_out_of_history(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    exec_id = (
        await api.post(
            "/exec/apply/internal",
            json={
                "label": "refresh",
                "actions": [{"deviceURL": hearth.device_url("3"), "commands": [{"name": "refreshState"}]}],
            },
        )
    ).json()["execId"]
    await asyncio.sleep(0.5)
    assert (await api.get(f"/history/executions/{exec_id}")).status_code == 404
    assert exec_id not in (await api.get("/history/executions")).text


async def test_refusals_name_the_fault(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    light = hearth.device_url("3")
    cases = [
        (
            {"actions": [{"deviceURL": "virtual://0000-0000-0000/404", "commands": [{"name": "on"}]}]},
            "NO_SUCH_DEVICE",
            "virtual://0000-0000-0000/404",
        ),
        ({"actions": [{"deviceURL": light, "commands": [{"name": "fly"}]}]}, "UNSUPPORTED_OPERATION", "fly"),
        (
            {"actions": [{"deviceURL": light, "commands": [{"name": "setIntensity"}]}]},
            "UNSUPPORTED_OPERATION",
            "setIntensity",
        ),
        (
            {"actions": [{"deviceURL": light, "commands": [{"name": "setIntensity", "parameters": ["bright"]}]}]},
            "UNSUPPORTED_OPERATION",
            "intensity",
        ),
        ({"actions": [{"deviceURL": "not a url", "commands": [{"name": "on"}]}]}, "UNSPECIFIED_ERROR", "deviceURL"),
    ]
    before = len((await api.get("/history/executions")).json())
    for body, code, mention in cases:
        response = await api.post("/exec/apply", json=body)
        assert response.status_code == 400, body
        assert response.json()["errorCode"] == code
        assert mention in response.json()["error"]
    malformed = await api.post("/exec/apply", content=b"{nope", headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["errorCode"] == "INVALID_FIELD_VALUE"
    assert len((await api.get("/history/executions")).json()) == before, "a refusal changes nothing"


async def test_set_name_is_the_gateways_own_state(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    url = hearth.device_url("3")
    response = await api.post(
        "/exec/apply",
        json={
            "label": "rename",
            "actions": [{"deviceURL": url, "commands": [{"name": "setName", "parameters": ["Ceiling"]}]}],
        },
    )
    assert response.status_code == 200, response.text
    path = f"/setup/devices/{quote(url, safe='')}/states/core:NameState"
    assert await wait_for(lambda: _value(api, path, "Ceiling"), timeout=10)


async def _value(api: httpx.AsyncClient, path: str, expected: str) -> bool:
    response = await api.get(path)
    return response.status_code == 200 and response.json().get("value") == expected
