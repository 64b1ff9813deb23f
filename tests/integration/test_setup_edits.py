"""Places, zones and device edits: each change is kept, announced by its event, and bad input refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.support.process import HearthProcess


async def events_of(api: httpx.AsyncClient, listener: str) -> list[dict[str, Any]]:
    return list((await api.post(f"/events/{listener}/fetch")).json())


async def test_places_crud_with_events(api: httpx.AsyncClient) -> None:
    listener = (await api.post("/events/register")).json()["id"]
    root = (await api.get("/setup/places")).json()
    created = await api.post(f"/setup/places/{root['oid']}/subPlaces", json={"label": "Attic", "type": 3})
    assert created.status_code == 201
    attic = created.json()["placeOID"]
    child = (await api.post(f"/setup/places/{attic}/subPlaces", json={"label": "Storage"})).json()["placeOID"]
    assert (await api.put(f"/setup/places/{attic}", json={"label": "Loft"})).status_code == 200
    garden = next(p for p in root["subPlaces"] if p["label"] == "Garden")["oid"]
    assert (await api.put(f"/setup/places/{child}/parent/{garden}")).status_code == 200
    cycle = await api.put(f"/setup/places/{attic}/parent/{attic}")
    assert cycle.status_code == 400
    tree = (await api.get(f"/setup/places/{garden}")).json()
    assert "Storage" in [p["label"] for p in tree["subPlaces"]]
    assert (await api.delete(f"/setup/places/{attic}")).status_code == 204
    assert (await api.get(f"/setup/places/{attic}")).status_code == 404
    names = [e["name"] for e in await events_of(api, listener) if e["name"].startswith("Place")]
    assert names == [
        "PlaceCreatedEvent",
        "PlaceCreatedEvent",
        "PlaceUpdatedEvent",
        "PlaceUpdatedEvent",
        "PlaceDeletedEvent",
    ]
    await api.delete(f"/setup/places/{child}")


async def test_zones_crud_with_events(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    listener = (await api.post("/events/register")).json()["id"]
    lights = [hearth.device_url("3"), hearth.device_url("10")]
    created = await api.post(
        "/setup/zones", json={"label": "Downstairs lights", "type": 0, "items": [{"deviceURL": u} for u in lights]}
    )
    assert created.status_code == 201
    oid = created.json()["zoneOID"]
    zone = (await api.get(f"/setup/zones/{oid}")).json()
    assert [i["deviceURL"] for i in zone["items"]] == lights
    await api.post(f"/setup/zones/{oid}/items/_delete", json=[{"deviceURL": lights[0]}])
    assert [i["deviceURL"] for i in (await api.get(f"/setup/zones/{oid}/items")).json()] == lights[1:]
    bad = await api.post("/setup/zones", json={"label": "x", "items": [{"deviceURL": "virtual://0000-0000-0000/9"}]})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "NO_SUCH_DEVICE"
    assert (await api.delete(f"/setup/zones/{oid}")).status_code == 204
    events = [e for e in await events_of(api, listener) if e["name"].startswith("Zone")]
    assert [e["name"] for e in events] == ["ZoneCreatedEvent", "ZoneUpdatedEvent", "ZoneDeletedEvent"]
    assert events[0]["deviceURLs"] == lights and events[0]["placeOIDs"]


async def test_device_edits(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    url = hearth.device_url("30")
    path = f"/setup/devices/{quote(url, safe='')}"
    listener = (await api.post("/events/register")).json()["id"]
    kitchen = next(
        p["oid"]
        for floor in (await api.get("/setup/places")).json()["subPlaces"]
        for p in floor["subPlaces"]
        if p["label"] == "Kitchen"
    )
    assert (await api.put(f"{path}/Sun%20sensor")).status_code == 200
    assert (await api.put(f"{path}/relocate/{kitchen}")).status_code == 200
    assert (await api.put(f"{path}/metadata", json={"metadata": '{"note": "south"}'})).status_code == 200
    device = (await api.get(path)).json()
    assert (device["label"], device["placeOID"], device["metadata"]) == ("Sun sensor", kitchen, '{"note": "south"}')
    updates = [e for e in await events_of(api, listener) if e["name"] == "DeviceUpdatedEvent"]
    assert len(updates) == 3 and updates[-1]["label"] == "Sun sensor"
    assert (await api.put(f"{path}/relocate/no-such-place")).status_code == 404


async def test_state_values_are_checked(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    path = f"/setup/devices/{quote(hearth.device_url('5'), safe='')}/states/core:TemperatureState"
    assert (await api.put(f"{path}/2/21.5")).status_code == 200
    assert (await api.get(path)).json()["value"] == 21.5
    for bad, reason in (("2/hot", "not a number"), ("2/400", "above the maximum"), ("1/21", "has type 2")):
        response = await api.put(f"{path}/{bad}")
        assert response.status_code == 400 and reason in response.json()["error"], response.text
    assert (await api.get(path)).json()["value"] == 21.5, "a refused value changes nothing"


async def test_unknown_device_and_state(hearth: HearthProcess, api: httpx.AsyncClient) -> None:
    missing = await api.get(f"/setup/devices/{quote('virtual://0000-0000-0000/77', safe='')}")
    assert missing.status_code == 400 and missing.json()["errorCode"] == "NO_SUCH_DEVICE"
    state = await api.get(f"/setup/devices/{quote(hearth.device_url('3'), safe='')}/states/core:Nope")
    assert state.status_code == 404
