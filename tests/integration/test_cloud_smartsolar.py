"""The SMARTSolar connector (seed 002) against a fake of that cloud: login and its refresh, store-and-forward
telemetry in the seed's time-series form (kept through a 503), and signed product-status webhooks."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import wait_for
from tests.peers.clouds.bagtower import FakeCloud
from tests.peers.clouds.smartsolar import SmartSolarState, build_app, sign
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
IMEI = "013950005303699"
KEY = b"webhook-key-returned-once"


@pytest.fixture
async def cloud() -> AsyncIterator[tuple[SmartSolarState, FakeCloud]]:
    state = SmartSolarState(username="installer", password="pw-secret", imei=IMEI, token_lifetime_s=602)
    server = await FakeCloud(build_app(state)).start()
    yield state, server
    await server.stop()


def secret(folder: Path, name: str, value: bytes, mode: int = 0o600) -> None:
    path = folder / name
    path.write_bytes(value)
    os.chmod(path, mode)


@pytest.fixture
async def box(tmp_path: Path, cloud: tuple[SmartSolarState, FakeCloud]) -> AsyncIterator[GatewayClient]:
    _, server = cloud
    data = tmp_path / "data"
    data.mkdir()
    secret(data, "smartsolar-password", b"pw-secret\n")
    secret(data, "smartsolar-webhook-key", KEY)
    env = {"HEARTH_CLOUD__SMARTSOLAR__ENABLED": "true", "HEARTH_CLOUD__SMARTSOLAR__BASE_URL": server.url,
           "HEARTH_CLOUD__SMARTSOLAR__PRODUCT_IMEI": IMEI, "HEARTH_CLOUD__SMARTSOLAR__USERNAME": "installer",
           "HEARTH_CLOUD__SMARTSOLAR__UPLOAD_INTERVAL_S": "1", "HEARTH_CLOUD__SMARTSOLAR__TIMEOUT_S": "1",
           "HEARTH_CLOUD__SMARTSOLAR__WEBHOOK_URL": "https://gw.example/hooks/smartsolar"}
    client = GatewayClient(HearthProcess(data, env=env), "virtual")
    await client.open()
    yield client
    await client.close()
    client.proc.kill()


async def set_temperature(box: GatewayClient, value: float) -> None:
    url = quote(box.url("5"), safe="")
    response = await box.api.put(f"/setup/devices/{url}/states/core:TemperatureState/2/{value}")
    assert response.status_code in (200, 204), response.text


def points(state: SmartSolarState, field_name: str) -> list[list[Any]]:
    return [p for w in state.writes for name, pts in w["fields"].items() if name == field_name for p in pts]


async def test_telemetry_in_the_seeds_form_kept_through_a_503(box: GatewayClient,
                                                            cloud: tuple[SmartSolarState, FakeCloud]) -> None:
    state, _ = cloud
    await set_temperature(box, 21.5)
    written = await wait_for(lambda: points(state, "5_TemperatureState"), timeout=15)
    ts, value = written[-1]
    assert value == 21.5 and ts > 1_600_000_000_000  # [epoch ms, value], the write order
    assert state.writes[-1]["measurement"] == "telemetry"
    # The cloud in maintenance: the value waits, then arrives.
    state.fail_next = [503, 503]
    await set_temperature(box, 22.5)
    await wait_for(lambda: [p for p in points(state, "5_TemperatureState") if p[1] == 22.5], timeout=20)
    # A slow cloud: the write times out (1 s here), the value waits, and comes with a later upload.
    state.slow_next = [3.0]
    await set_temperature(box, 23.5)
    await wait_for(lambda: [p for p in points(state, "5_TemperatureState") if p[1] == 23.5], timeout=20)
    # The token's expiry is near (it lives 602 s; we refresh 10 min before): every upload logs in again, and no
    # write was ever refused.
    assert state.logins >= 2 and state.refused == 0


async def test_signed_webhooks_run_the_action_group_once(tmp_path: Path, box: GatewayClient,
                                                         cloud: tuple[SmartSolarState, FakeCloud]) -> None:
    plug = box.url("9")
    created = await box.api.post("/actionGroups", json={"label": "unit disabled", "actions": [
        {"deviceURL": plug, "commands": [{"name": "off"}]}]})
    oid = created.json()["actionGroupOID"]
    # The mapping lives in the config; this gateway gets it through the environment at the next start.
    await box.close()
    box.proc.extra_env["HEARTH_CLOUD__SMARTSOLAR__ACTIONS"] = f'{{ disabled = "{oid}" }}'  # a TOML table
    await box.open()
    assert (await box.run(plug, "on"))["newState"] == "COMPLETED"
    message = json.dumps({"channel": "product-status", "timestamp": "2026-11-23T10:00:00",
                          "data": {"state": 5, "enabled_status": "disabled", "user": "ops"}}).encode()
    hook = f"{box.proc.root_url}/hooks/smartsolar"
    async with httpx.AsyncClient(verify=False, timeout=10) as http:
        bad = await http.post(hook, content=message, headers={"X-BBOXX-Signature": sign(b"wrong", message,
                                                                                          "https://gw.example/hooks/smartsolar")})
        assert bad.status_code == 401 and bad.json()["errorCode"] == "RESOURCE_ACCESS_DENIED"
        assert await box.state(plug, "core:OnOffState") == "on"
        good = {"X-BBOXX-Signature": sign(KEY, message, "https://gw.example/hooks/smartsolar")}
        first = await http.post(hook, content=message, headers=good)
        assert first.status_code == 200 and "execId" in first.json(), first.text
        again = await http.post(hook, content=message, headers=good)
        assert again.json() == {"ignored": "delivered before"}
    assert await wait_for(lambda: _off(box, plug), timeout=10)


async def _off(box: GatewayClient, url: str) -> bool:
    return await box.state(url, "core:OnOffState") == "off"


async def test_product_actions_come_down_as_commands(box: GatewayClient,
                                                     cloud: tuple[SmartSolarState, FakeCloud]) -> None:
    state, server = cloud
    plug = box.url("9")
    created = await box.api.post("/actionGroups", json={"label": "unit disabled", "actions": [
        {"deviceURL": plug, "commands": [{"name": "off"}]}]})
    oid = created.json()["actionGroupOID"]
    await box.close()
    box.proc.extra_env["HEARTH_CLOUD__SMARTSOLAR__ACTIONS"] = f'{{ disabled = "{oid}" }}'  # a TOML table
    await box.open()
    assert (await box.run(plug, "on"))["newState"] == "COMPLETED"
    # The cloud's operator disables the unit: it is pending until the unit reports, then pulls.
    async with httpx.AsyncClient(base_url=server.url) as operator:
        assert (await operator.put(f"/v1/products/{IMEI}/disable")).status_code == 200
    assert await wait_for(lambda: _off(box, plug), timeout=15)
    await wait_for(lambda: state.reported and state.reported[-1]["enable_status"] == "disabled", timeout=15)
    # Pulled again and again: the action ran once.
    await wait_for(lambda: len(state.reported) > 3, timeout=15)
    history = (await box.api.get("/history/executions")).json()
    assert len([e for e in history if e.get("actionGroupOID") == oid]) == 1
