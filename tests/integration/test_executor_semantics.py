"""lockLevel, highPriority and per-device order, as the README's "Executions" section states them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import wait_for
from tests.support.process import HearthProcess


async def run(api: httpx.AsyncClient, path: str, device: str, command: dict[str, Any]) -> str:
    response = await api.post(
        path, json={"label": command["name"], "actions": [{"deviceURL": device, "commands": [command]}]}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["execId"])


async def finished(api: httpx.AsyncClient, exec_id: str, timeout: float = 10) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        response = await api.get(f"/history/executions/{exec_id}")
        if response.status_code != 200:
            return None
        execution = response.json()["execution"]
        return execution if execution["state"] in ("COMPLETED", "FAILED") else None

    return dict(await wait_for(check, timeout=timeout))


async def test_lock_levels_and_high_priority(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    plug = hearth.device_url("28")  # used by no other test: it stays locked for lock_hold_s
    locked = await finished(api, await run(api, "/exec/apply", plug, {"name": "on", "lockLevel": 5}))
    assert locked["state"] == "COMPLETED"

    refused = await finished(api, await run(api, "/exec/apply", plug, {"name": "off"}))
    assert refused["state"] == "FAILED"
    assert refused["commands"][0]["failureType"] == "PRIORITY_LOCK__USER"

    higher = await finished(api, await run(api, "/exec/apply", plug, {"name": "off", "lockLevel": 7}))
    assert higher["state"] == "COMPLETED"

    lower = await finished(api, await run(api, "/exec/apply", plug, {"name": "on", "lockLevel": 5}))
    assert lower["commands"][0]["failureType"] == "PRIORITY_LOCK__USER"

    forced = await finished(api, await run(api, "/exec/apply/highPriority", plug, {"name": "on"}))
    assert forced["state"] == "COMPLETED"


async def test_high_priority_goes_ahead_of_waiting_commands(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    shutter = hearth.device_url("20")  # a blind: 1 s of travel in tests
    first = await run(api, "/exec/apply", shutter, {"name": "setClosure", "parameters": [0]})
    await asyncio.sleep(0.1)
    normal = await run(api, "/exec/apply", shutter, {"name": "setClosure", "parameters": [100]})
    await asyncio.sleep(0.05)
    urgent = await run(api, "/exec/apply/highPriority", shutter, {"name": "setClosure", "parameters": [50]})
    current = {e["id"]: e["state"] for e in (await api.get("/exec/current")).json()}
    assert current.get(normal) == "QUEUED_GATEWAY_SIDE" and current.get(urgent) == "QUEUED_GATEWAY_SIDE"
    results = [await finished(api, exec_id) for exec_id in (first, normal, urgent)]
    assert all(r["state"] == "COMPLETED" for r in results)
    started = {r["id"]: r["effectiveStartTime"] for r in results}
    assert started[first] < started[urgent] < started[normal]


async def test_commands_of_one_device_keep_their_order(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    light = hearth.device_url("21")
    listener = (await api.post("/events/register")).json()["id"]
    ids = [
        await run(api, "/exec/apply", light, {"name": "setIntensity", "parameters": [level]})
        for level in (10, 20, 30, 40, 50)
    ]
    for exec_id in ids:
        await finished(api, exec_id)
    events = (await api.post(f"/events/{listener}/fetch")).json()
    levels = [
        s["value"]
        for e in events
        if e["name"] == "DeviceStateChangedEvent" and e["deviceURL"] == light
        for s in e["deviceStates"]
        if s["name"] == "core:LightIntensityState"
    ]
    assert levels == [10, 20, 30, 40, 50]


async def test_one_failed_command_skips_the_rest_of_its_device_only(
    hearth: HearthProcess, api: httpx.AsyncClient
) -> None:
    from urllib.parse import quote

    lamp, plug = hearth.device_url("4"), hearth.device_url("9")
    await api.put(f"/setup/devices/{quote(lamp, safe='')}/states/core:StatusState/3/unavailable")
    try:
        exec_id = (
            await api.post(
                "/exec/apply",
                json={
                    "label": "mixed",
                    "actions": [
                        {"deviceURL": lamp, "commands": [{"name": "on"}, {"name": "off"}]},
                        {"deviceURL": plug, "commands": [{"name": "on"}]},
                    ],
                },
            )
        ).json()["execId"]
        result = await finished(api, exec_id)
        by_rank = {c["rank"]: c for c in result["commands"]}
        assert result["state"] == "FAILED" and result["failureType"] == "DEVICE_NO_ANSWER"
        assert by_rank[0]["failureType"] == "DEVICE_NO_ANSWER"
        assert by_rank[1]["state"] == "FAILED" and by_rank[1]["failureType"] == "DEVICE_NO_ANSWER"
        assert by_rank[2]["state"] == "COMPLETED"
    finally:
        await api.put(f"/setup/devices/{quote(lamp, safe='')}/states/core:StatusState/3/available")
