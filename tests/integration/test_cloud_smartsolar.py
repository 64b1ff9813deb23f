"""The SMARTSolar connector (seed 002) against a fake of that cloud written from the seed: login and its refresh,
store-and-forward telemetry in the seed's time-series form (kept through a 503, retried with back-off), signed
product-status / product-alert webhooks, nudges, instructions (capacity_limit, software and its lock), DCM
credit, and tamper from a real state."""

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
from tests.peers.clouds.smartsolar import SmartSolarState, build_app, send_webhook, sign
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
IMEI = "013950005303699"
KEY = b"webhook-key-returned-once"
HOOK_URL = "https://gw.example/hooks/smartsolar"


@pytest.fixture
async def cloud() -> AsyncIterator[tuple[SmartSolarState, FakeCloud]]:
    state = SmartSolarState(
        username="installer",
        password="pw-secret",
        imei=IMEI,
        token_lifetime_s=602,
        webhook_key=KEY,
        signed_url=HOOK_URL,
    )
    server = await FakeCloud(build_app(state)).start()
    yield state, server
    await server.stop()


def secret(folder: Path, name: str, value: bytes, mode: int = 0o600) -> None:
    path = folder / name
    path.write_bytes(value)
    os.chmod(path, mode)


@pytest.fixture
async def box(tmp_path: Path, cloud: tuple[SmartSolarState, FakeCloud]) -> AsyncIterator[GatewayClient]:
    server = cloud[1]
    data = tmp_path / "data"
    data.mkdir()
    secret(data, "smartsolar-password", b"pw-secret\n")
    secret(data, "smartsolar-webhook-key", KEY)
    env = {
        "HEARTH_CLOUD__SMARTSOLAR__ENABLED": "true",
        "HEARTH_CLOUD__SMARTSOLAR__BASE_URL": server.url,
        "HEARTH_CLOUD__SMARTSOLAR__PRODUCT_IMEI": IMEI,
        "HEARTH_CLOUD__SMARTSOLAR__USERNAME": "installer",
        "HEARTH_CLOUD__SMARTSOLAR__UPLOAD_INTERVAL_S": "1",
        "HEARTH_CLOUD__SMARTSOLAR__TIMEOUT_S": "1",
        "HEARTH_CLOUD__SMARTSOLAR__WEBHOOK_URL": HOOK_URL,
        "HEARTH_CLOUD__SMARTSOLAR__RETRY_MIN_S": "0.2",
    }
    client = GatewayClient(HearthProcess(data, env=env), "virtual")
    await client.open()
    cloud[0].nudge_url = f"{client.proc.root_url}/hooks/smartsolar"
    yield client
    await client.close()
    client.proc.kill()


async def set_temperature(box: GatewayClient, value: float) -> None:
    url = quote(box.url("5"), safe="")
    response = await box.api.put(f"/setup/devices/{url}/states/core:TemperatureState/2/{value}")
    assert response.status_code in (200, 204), response.text


def points(state: SmartSolarState, field_name: str) -> list[list[Any]]:
    return [p for w in state.writes for name, pts in w["fields"].items() if name == field_name for p in pts]


async def test_telemetry_in_the_seeds_form_kept_through_a_503(
    box: GatewayClient, cloud: tuple[SmartSolarState, FakeCloud]
) -> None:
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


async def test_signed_webhooks_run_the_action_group_once(
    tmp_path: Path, box: GatewayClient, cloud: tuple[SmartSolarState, FakeCloud]
) -> None:
    plug = box.url("9")
    created = await box.api.post(
        "/actionGroups",
        json={"label": "unit disabled", "actions": [{"deviceURL": plug, "commands": [{"name": "off"}]}]},
    )
    oid = created.json()["actionGroupOID"]
    # The mapping lives in the config; this gateway gets it through the environment at the next start.
    await box.close()
    box.proc.extra_env["HEARTH_CLOUD__SMARTSOLAR__ACTIONS"] = f'{{ disabled = "{oid}" }}'  # a TOML table
    await box.open()
    assert (await box.run(plug, "on"))["newState"] == "COMPLETED"
    message = json.dumps(
        {
            "channel": "product-status",
            "timestamp": "2026-11-23T10:00:00",
            "data": {"state": 5, "enabled_status": "disabled", "user": "ops"},
        }
    ).encode()
    hook = f"{box.proc.root_url}/hooks/smartsolar"
    async with httpx.AsyncClient(verify=False, timeout=10) as http:
        bad = await http.post(
            hook,
            content=message,
            headers={"X-BBOXX-Signature": sign(b"wrong", message, "https://gw.example/hooks/smartsolar")},
        )
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


async def test_product_actions_come_down_as_commands(
    box: GatewayClient, cloud: tuple[SmartSolarState, FakeCloud]
) -> None:
    state, server = cloud
    plug, oid = box.url("9"), await plug_off_group(box)
    await restart_with(box, actions=f'{{ disabled = "{oid}" }}')  # a TOML table
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


