"""The Bagtower connector (seed 000) against a fake of that cloud: stable ids, API keys, logs at the period the
server answers, nothing registered twice across a restart, and the keys out of the logs."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from hearth.cloud.bagtower import device_id
from tests.conftest import wait_for
from tests.peers.clouds.bagtower import BagtowerState, FakeCloud, build_app
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytest.importorskip("httpx")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
async def cloud() -> AsyncIterator[tuple[BagtowerState, FakeCloud]]:
    state = BagtowerState(user_token="user-secret-token", period=2)
    server = await FakeCloud(build_app(state)).start()
    yield state, server
    await server.stop()


def env(url: str) -> dict[str, str]:
    return {
        "HEARTH_CLOUD__BAGTOWER__ENABLED": "true",
        "HEARTH_CLOUD__BAGTOWER__BASE_URL": url,
        "HEARTH_CLOUD__BAGTOWER__COMPANY_ID": "acme",
        "HEARTH_CLOUD__BAGTOWER__MIN_PERIOD_S": "1",
        "HEARTH_CLOUD__BAGTOWER__PERIOD_S": "60",
    }


def gateway(tmp_path: Path, server: FakeCloud) -> tuple[Path, GatewayClient]:
    """A gateway with the Bagtower connector on and its user token (owner-only) in its data folder."""
    data = tmp_path / "data"
    data.mkdir()
    token = data / "bagtower-token"
    token.write_text("user-secret-token\n")
    os.chmod(token, 0o600)
    return data, GatewayClient(HearthProcess(data, env=env(server.url)), "virtual")


async def test_devices_registered_once_and_logs_at_the_servers_period(
    tmp_path: Path, cloud: tuple[BagtowerState, FakeCloud]
) -> None:
    state, server = cloud
    data, box = gateway(tmp_path, server)
    await box.open()
    try:
        await wait_for(lambda: len(state.devices) == 34, timeout=20)
        first = await wait_for(lambda: [log for log in state.logs if log["deviceId"] in state.devices], timeout=20)
        sample = first[0]
        assert sample["UTCTimestamp"].endswith("Z") and isinstance(sample["unixTimestamp"], int)
        assert all(isinstance(d["val"], str) and d["type"] in ("number", "string", "boolean") for d in sample["data"])
        # display is the seed's display format (its examples: enum, percent, string), never the state's name.
        assert {d["display"] for log in state.logs for d in log["data"] if "display" in d} <= {
            "enum",
            "percent",
            "string",
        }
        # The server said every 2 s: each device pushes again about then, not every 60 s as we asked.
        did = sample["deviceId"]
        await wait_for(lambda: sum(1 for log in state.logs if log["deviceId"] == did) >= 3, timeout=15)
        assert state.refused == 0
    finally:
        await box.close()
    # A restart registers nothing again: the ids are stable and the keys kept (owner-only).
    assert oct((data / "bagtower-keys.json").stat().st_mode & 0o777) == "0o600"
    before = len(state.devices)
    await box.open()
    try:
        count = len(state.logs)
        await wait_for(lambda: len(state.logs) > count + 34, timeout=20)
        assert len(state.devices) == before and state.refused == 0
    finally:
        await box.close()
        box.proc.kill()
    output = "".join(box.proc.output)
    assert "user-secret-token" not in output
    assert not any(key in output for key in state.keys.values())


async def test_a_token_readable_by_others_is_refused(tmp_path: Path, cloud: tuple[BagtowerState, FakeCloud]) -> None:
    state, server = cloud
    data = tmp_path / "data"
    data.mkdir()
    token = data / "bagtower-token"
    token.write_text("user-secret-token\n")
    os.chmod(token, 0o644)
    box = GatewayClient(HearthProcess(data, env=env(server.url)), "virtual")
    await box.open()
    try:
        await wait_for(lambda: any("owner only" in line for line in box.proc.output), timeout=10)
        await asyncio.sleep(0.5)
        assert state.devices == {}
        assert (await box.api.get("/setup")).status_code == 200  # the home goes on
    finally:
        await box.close()
        box.proc.kill()


async def test_renamed_and_removed_devices_follow_in_the_cloud(
    tmp_path: Path, cloud: tuple[BagtowerState, FakeCloud]
) -> None:
    state, server = cloud
    data, box = gateway(tmp_path, server)
    await box.open()
    try:
        await wait_for(lambda: len(state.devices) == 34, timeout=20)
        plug, lamp = box.url("9"), box.url("5")
        plug_id, lamp_id = device_id(box.proc.gateway_id, plug), device_id(box.proc.gateway_id, lamp)
        assert {plug_id, lamp_id} <= set(state.devices)
        # Renamed on the box: updated in the cloud (the full body, as the seed's update takes it).
        renamed = await box.api.put(f"/setup/devices/{quote(plug, safe='')}/{quote('Kettle plug')}")
        assert renamed.status_code in (200, 204), renamed.text
        await wait_for(lambda: state.devices.get(plug_id, {}).get("deviceName") == "Kettle plug", timeout=20)
        assert state.updates[-1]["companyId"] == "acme" and state.updates[-1]["period"] >= 60
        # Removed on the box: deleted in the cloud, its key forgotten; the others still log.
        assert (await box.api.delete(f"/setup/devices/{quote(lamp, safe='')}")).status_code == 204
        await wait_for(lambda: lamp_id in state.deleted, timeout=20)
        await wait_for(lambda: lamp_id not in json.loads((data / "bagtower-keys.json").read_text()), timeout=5)
        count = len(state.logs)
        await wait_for(lambda: len(state.logs) > count + 5, timeout=20)
        assert state.refused == 0
    finally:
        await box.close()
        box.proc.kill()


async def test_a_hostile_cloud_is_counted_and_survived(tmp_path: Path, cloud: tuple[BagtowerState, FakeCloud]) -> None:
    state, server = cloud
    data, box = gateway(tmp_path, server)
    await box.open()
    try:
        await wait_for(lambda: len(state.logs) > 3, timeout=30)
        state.fail_next = [503, "garbage", "half", 500]
        await wait_for(lambda: not state.fail_next, timeout=30)
        count = len(state.logs)
        await wait_for(lambda: len(state.logs) > count + 5, timeout=30)  # the sync goes on
        async with httpx.AsyncClient(
            base_url=box.proc.root_url, verify=False, timeout=10, headers=dict(box.api.headers)
        ) as root:
            metrics = (await root.get("/metrics")).text
        for reason in ("http 5xx", "not json"):
            assert f'hearth_cloud_failures_total{{cloud="bagtower",reason="{reason}"}}' in metrics
        assert "".join(box.proc.output).count("bagtower: sync failed (http 5xx") == 1  # once per reason
        assert (await box.api.get("/setup")).status_code == 200
    finally:
        await box.close()
        box.proc.kill()
