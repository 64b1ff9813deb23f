"""Deleting devices: the _deleteCascade job takes the device out of the action groups and removes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import wait_for
from tests.support.process import HearthProcess


@pytest.fixture
async def own_api(fresh_hearth: HearthProcess) -> AsyncIterator[httpx.AsyncClient]:
    await asyncio.to_thread(fresh_hearth.start)
    async with httpx.AsyncClient(
        base_url=fresh_hearth.base_url,
        verify=False,
        timeout=10,
        headers={"Authorization": f"Bearer {fresh_hearth.first_token}"},
    ) as client:
        yield client


def group(label: str, *urls: str) -> dict[str, Any]:
    return {"label": label, "actions": [{"deviceURL": u, "commands": [{"name": "off"}]} for u in urls]}


async def test_delete_cascade_edits_action_groups_and_removes_the_device(
    fresh_hearth: HearthProcess, own_api: httpx.AsyncClient
) -> None:
    api = own_api
    lamp, plug = fresh_hearth.device_url("3"), fresh_hearth.device_url("9")
    listener = (await api.post("/events/register")).json()["id"]
    both = (await api.post("/actionGroups", json=group("Both", lamp, plug))).json()["actionGroupOID"]
    alone = (await api.post("/actionGroups", json=group("Lamp only", lamp))).json()["actionGroupOID"]

    response = await api.post(f"/setup/devices/{quote(lamp, safe='')}/_deleteCascade", json={})
    assert response.status_code == 200, response.text
    job = response.json()["jobId"]

    async def done() -> list[dict[str, Any]] | None:
        seen.extend((await api.post(f"/events/{listener}/fetch")).json())
        return seen if any(e["name"] == "SetupJobCompletedEvent" and e["jobId"] == job for e in seen) else None

    seen: list[dict[str, Any]] = []
    await wait_for(done, timeout=10, interval=0.1)
    names = [e["name"] for e in seen]
    assert "DeviceRemovedEvent" in names and "ActionGroupUpdatedEvent" in names and "ActionGroupDeletedEvent" in names
    assert (await api.get(f"/setup/devices/{quote(lamp, safe='')}")).status_code == 400
    kept = (await api.get(f"/actionGroups/{both}")).json()
    assert [a["deviceURL"] for a in kept["actions"]] == [plug]
    assert (await api.get(f"/actionGroups/{alone}")).status_code == 404

    # Still known after a restart: the deletion was durable.
    await asyncio.to_thread(fresh_hearth.stop)
    await asyncio.to_thread(fresh_hearth.start)
    async with httpx.AsyncClient(
        base_url=fresh_hearth.base_url,
        verify=False,
        timeout=10,
        headers={"Authorization": f"Bearer {fresh_hearth.token()}"},
    ) as again:
        urls = [d["deviceURL"] for d in (await again.get("/setup/devices")).json()]
        assert lamp not in urls and plug in urls
        # The deprecated DELETE answers 204 when it is done; an unknown device is refused.
        assert (await again.delete(f"/setup/devices/{quote(plug, safe='')}")).status_code == 204
        missing = await again.post(f"/setup/devices/{quote(lamp, safe='')}/_deleteCascade")
        assert missing.status_code == 400 and missing.json()["errorCode"] == "NO_SUCH_DEVICE"
