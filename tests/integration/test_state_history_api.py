"""Device State History against a real gateway process: states changed through the API, read back through
every history route, in the shapes seed 003 documents (section "Device State History").

The expected shapes are the seed's example bodies (``historyValues[{value, min, max, samples, when}]``,
``historizationMethod``, ``deviceUnit``; the stacked ``stackedHistoryValues[{values, minValues, maxValues,
samples, when}]``, ``stackLevels``, ``deviceCounts``), with the JSON types of those examples.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import wait_for
from tests.support.process import HearthProcess

INTENSITY = "core:LightIntensityState"
ONOFF = "core:OnOffState"

# The seed's example element types (a string value, numbers elsewhere).
POINT_TYPES = {"value": str, "min": (int, float), "max": (int, float), "samples": int, "when": int}
STACKED_TYPES = {"values": list, "minValues": list, "maxValues": list, "samples": list, "when": int}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    proc = HearthProcess(tmp_path_factory.mktemp("history"), env={"HEARTH_STORE__BATCH_WINDOW_MS": "20"}).start()
    yield proc
    proc.stop()


@pytest.fixture
async def api(gateway: HearthProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=gateway.base_url, verify=False, timeout=20, headers={"Authorization": f"Bearer {gateway.first_token}"}
    ) as client:
        yield client


async def _light(api: httpx.AsyncClient) -> str:
    devices = (await api.get("/setup/devices")).json()
    for device in devices:
        names = {s["name"] for s in device["states"]}
        commands = {c["commandName"] for c in device["definition"]["commands"]}
        if INTENSITY in names and "setIntensity" in commands:
            return str(device["deviceURL"])
    raise AssertionError("the demo house has no dimmable light")


async def _set_intensity(api: httpx.AsyncClient, url: str, level: int) -> None:
    response = await api.post(
        "/exec/apply",
        json={
            "label": "history test",
            "actions": [{"deviceURL": url, "commands": [{"name": "setIntensity", "parameters": [level]}]}],
        },
    )
    assert response.status_code == 200, response.text
    exec_id = response.json()["execId"]
    await wait_for(lambda: _finished(api, exec_id), timeout=15)


async def _finished(api: httpx.AsyncClient, exec_id: str) -> bool:
    return (await api.get(f"/exec/current/{exec_id}")).json() == []  # no longer running


def _check_point(point: dict[str, Any]) -> None:
    for key, kind in POINT_TYPES.items():
        assert isinstance(point[key], kind), (key, point)


def _check_history(body: dict[str, Any]) -> None:
    assert isinstance(body["historyValues"], list) and isinstance(body["historizationMethod"], int)
    for point in body["historyValues"]:
        _check_point(point)


def _check_stacked(body: dict[str, Any]) -> None:
    assert isinstance(body["stackLevels"], list) and isinstance(body["deviceCounts"], list)
    assert isinstance(body["historizationMethod"], int)
    levels = len(body["stackLevels"])
    assert levels >= 1 and len(body["deviceCounts"]) == levels
    for row in body["stackedHistoryValues"]:
        for key, kind in STACKED_TYPES.items():
            assert isinstance(row[key], kind), (key, row)
        assert len(row["values"]) == len(row["minValues"]) == len(row["maxValues"]) == len(row["samples"]) == levels


async def test_every_history_route(api: httpx.AsyncClient, gateway: HearthProcess) -> None:
    url = await _light(api)
    device = quote(url, safe="")
    before = int(time.time() * 1000) - 1
    levels = [10, 40, 70]
    for level in levels:
        await _set_intensity(api, url, level)
        await asyncio.sleep(0.01)
    after = int(time.time() * 1000) + 60_000  # reports may be stamped after the request returned
    base = f"/setup/devices/{device}/states"
    name = quote(INTENSITY, safe="")

    async def raw_points() -> list[dict[str, Any]] | None:
        body = (await api.get(f"{base}/{name}/history/{before}/{after}")).json()
        values = [int(p["value"]) for p in body["historyValues"]]
        return body["historyValues"] if values[-3:] == levels else None

    points = await wait_for(raw_points, timeout=10)
    for point in points:
        _check_point(point)
        assert point["min"] == point["max"] == float(point["value"]) and point["samples"] == 1
    assert [p["when"] for p in points] == sorted(p["when"] for p in points)

    body = (await api.get(f"{base}/{name}/history/{before}/{after}", params={"limit": 2})).json()
    assert [int(p["value"]) for p in body["historyValues"]] == levels[1:]  # the newest two

    for kind in ("daily", "monthly", "montly", "annual"):
        response = await api.get(f"{base}/{name}/history/{kind}/{before}/{after}")
        assert response.status_code == 200, (kind, response.text)
        body = response.json()
        _check_history(body)
        assert body["historizationMethod"] == 1  # a measured value: the mean
        bucket = body["historyValues"][-1]
        assert bucket["samples"] >= 3 and bucket["max"] >= 70 and bucket["min"] <= 10
        assert bucket["when"] <= before

    for kind in ("", "daily/", "monthly/", "annual/"):
        response = await api.get(f"{base}/{name}/history/stacked/{kind}{before}/{after}")
        assert response.status_code == 200, (kind, response.text)
        body = response.json()
        _check_stacked(body)
        assert body["stackLevels"][0] == url and body["deviceCounts"][0] == 1
        assert body["stackedHistoryValues"][-1]["maxValues"][0] > 0

    # Every state of the device: arrays of the same shapes, the discrete OnOffState among them.
    for kind in ("", "daily/", "monthly/", "annual/"):
        response = await api.get(f"{base}/history/{kind}{before}/{after}")
        assert response.status_code == 200, (kind, response.text)
        items = response.json()
        assert isinstance(items, list)
        by_name = {item["name"]: item for item in items}
        assert INTENSITY in by_name and ONOFF in by_name
        for item in items:
            assert isinstance(item["historyValues"], list)
        assert by_name[ONOFF]["historizationMethod"] == 0
        assert {p["value"] for p in by_name[ONOFF]["historyValues"]} <= {"on", "off"}
        response = await api.get(f"{base}/history/stacked/{kind}{before}/{after}")
        assert response.status_code == 200, (kind, response.text)
        stacked = response.json()
        assert [s["name"] for s in stacked] == [INTENSITY] or INTENSITY in [s["name"] for s in stacked]
        for item in stacked:
            _check_stacked(item)

    # CSV exports.
    for path in (f"{base}/{name}/history/{before}/{after}/export", f"{base}/{name}/history/export"):
        response = await api.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv"), path
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [int(r["value"]) for r in rows][-3:] == levels
    response = await api.get(f"{base}/{name}/history/stacked/daily/{before}/{after}/export")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[:2] == ["when", "date"] and f"{url} value" in header


async def _put_state(api: httpx.AsyncClient, url: str, name: str, type_: int, value: object) -> None:
    response = await api.put(f"/setup/devices/{quote(url, safe='')}/states/{quote(name, safe='')}/{type_}/{value}")
    assert response.status_code in (200, 204), response.text
    await asyncio.sleep(0.01)  # distinct timestamps


async def _device(api: httpx.AsyncClient, controllable: str) -> dict[str, Any]:
    devices = (await api.get("/setup/devices")).json()
    return next(d for d in devices if d["controllableName"] == controllable)


async def test_meter_and_sensor_units_and_growing_index(api: httpx.AsyncClient) -> None:
    """An energy index is historised as its increase (method 2), a temperature as its mean (method 1); both
    carry the device's measured value type as ``deviceUnit``."""
    meter = await _device(api, "zigbee:ElectricityMeterComponent")
    sensor = await _device(api, "zigbee:TemperatureSensorComponent")
    before = int(time.time() * 1000) - 1
    for reading in (1000.0, 1150.5, 1175.5):
        await _put_state(api, meter["deviceURL"], "core:ElectricEnergyConsumptionState", 2, reading)
    for celsius in (19.0, 21.0):
        await _put_state(api, sensor["deviceURL"], "core:TemperatureState", 2, celsius)
    after = int(time.time() * 1000) + 60_000  # reports may be stamped after the request returned
    meter_path = (
        f"/setup/devices/{quote(meter['deviceURL'], safe='')}/states/"
        f"{quote('core:ElectricEnergyConsumptionState', safe='')}/history"
    )

    async def meter_day() -> dict[str, Any] | None:
        body = (await api.get(f"{meter_path}/daily/{before}/{after}")).json()
        values = body["historyValues"]
        return body if values and values[-1]["max"] == 1175.5 else None

    body = await wait_for(meter_day, timeout=10)
    units = {a["name"]: a["value"] for a in meter["attributes"]}
    assert body["historizationMethod"] == 2 and body["deviceUnit"] == units["core:MeasuredValueType"]
    day = body["historyValues"][-1]
    # The gateway's first day of history: the increase is counted from the day's lowest reading (the meter's
    # value at start, 0 in the demo, or 1000 if this test's readings are the day's only ones).
    assert day["samples"] >= 3 and day["min"] in (0.0, 1000.0)
    assert float(day["value"]) == 1175.5 - day["min"]
    sensor_path = (
        f"/setup/devices/{quote(sensor['deviceURL'], safe='')}/states/{quote('core:TemperatureState', safe='')}/history"
    )

    async def sensor_points() -> list[str] | None:
        raw = (await api.get(f"{sensor_path}/{before}/{after}")).json()
        values = [p["value"] for p in raw["historyValues"]]
        return values if values[-2:] == ["19.0", "21.0"] else None

    await wait_for(sensor_points, timeout=10)
    body = (await api.get(f"{sensor_path}/daily/{before}/{after}")).json()
    units = {a["name"]: a["value"] for a in sensor["attributes"]}
    assert body["historizationMethod"] == 1 and body["deviceUnit"] == units["core:MeasuredValueType"]
    day = body["historyValues"][-1]  # the sensor's start value may be in the same day
    assert day["samples"] >= 2 and day["min"] <= 19.0 and day["max"] >= 21.0
    assert day["min"] <= float(day["value"]) <= day["max"]


