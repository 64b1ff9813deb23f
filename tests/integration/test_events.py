"""Event listeners (register, fetch, unregister) and the WebSocket push."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any
from urllib.parse import quote

import httpx
import websockets

from tests.conftest import wait_for
from tests.support.process import HearthProcess


def insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def test_fetch_drains_and_bad_ids_are_refused(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    listener = (await api.post("/events/register")).json()["id"]
    light = hearth.device_url("10")
    await api.put(f"/setup/devices/{quote(light, safe='')}/states/core:OnOffState/3/on")
    await api.put(f"/setup/devices/{quote(light, safe='')}/states/core:OnOffState/3/off")

    async def changes() -> list[dict[str, Any]]:
        events = (await api.post(f"/events/{listener}/fetch")).json()
        return [e for e in events if e["name"] == "DeviceStateChangedEvent" and e["deviceURL"] == light]

    seen = await wait_for(changes)
    assert seen[-1]["deviceStates"] == [{"name": "core:OnOffState", "type": 3, "value": "off"}]
    assert "setupOID" in seen[-1] and isinstance(seen[-1]["timestamp"], int)
    assert (await api.post(f"/events/{listener}/fetch")).json() == []  # drained
    assert (await api.post(f"/events/{listener}/unregister")).status_code == 200
    gone = await api.post(f"/events/{listener}/fetch")
    assert gone.status_code == 400
    assert gone.json() == {"errorCode": "UNSPECIFIED_ERROR", "error": f"Invalid event listener id : {listener}"}


async def test_listener_of_another_token_is_not_yours(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    listener = (await api.post("/events/register")).json()["id"]
    other = hearth.token("view", "other")
    async with httpx.AsyncClient(
        base_url=hearth.base_url, verify=False, headers={"Authorization": f"Bearer {other}"}
    ) as stranger:
        assert (await stranger.post(f"/events/{listener}/fetch")).status_code == 400


async def test_websocket_pushes_events(hearth: HearthProcess, admin_token: str, api: httpx.AsyncClient) -> None:
    url = f"wss://127.0.0.1:{hearth.port}/enduser-mobile-web/1/enduserAPI/events/ws"
    light = hearth.device_url("16")
    async with websockets.connect(
        url, ssl=insecure(), additional_headers={"Authorization": f"Bearer {admin_token}"}
    ) as ws:
        exec_id = (
            await api.post(
                "/exec/apply",
                json={
                    "label": "ws",
                    "actions": [{"deviceURL": light, "commands": [{"name": "setIntensity", "parameters": [33]}]}],
                },
            )
        ).json()["execId"]
        names: list[str] = []
        async with asyncio.timeout(5):
            while "COMPLETED" not in names:
                for event in json.loads(await ws.recv()):
                    if event.get("execId") == exec_id:
                        names.append(
                            event["name"] if event["name"] != "ExecutionStateChangedEvent" else event["newState"]
                        )
        assert names[0] == "ExecutionRegisteredEvent"


async def test_websocket_first_message_auth_and_refusal(hearth: HearthProcess, admin_token: str) -> None:
    url = f"wss://127.0.0.1:{hearth.port}/enduser-mobile-web/1/enduserAPI/events/ws"
    async with websockets.connect(url, ssl=insecure()) as ws:
        await ws.send(json.dumps({"token": "wrong"}))
        refusal = json.loads(await ws.recv())
        assert refusal["errorCode"] == "RESOURCE_ACCESS_DENIED"
        await ws.wait_closed()
        assert ws.close_code == 4401
    async with websockets.connect(url, ssl=insecure()) as ws:
        await ws.send(json.dumps({"token": admin_token}))
        await ws.ping()
