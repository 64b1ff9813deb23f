"""The AirVantage connector (seeds 001/004) against a fake written from the seeds: rules (a bare array) taken down
and evaluated at the edge, their hooks called, triggers pulled, tasks found with ``fields=``, run once in rank
order, cancelled and retried from the cloud, and every hostile answer survived."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import wait_for
from tests.peers.clouds.airvantage import TASK_DEFAULT_FIELDS, AirVantageState, build_app
from tests.peers.clouds.bagtower import FakeCloud
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
RULE_ID = "0123456789abcdef0123456789abcdef"
SYSTEM = "9196f4944c294a168ae5d72f5d0007bf"


def hot_rule(url: str) -> dict[str, Any]:
    # Seed 001's rule list item: no "stateful" (it defaults to true), no notifMode (WHEN_STATE_CHANGES).
    return {
        "id": RULE_ID,
        "targetType": "SYSTEM",
        "name": "Too hot",
        "message": "too hot",
        "active": True,
        "emails": [],
        "conditions": [
            {
                "operator": "GREATER_THAN",
                "operands": [
                    {"attributeId": {"targetId": url, "name": "DATA.core:TemperatureState"}},
                    {"valueNum": 30},
                ],
            }
        ],
    }


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[AirVantageState, GatewayClient, FakeCloud]]:
    state = AirVantageState(token="av-token", system_uid=SYSTEM)
    server = await FakeCloud(build_app(state)).start()
    data = tmp_path / "data"
    data.mkdir()
    (data / "airvantage-token").write_text("av-token\n")
    os.chmod(data / "airvantage-token", 0o600)
    env = {
        "HEARTH_CLOUD__AIRVANTAGE__ENABLED": "true",
        "HEARTH_CLOUD__AIRVANTAGE__BASE_URL": server.url,
        "HEARTH_CLOUD__AIRVANTAGE__SYSTEM_UID": SYSTEM,
        "HEARTH_CLOUD__AIRVANTAGE__POLL_INTERVAL_S": "0.5",
        "HEARTH_CLOUD__AIRVANTAGE__RETRY_MIN_S": "0.1",
    }
    box = GatewayClient(HearthProcess(data, env=env), "virtual")
    await box.open()
    state.rules.append(hot_rule(box.url("5")))  # the rule names a device of this gateway: known once it started
    state.hooks[RULE_ID] = [{"callback": f"{server.url}/subscriber/hot", "uid": "b88c03b43db74cacaab266e5c4481559"}]
    yield state, box, server
    await box.close()
    box.proc.kill()
    await server.stop()


async def local_tasks(box: GatewayClient, fields: str | None = None) -> list[dict[str, Any]]:
    params = {"target": SYSTEM, **({"fields": fields} if fields else {})}
    answer = await box.api.get("/ext/airvantage/api/v1/operations/tasks", params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def outcome(box: GatewayClient, uid: str) -> dict[str, Any] | None:
    for task in await local_tasks(box, "uid,state,messages,operation"):
        if task["uid"] == uid and task["state"] not in ("PENDING", "IN_PROGRESS"):
            return task
    return None


async def test_rules_hooks_and_tasks_as_the_seeds_say(setup: tuple[AirVantageState, GatewayClient, FakeCloud]) -> None:
    state, box, _ = setup
    await wait_for(lambda: _has_rule(box), timeout=10)
    # Tasks were asked for with fields= (without it the seed gives no operation), and for this target.
    task_queries = await wait_for(
        lambda: [q for m, p, q in state.requests if p == "/api/v1/operations/tasks"], timeout=10
    )
    assert task_queries and all(
        q.get("target") == SYSTEM and "operation" in q.get("fields", "").split(",") for q in task_queries
    )
    url = quote(box.url("5"), safe="")
    assert (await box.api.put(f"/setup/devices/{url}/states/core:TemperatureState/2/35")).status_code == 200
    # The rule's hook is called with the subscriber API's body.
    call = (await wait_for(lambda: state.hook_calls, timeout=10))[0]["body"]
    assert call["name"] == "event.alert.rule.triggered" and isinstance(call["date"], int)
    assert call["content"]["rule.uid"] == RULE_ID and call["content"]["target.uid"] == SYSTEM
    assert isinstance(call["content"]["alert.uid"], str) and call["content"]["alert.uid"]
    # The alert, in the seed's Alert shape, is the gateway's own to serve.
    current = (await box.api.get("/ext/airvantage/api/v3/alerts/current")).json()["items"]
    assert set(current[0]) == {"companyId", "targetId", "targetType", "ruleId", "state", "stateChangeTs", "attributes"}
    assert set(current[0]["attributes"][0]) == {"id", "value", "refTime"}
    # Commands: one inline, one unknown, one of a type a gateway cannot run; in rank order, each with an outcome.
    t2 = state.send_command(
        "hearth.apply",
        {"actionGroup": {"label": "plug off", "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "off"}]}]}},
        rank=2,
    )
    t1 = state.send_command("no.such.command", rank=1)
    t3 = state.send_command("", operation_type="SYSTEM_SUSPEND", rank=3)
    for uid in (t1, t2, t3):
        await wait_for(lambda uid=uid: outcome(box, uid), timeout=15)
    assert (await outcome(box, t1) or {})["state"] == "FAILURE"
    assert "commandId 'no.such.command'" in (await outcome(box, t1) or {})["messages"][0]["message"]
    assert (await outcome(box, t2) or {})["state"] == "SUCCESS"
    suspended = await outcome(box, t3) or {}
    assert suspended["state"] == "FAILURE" and suspended["messages"][0]["message"].startswith(
        "operation.type.not.supported"
    )
    assert await box.state(box.url("9"), "core:OnOffState") == "off"
    # The local list has the seed's default fields only, unless fields= asks.
    assert all(set(t) == set(TASK_DEFAULT_FIELDS) for t in await local_tasks(box))
    # The cloud never saw a write other than the seeds' (none: task states are read-only there).
    assert not [p for m, p, _ in state.requests if m != "GET" and not p.startswith("/subscriber/")]
    # Still PENDING at a cloud that moves no states: not run twice.
    before = len(state.requests)
    await asyncio.sleep(1.5)  # three polls
    history = (await box.api.get("/history/executions")).json()
    assert len([e for e in history if e.get("label") == "plug off"]) == 1
    assert len(state.requests) > before and state.refused == 0
    # The cloud drops the rule: it goes here too.
    state.rules.clear()
    await wait_for(lambda: _no_rule(box), timeout=10)


async def test_cancel_retry_and_cloud_triggers(setup: tuple[AirVantageState, GatewayClient, FakeCloud]) -> None:
    state, box, server = setup
    await wait_for(lambda: _has_rule(box), timeout=10)
    plug = box.url("9")
    # A long task (a delay in its action group), cancelled by the cloud while it runs.
    slow = {"label": "slow", "actions": [{"deviceURL": plug, "commands": [{"name": "on", "delay": 30}]}]}
    task = state.send_command("hearth.apply", {"actionGroup": slow})
    await wait_for(lambda: _running(box), timeout=10)
    op_uid = state.tasks[task]["operation"]["uid"]
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": "Bearer av-token"}) as operator:
        assert (await operator.post(f"/api/v1/operations/{op_uid}/tasks/{task}/cancel")).status_code == 200
        cancelled = await wait_for(lambda: outcome(box, task), timeout=15)
        assert cancelled["state"] == "CANCELLED"
        # Retry: a new operation of the CANCELLED task; its new task runs (here a quick one would succeed).
        state.operations[op_uid]["input"]["parameters"] = {
            "actionGroup": {"label": "retry", "actions": [{"deviceURL": plug, "commands": [{"name": "on"}]}]}
        }
        retried = await operator.post(f"/api/v1/operations/{op_uid}/retry")
        assert retried.status_code == 200, retried.text
        new_op = retried.json()["operation"]
    new_task = next(uid for uid, t in state.tasks.items() if t["operation"]["uid"] == new_op)
    done = await wait_for(lambda: outcome(box, new_task), timeout=15)
    assert done["state"] == "SUCCESS"
    # A cloud trigger on the rule (SYSTEM_SEND_COMMAND, the seed's example parameters): pulled, and when the
    # rule's state turns true it runs the command as a local operation triggered by the RULE.
    state.triggers.append(
        {
            "uid": "df411e4f47c39847a101f0fd890ab65c",
            "type": "ON_ALERT_STATE_CHANGE_TRUE",
            "filter": RULE_ID,
            "operationType": "SYSTEM_SEND_COMMAND",
            "notify": True,
            "callback": None,
            "email": None,
            "parameters": {
                "commandId": "hearth.apply",
                "protocol": "REST",
                "parameters": {
                    "actionGroup": {
                        "label": "cool down",
                        "actions": [{"deviceURL": plug, "commands": [{"name": "off"}]}],
                    }
                },
                "application": {"uid": "333ea6a2d6e44a00aee2804ed519128a"},
                "requestConnection": False,
            },
        }
    )
    await wait_for(lambda: _has_trigger(box), timeout=10)
    url = quote(box.url("5"), safe="")
    assert (await box.api.put(f"/setup/devices/{url}/states/core:TemperatureState/2/36")).status_code == 200
    local = await wait_for(lambda: _local_operation(box), timeout=15)
    assert local["state"] == "SUCCESS" and local["trigger"] == {"type": "RULE", "uid": RULE_ID, "name": "Too hot"}
    assert await box.state(plug, "core:OnOffState") == "off"


async def test_hostile_answers_never_end_the_sync(setup: tuple[AirVantageState, GatewayClient, FakeCloud]) -> None:
    state, box, _ = setup
    await wait_for(lambda: _has_rule(box), timeout=10)
    state.fail_next = [503, "garbage", "half", "shape", 500, 503]
    await wait_for(lambda: not state.fail_next, timeout=20)
    # Counted by reason, and the loop goes on: a command sent after the storm runs.
    task = state.send_command(
        "hearth.apply",
        {"actionGroup": {"label": "after", "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "on"}]}]}},
    )
    assert (await wait_for(lambda: outcome(box, task), timeout=15))["state"] == "SUCCESS"
    async with httpx.AsyncClient(
        base_url=box.proc.root_url, verify=False, timeout=10, headers=dict(box.api.headers)
    ) as root:
        metrics = (await root.get("/metrics")).text
    for reason in ("http 5xx", "not json", "unexpected shape"):
        assert f'hearth_cloud_failures_total{{cloud="airvantage",reason="{reason}"}}' in metrics, metrics[-2000:]
    output = "".join(box.proc.output)
    assert output.count("airvantage: sync failed (http 5xx") == 1  # logged once per reason, not per failure
    assert (await box.api.get("/setup")).status_code == 200


async def _has_rule(box: GatewayClient) -> bool:
    response = await box.api.get(f"/ext/airvantage/api/v2/alertrules/{RULE_ID}")
    return response.status_code == 200


async def _no_rule(box: GatewayClient) -> bool:
    return not await _has_rule(box)


async def _has_trigger(box: GatewayClient) -> bool:
    response = await box.api.get("/ext/airvantage/api/v1/operations/triggers/df411e4f47c39847a101f0fd890ab65c")
    return response.status_code == 200


async def _running(box: GatewayClient) -> bool:
    return bool((await box.api.get("/exec/current")).json())


async def _local_operation(box: GatewayClient) -> dict[str, Any] | None:
    for task in await local_tasks(box, "uid,state,operation,trigger"):
        if task["uid"].startswith("local-") and task["state"] == "SUCCESS":
            return task
    return None


async def test_tasks_cut_by_a_crash_end_as_their_executions_do(
    setup: tuple[AirVantageState, GatewayClient, FakeCloud],
) -> None:
    state, box, _ = setup
    await wait_for(lambda: _has_rule(box), timeout=10)
    # The journal resumes the execution after the restart (its command is delayed, not missed): the task ends
    # as it does, SUCCESS, and does not run twice although the cloud still lists it PENDING.
    task = state.send_command(
        "hearth.apply",
        {
            "actionGroup": {
                "label": "cut",
                "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "on", "delay": 4}]}],
            }
        },
    )
    await wait_for(lambda: _running(box), timeout=10)
    box.proc.kill()  # SIGKILL while the task runs; the cloud still lists it PENDING
    await box.close()
    await box.open()
    done = await wait_for(lambda: outcome(box, task), timeout=20)
    assert done["state"] == "SUCCESS", done
    await asyncio.sleep(1.5)  # three polls: still listed PENDING by the cloud, not run again
    history = (await box.api.get("/history/executions")).json()
    assert len([e for e in history if e.get("label") == "cut"]) == 1