async def test_bad_input_is_refused(api: httpx.AsyncClient) -> None:
    url = await _light(api)
    base = f"/setup/devices/{quote(url, safe='')}/states"
    name = quote(INTENSITY, safe="")
    now = int(time.time() * 1000)
    cases = [
        (f"{base}/{name}/history/abc/{now}", 400, "INVALID_FIELD_VALUE"),
        (f"{base}/{name}/history/{now}/{now - 1}", 400, "INVALID_FIELD_VALUE"),  # from > to
        (f"{base}/{name}/history/-5/{now}", 400, "INVALID_FIELD_VALUE"),
        (f"{base}/{name}/history/0/{now}", 400, "INVALID_FIELD_VALUE"),  # > 3 days without limit
        (f"{base}/{name}/history/0/{now}?limit=0", 400, "INVALID_FIELD_VALUE"),
        (f"{base}/{name}/history/0/{now}?limit=1e3", 400, "INVALID_FIELD_VALUE"),
        (f"{base}/{name}/history/daily/0/{now}", 400, "INVALID_FIELD_VALUE"),  # more than 1100 days
        (f"{base}/{name}/history/annual/0/99999999999999999", 400, "INVALID_FIELD_VALUE"),
        (f"{base}/{quote('core:NoSuchState', safe='')}/history/{now - 1000}/{now}", 404, "UNKNOWN_OBJECT"),
        (f"{base}/{quote(ONOFF, safe='')}/history/stacked/daily/{now - 1000}/{now}", 400, "UNSUPPORTED_OPERATION"),
        (
            f"/setup/devices/{quote('io://0000-0000-0000/1', safe='')}/states/{name}/history/{now - 1}/{now}",
            400,
            "NO_SUCH_DEVICE",
        ),
    ]
    for path, status, code in cases:
        response = await api.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.json()["errorCode"] == code, (path, response.text)
    # With a limit, a long span is fine: the newest points.
    response = await api.get(f"{base}/{name}/history/0/{now}", params={"limit": 5})
    assert response.status_code == 200 and len(response.json()["historyValues"]) <= 5


async def test_a_view_token_reads_history(api: httpx.AsyncClient, gateway: HearthProcess) -> None:
    token = gateway.token("view", "history viewer")
    url = await _light(api)
    now = int(time.time() * 1000)
    async with httpx.AsyncClient(
        base_url=gateway.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {token}"}
    ) as viewer:
        response = await viewer.get(
            f"/setup/devices/{quote(url, safe='')}/states/"
            f"{quote(INTENSITY, safe='')}/history/daily/{now - 86_400_000}/{now}"
        )
        assert response.status_code == 200, response.text
