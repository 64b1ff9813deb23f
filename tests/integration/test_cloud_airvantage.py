"""The AirVantage connector (seeds 001/004) against a fake: rules taken down and evaluated at the edge, their
alerts sent up, tasks run once in rank order with their outcome reported."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import wait_for
from tests.peers.clouds.airvantage import AirVantageState, build_app
from tests.peers.clouds.bagtower import FakeCloud
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
RULE_ID = "0123456789abcdef0123456789abcdef"


def hot_rule(url: str) -> dict[str, Any]:
    return {"id": RULE_ID, "targetType": "SYSTEM", "name": "Too hot", "message": "too hot", "stateful": True,
            "active": True, "emails": [], "notifMode": "WHEN_STATE_CHANGES",
            "conditions": [{"operator": "GREATER_THAN", "operands": [
                {"attributeId": {"targetId": url, "name": "DATA.core:TemperatureState"}}, {"valueNum": 30}]}]}


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[AirVantageState, GatewayClient]]:
    state = AirVantageState(token="av-token", system_uid="sys-1")
    server = await FakeCloud(build_app(state)).start()
    data = tmp_path / "data"
    data.mkdir()
    (data / "airvantage-token").write_text("av-token\n")
    os.chmod(data / "airvantage-token", 0o600)
    env = {"HEARTH_CLOUD__AIRVANTAGE__ENABLED": "true", "HEARTH_CLOUD__AIRVANTAGE__BASE_URL": server.url,
           "HEARTH_CLOUD__AIRVANTAGE__SYSTEM_UID": "sys-1", "HEARTH_CLOUD__AIRVANTAGE__POLL_INTERVAL_S": "0.5"}
    box = GatewayClient(HearthProcess(data, env=env), "virtual")
    await box.open()
    state.rules.append(hot_rule(box.url("5")))  # the rule names a device of this gateway: known once it started
    yield state, box
    await box.close()
    box.proc.kill()
    await server.stop()


async def test_rules_down_alerts_up_and_tasks_run_once(setup: tuple[AirVantageState, GatewayClient]) -> None:
    state, box = setup
    # The rule comes down under the cloud's id, and is evaluated here.
    await wait_for(lambda: _has_rule(box), timeout=10)
    url = quote(box.url("5"), safe="")
    assert (await box.api.put(f"/setup/devices/{url}/states/core:TemperatureState/2/35")).status_code == 200
    alert = await wait_for(lambda: state.alerts, timeout=10)
    assert alert[0]["rule"]["uid"] == RULE_ID and alert[0]["state"] is True
    # Commands: one mapped by name, one inline, one unknown; in rank order, each reported.
    state.add_command("t-2", "hearth.apply", {"actionGroup": {"label": "plug off", "actions": [
        {"deviceURL": box.url("9"), "commands": [{"name": "off"}]}]}}, rank=2)
    state.add_command("t-1", "no.such.command", rank=1)
    await wait_for(lambda: len(state.reports) == 2, timeout=15)
    assert state.reports["t-1"]["state"] == "FAILURE" and "unknown commandId" in state.reports["t-1"]["messages"][0][
        "message"]
    assert state.reports["t-2"]["state"] == "SUCCESS"
    assert await box.state(box.url("9"), "core:OnOffState") == "off"
    # Still listed by a forgetful cloud: not run twice.
    for task in state.tasks:
        task["state"] = "PENDING"
    count = len(state.reports)
    await asyncio.sleep(1.5)  # three polls
    assert len(state.reports) == count and state.refused == 0
    # The cloud drops the rule: it goes here too.
    state.rules.clear()
    await wait_for(lambda: _no_rule(box), timeout=10)


async def _has_rule(box: GatewayClient) -> bool:
    response = await box.api.get(f"/ext/airvantage/api/v2/alertrules/{RULE_ID}")
    return response.status_code == 200


async def _no_rule(box: GatewayClient) -> bool:
    return not await _has_rule(box)