async def plug_off_group(box: GatewayClient) -> str:
    """A persisted action group that turns the plug off: what the unit does when the cloud disables it."""
    created = await box.api.post(
        "/actionGroups",
        json={"label": "unit disabled", "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "off"}]}]},
    )
    oid: str = created.json()["actionGroupOID"]
    return oid


async def restart_with(box: GatewayClient, **env: str) -> None:
    await box.close()
    for key, value in env.items():
        box.proc.extra_env[f"HEARTH_CLOUD__SMARTSOLAR__{key.upper()}"] = value
    await box.open()


async def test_a_failed_upload_backs_off_instead_of_waiting_the_interval(
    box: GatewayClient, cloud: tuple[SmartSolarState, FakeCloud]
) -> None:
    state, server = cloud
    await restart_with(box, upload_interval_s="60")
    state.nudge_url = f"{box.proc.root_url}/hooks/smartsolar"
    await set_temperature(box, 24.5)
    state.fail_next = [503, 503, 503]
    before = len(state.write_times)
    async with httpx.AsyncClient(base_url=server.url) as operator:  # a wake-up: one cycle now
        assert (await operator.post(f"/v1/products/{IMEI}/send_wakeup")).status_code == 200
    # Three 503s, then the value: well within one 60 s interval (back-off from 0.2 s, jittered).
    await wait_for(lambda: [p for p in points(state, "5_TemperatureState") if p[1] == 24.5], timeout=20)
    assert len(state.write_times) - before >= 4
    assert state.write_times[-1] - state.write_times[before] < 20


async def test_instructions_credit_alerts_and_tamper(
    box: GatewayClient, cloud: tuple[SmartSolarState, FakeCloud]
) -> None:
    state, server = cloud
    plug, oid = box.url("9"), await plug_off_group(box)
    await restart_with(box, actions=f'{{ disabled = "{oid}" }}', tamper_state=f"{box.url('15')}#core:ContactState")
    state.nudge_url = f"{box.proc.root_url}/hooks/smartsolar"
    assert (await box.run(plug, "on"))["newState"] == "COMPLETED"
    door = quote(box.url("15"), safe="")
    assert (await box.api.put(f"/setup/devices/{door}/states/core:ContactState/3/open")).status_code in (200, 204)
    state.capacity_limit = "7"
    async with httpx.AsyncClient(base_url=server.url) as operator:
        assert (
            await operator.put(f"/v1/products/{IMEI}/update_software", json={"software": "2.16"})
        ).status_code == 200
        assert (await operator.put(f"/v1/products/{IMEI}/lock_software", json={"software": "2.15"})).status_code == 200
        # Credit for 3 s: applied, acknowledged, reported; when it runs out the unit disables itself.
        added = await operator.post(
            f"/v1/products/{IMEI}/add_payment_command",
            json={"transaction_id": "tx-1", "category": "payment", "value": 3},
        )
        assert added.status_code == 201
    report = await wait_for(lambda: [r for r in state.reported if "balance" in r and r.get("payment_acks")], timeout=15)
    assert report[0]["payment_acks"] == ["tx-1"] and 0 < report[0]["balance"]["balance"] <= 3
    assert not state.payment_commands  # acknowledged: the cloud stops sending it
    last = await wait_for(lambda: [r for r in state.reported if r.get("capacity_limit") == 7.0], timeout=15)
    assert last[-1]["software_update"] == {"requested": "2.16", "status": "blocked: locked to 2.15"}
    assert last[-1]["tamper_status"] == "tampered"
    assert await wait_for(lambda: _off(box, plug), timeout=15)  # the credit ran out
    await wait_for(lambda: state.reported[-1]["enable_status"] == "disabled", timeout=15)
    # product-status carries the seed's state type (1-9); product-alert is taken once per delivery.
    status = await send_webhook(
        state, state.nudge_url, "product-status", {"state": 6, "enabled_status": "pending_enabled", "user": "ops"}
    )
    assert status.json() == {"state": 6, "enabled_status": "pending_enabled"}
    bad = await send_webhook(
        state, state.nudge_url, "product-status", {"state": 12, "enabled_status": "enabled", "user": "ops"}
    )
    assert "is not a state type" in bad.json()["ignored"]
    await wait_for(lambda: [r for r in state.reported if r.get("state") == 6], timeout=15)
    alert = {
        "alert_id": 41,
        "product_imei": IMEI,
        "alert_type_id": 3,
        "start_time": "2026-01-01 00:00:00",
        "dismissed_at": None,
        "dismissed_by": None,
        "dismissal_reason": None,
        "repair_id": None,
        "extra_info": "low battery",
        "customer_called_date": None,
    }
    stamp = "2026-12-07T10:00:00.000001"
    first = await send_webhook(state, state.nudge_url, "product-alert", alert, stamp)
    again = await send_webhook(state, state.nudge_url, "product-alert", alert, stamp)
    assert first.json() == {"alert": 41} and again.json() == {"ignored": "delivered before"}
    assert state.refused == 0
