"""Cloud sync over MQTT against a real mosquitto: the topic contract, commands pushed twice, the broker going away,
and a gateway killed mid-sync. A test client plays the cloud: it subscribes to the gateway's up topics and
publishes on its down topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import wait_for
from tests.peers.mosquitto import Mosquitto
from tests.peers.mqtt_listener import TopicListener
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

aiomqtt = pytest.importorskip("aiomqtt", reason="the cloud extra is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def cloud_env(port: int) -> dict[str, str]:
    return {
        "HEARTH_CLOUD__ENABLED": "true",
        "HEARTH_CLOUD__MQTT__HOST": "127.0.0.1",
        "HEARTH_CLOUD__MQTT__PORT": str(port),
        "HEARTH_CLOUD__MQTT__TLS": "false",
        "HEARTH_CLOUD__TELEMETRY_WINDOW_S": "0.3",
        "HEARTH_CLOUD__RECONNECT_MIN_S": "0.3",
        "HEARTH_CLOUD__MQTT__KEEPALIVE_S": "5",  # a lost link is noticed within seconds, however it is lost
        "HEARTH_CLOUD__RECONNECT_MAX_S": "1",
    }


class Cloud(TopicListener):
    """The test's cloud: everything the gateway sends, by topic."""

    def __init__(self, port: int) -> None:
        super().__init__(port, ["hearth/#"], "test-cloud", clean_session=False)
        self.messages: list[tuple[str, Any]] = []

    def record(self, topic: str, payload: bytes, retain: bool) -> None:
        self.messages.append((topic, json.loads(payload)))

    async def push(self, gateway_id: str, kind: str, body: dict[str, Any]) -> None:
        await self.publish(f"hearth/{gateway_id}/down/{kind}", json.dumps(body).encode())

    def statuses(self, gateway_id: str) -> list[str]:
        return [body["status"] for topic, body in self.messages if topic == f"hearth/{gateway_id}/status"]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [r for topic, body in self.messages if topic.endswith(f"/up/{stream}") for r in body["records"]]


@pytest.fixture
async def cloud(broker: Mosquitto) -> AsyncIterator[Cloud]:
    c = await Cloud(broker.port).start()
    yield c
    await c.stop()


@pytest.fixture
async def box(tmp_path: Path, broker: Mosquitto) -> AsyncIterator[GatewayClient]:
    client = GatewayClient(HearthProcess(tmp_path / "data", env=cloud_env(broker.port)), "virtual")
    await client.open()
    yield client
    await client.close()
    client.proc.kill()


def exec_ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["record"]["execId"] for r in records if r["record"].get("name") == "ExecutionRegisteredEvent"}


async def test_topic_contract_and_records(box: GatewayClient, cloud: Cloud) -> None:
    gw = box.proc.gateway_id
    status = await wait_for(lambda: [b for t, b in cloud.messages if t == f"hearth/{gw}/status"], timeout=10)
    assert status[-1]["status"] == "online"
    registration = await wait_for(lambda: [b for t, b in cloud.messages if t.endswith("/up/registration")])
    assert registration[-1]["gatewayId"] == gw and len(registration[-1]["devices"]) == 34
    outcome = await box.run(box.url("3"), "setIntensity", 40)
    assert outcome["newState"] == "COMPLETED"
    records = await wait_for(
        lambda: [
            r
            for r in cloud.records("executions")
            if r["record"].get("execId") == outcome["execId"] and r["record"].get("newState") == "COMPLETED"
        ],
        timeout=10,
    )
    assert records[0]["eventId"] and records[0]["seq"] > 0
    # Telemetry: the lamp's new level, once per window.
    level = await wait_for(
        lambda: [
            r
            for r in cloud.records("states")
            if r["record"]["deviceURL"] == box.url("3") and r["record"]["name"] == "core:LightIntensityState"
        ],
        timeout=10,
    )
    assert level[-1]["record"]["value"] == 40
    # The sync's state through the End-User API: connected, nothing left to send.
    assert (await box.api.get(f"/setup/gateways/{gw}/aliveAndReady")).json() == {"result": True}
    await wait_for(lambda: _nothing_pending(box), timeout=10)
    gateway = (await box.api.get(f"/setup/gateways/{gw}")).json()
    assert gateway["connectivity"]["status"] == "OK"
    # Per stream, in seq order, no record twice.
    for stream in ("executions", "states", "events"):
        seqs = [r["seq"] for r in cloud.records(stream)]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))


async def _pending(box: GatewayClient) -> bool:
    gw = box.proc.gateway_id
    answer = (await box.api.get(f"/setup/gateways/{gw}/synchronization/pendingTasks")).json()
    return bool(answer["result"])


async def _nothing_pending(box: GatewayClient) -> bool:
    return not await _pending(box)


async def test_a_command_pushed_twice_runs_once(box: GatewayClient, cloud: Cloud) -> None:
    gw = box.proc.gateway_id
    await wait_for(lambda: [b for t, b in cloud.messages if t == f"hearth/{gw}/status"], timeout=10)
    command = {
        "id": "cmd-42",
        "actionGroup": {
            "label": "from the cloud",
            "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "on"}]}],
        },
    }
    await cloud.push(gw, "exec", command)
    await cloud.push(gw, "exec", command)

    def results() -> list[dict[str, Any]]:
        return [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == "cmd-42"]

    # One result per delivery, the same execution in both.
    await wait_for(lambda: len(results()) >= 2, timeout=15)
    await asyncio.sleep(0.5)
    assert len(results()) == 2 and results()[0]["execId"] == results()[1]["execId"]
    registered = [
        r
        for r in cloud.records("executions")
        if r["record"].get("name") == "ExecutionRegisteredEvent" and r["record"].get("label") == "from the cloud"
    ]
    assert len(registered) == 1
    assert await box.state(box.url("9"), "core:OnOffState") == "on"
    # Hostile or wrong input: refused in the API's words, nothing run, nothing crashed.
    await cloud.push(
        gw,
        "exec",
        {
            "id": "cmd-bad",
            "actionGroup": {"label": "x", "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "explode"}]}]},
        },
    )
    bad = await wait_for(
        lambda: [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == "cmd-bad"],
        timeout=10,
    )
    assert bad[0]["error"]["errorCode"] in ("UNSUPPORTED_OPERATION", "INVALID_FIELD_VALUE")
    assert (await box.api.get("/setup")).status_code == 200


async def test_offline_then_back_loses_nothing(
    tmp_path: Path, box: GatewayClient, broker: Mosquitto, cloud: Cloud
) -> None:
    gw = box.proc.gateway_id
    await wait_for(lambda: [b for t, b in cloud.messages if t == f"hearth/{gw}/status"], timeout=10)
    await cloud.stop()
    await broker.stop()
    offline = [(await box.run(box.url("9"), name))["execId"] for name in ("off", "on", "off")]
    # Everything local went on; the API says the cloud link is down and records wait.
    assert (await box.api.get(f"/setup/gateways/{gw}/aliveAndReady")).json() == {"result": False}
    assert await wait_for(lambda: _pending(box), timeout=5)
    assert (await box.api.get(f"/setup/gateways/{gw}")).json()["connectivity"]["status"] == "PARTIAL"
    await broker.start()
    again = await Cloud(broker.port).start()
    try:
        await wait_for(lambda: offline[-1] in exec_ids(again.records("executions")), timeout=20)
        assert set(offline) <= exec_ids(again.records("executions"))
    finally:
        await again.stop()


async def test_sigkill_mid_sync_every_record_once_after_dedup(tmp_path: Path, broker: Mosquitto, cloud: Cloud) -> None:
    proc = HearthProcess(tmp_path / "data", env=cloud_env(broker.port))
    box = GatewayClient(proc, "virtual")
    await box.open()
    ran: list[str] = []
    for i in range(20):
        ran.append(await box.apply(box.url("9"), "on" if i % 2 else "off"))
    await asyncio.sleep(0.2)
    gw = proc.gateway_id
    proc.kill()  # mid-sync: some records sent, some acknowledged, some not
    # The broker says so for it: the last will, "offline", retained on its status topic.
    await wait_for(lambda: cloud.statuses(gw)[-1:] == ["offline"], timeout=10)
    await box.api.aclose()
    await box.open()
    try:
        await wait_for(lambda: set(ran) <= exec_ids(cloud.records("executions")), timeout=20)
        records = cloud.records("executions")
        unique = {r["eventId"]: r for r in records}
        # After dedup by eventId: each execution registered once, and per stream in seq order.
        registered = [
            r
            for r in unique.values()
            if r["record"].get("name") == "ExecutionRegisteredEvent" and r["record"]["execId"] in ran
        ]
        assert sorted(r["record"]["execId"] for r in registered) == sorted(ran)
        seqs = [r["seq"] for r in sorted(unique.values(), key=lambda r: r["seq"])]
        first_seen = list(dict.fromkeys(r["seq"] for r in records))
        assert first_seen == sorted(first_seen) and seqs == sorted(seqs)
    finally:
        await box.close()
        proc.kill()


async def test_device_state_changes_reach_the_cloud_in_order(box: GatewayClient, cloud: Cloud) -> None:
    url = box.url("15")
    for value in ("open", "closed", "open"):
        response = await box.api.put(f"/setup/devices/{quote(url, safe='')}/states/core:ContactState/3/{value}")
        assert response.status_code in (200, 204)
        await asyncio.sleep(0.5)
    contact = await wait_for(
        lambda: [r["record"]["value"] for r in cloud.records("states") if r["record"]["deviceURL"] == url][-3:] or None,
        timeout=10,
    )
    assert contact[-1] == "open"


async def test_action_groups_from_the_cloud_with_versions_and_a_conflict(box: GatewayClient, cloud: Cloud) -> None:
    gw = box.proc.gateway_id
    await wait_for(lambda: [b for t, b in cloud.messages if t == f"hearth/{gw}/status"], timeout=10)
    oid = "11111111-2222-3333-4444-555555555555"

    def group(label: str) -> dict[str, Any]:
        return {"label": label, "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "on"}]}]}

    async def result(command_id: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = await wait_for(
            lambda: [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == command_id],
            timeout=10,
        )
        return found[0]

    await cloud.push(gw, "actionGroup", {"id": "ag-1", "oid": oid, "version": 1, "actionGroup": group("Evening")})
    assert (await result("ag-1"))["applied"] == {"oid": oid, "version": 1}
    assert (await box.api.get(f"/actionGroups/{oid}")).json()["label"] == "Evening"
    await cloud.push(gw, "actionGroup", {"id": "ag-2", "oid": oid, "version": 2, "actionGroup": group("Evening 2")})
    assert "applied" in await result("ag-2")
    # An older version is stale: ignored, and said so.
    await cloud.push(gw, "actionGroup", {"id": "ag-old", "oid": oid, "version": 1, "actionGroup": group("Old")})
    assert (await result("ag-old"))["stale"]["applied"] == 2
    # Edited at home, then a new version from the cloud: the home's edit stays, the cloud is told with both.
    local = (await box.api.get(f"/actionGroups/{oid}")).json()
    local["label"] = "Evening (mine)"
    assert (await box.api.put("/actionGroups", json=local)).status_code in (200, 204)
    await asyncio.sleep(0.3)
    await cloud.push(gw, "actionGroup", {"id": "ag-3", "oid": oid, "version": 3, "actionGroup": group("Evening 3")})
    conflict = (await result("ag-3"))["conflict"]
    assert conflict["version"] == 3 and conflict["local"]["label"] == "Evening (mine)"
    assert (await box.api.get(f"/actionGroups/{oid}")).json()["label"] == "Evening (mine)"
    # The cloud merges and sends a newer version: it applies.
    await cloud.push(gw, "actionGroup", {"id": "ag-4", "oid": oid, "version": 4, "actionGroup": group("Merged")})
    assert "applied" in await result("ag-4")
    assert (await box.api.get(f"/actionGroups/{oid}")).json()["label"] == "Merged"
    await cloud.push(gw, "actionGroup", {"id": "ag-5", "oid": oid, "version": 5, "deleted": True})
    assert "applied" in await result("ag-5")
    assert (await box.api.get(f"/actionGroups/{oid}")).status_code == 404


async def test_condition_groups_from_the_cloud(box: GatewayClient, cloud: Cloud) -> None:
    gw = box.proc.gateway_id
    await wait_for(lambda: [b for t, b in cloud.messages if t == f"hearth/{gw}/status"], timeout=10)
    oid = "99999999-2222-3333-4444-555555555555"
    body = {
        "label": "Door open",
        "conditions": [
            {
                "device": {
                    "deviceURL": box.url("15"),
                    "stateName": "core:ContactState",
                    "operator": "EQUALS",
                    "value": "open",
                }
            }
        ],
    }
    await cloud.push(gw, "conditionGroup", {"id": "cg-1", "oid": oid, "version": 7, "conditionGroup": body})
    result = await wait_for(
        lambda: [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == "cg-1"], timeout=10
    )
    assert result[0].get("applied") == {"oid": oid, "version": 7}, result
    assert (await box.api.get(f"/conditionGroups/{oid}")).json()["label"] == "Door open"
    # A malformed one: refused in words, nothing stored.
    await cloud.push(gw, "conditionGroup", {"id": "cg-bad", "oid": "x" * 10, "version": 1})
    bad = await wait_for(
        lambda: [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == "cg-bad"],
        timeout=10,
    )
    assert "error" in bad[0]
    assert (await box.api.get(f"/conditionGroups/{'x' * 10}")).status_code == 404


async def test_tls_and_a_password_from_an_owner_only_file(tmp_path: Path) -> None:
    from hearth.api.tls import ensure_self_signed

    cert, key = ensure_self_signed(tmp_path / "tls", "0000-0000-0000")
    broker = await Mosquitto(tmp_path / "secure", tls=(cert, key), users={"gw": "s3cret-pass"}).start()
    data = tmp_path / "data"
    data.mkdir()
    (data / "cloud-password").write_text("s3cret-pass\n")
    os.chmod(data / "cloud-password", 0o600)
    env = {
        **cloud_env(broker.port),
        "HEARTH_CLOUD__MQTT__TLS": "true",
        "HEARTH_CLOUD__MQTT__CA_FILE": str(cert),
        "HEARTH_CLOUD__MQTT__USERNAME": "gw",
        "HEARTH_CLOUD__MQTT__PASSWORD_FILE": "cloud-password",
    }
    box = GatewayClient(HearthProcess(data, env=env), "virtual")
    await box.open()
    try:
        gw = box.proc.gateway_id
        assert await wait_for(lambda: _alive(box), timeout=15)
        # A wrong password: not connected, said so, and the home goes on.
        (data / "cloud-password").write_text("wrong\n")
        await broker.stop()
        await broker.start()
        await wait_for(lambda: _dead(box), timeout=20)
        await asyncio.sleep(2)  # and it stays so: the broker refuses every attempt
        assert (await box.api.get(f"/setup/gateways/{gw}/aliveAndReady")).json() == {"result": False}
        assert (await box.run(box.url("9"), "on"))["newState"] == "COMPLETED"
    finally:
        await box.close()
        box.proc.kill()
        await broker.stop()
    assert "s3cret-pass" not in "".join(box.proc.output)


async def _dead(box: GatewayClient) -> bool:
    return not await _alive(box)


async def _alive(box: GatewayClient) -> bool:
    gw = box.proc.gateway_id
    return bool((await box.api.get(f"/setup/gateways/{gw}/aliveAndReady")).json()["result"])


async def test_setup_triggers_from_the_cloud(box: GatewayClient, cloud: Cloud) -> None:
    gw = box.proc.gateway_id
    await wait_for(lambda: [b for t, b in cloud.messages if t == f"hearth/{gw}/status"], timeout=10)
    oid = "77777777-2222-3333-4444-555555555555"
    door, plug = box.url("15"), box.url("9")
    trigger = {
        "ifThenSetupTrigger": {
            "label": "door opens: plug on",
            "rootConditionBlock": {
                "staticDeviceStateCondition": {
                    "deviceURL": door,
                    "stateName": "core:ContactState",
                    "operator": "EQUALS",
                    "value1": "open",
                }
            },
            "effects": [
                {
                    "actionGroupEffect": {
                        "localActionGroup": {
                            "label": "plug on",
                            "actions": [{"deviceURL": plug, "commands": [{"name": "on"}]}],
                        }
                    }
                }
            ],
        }
    }
    assert (await box.run(plug, "off"))["newState"] == "COMPLETED"
    await cloud.push(gw, "trigger", {"id": "tr-1", "oid": oid, "version": 1, "trigger": trigger})
    result = await wait_for(
        lambda: [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == "tr-1"], timeout=10
    )
    assert result[0].get("applied") == {"oid": oid, "version": 1}, result
    assert (await box.api.get(f"/triggers/ifThenSetupTrigger/{oid}")).status_code == 200
    # It works here: the door opens, the plug goes on.
    url = quote(door, safe="")
    assert (await box.api.put(f"/setup/devices/{url}/states/core:ContactState/3/open")).status_code in (200, 204)
    assert await wait_for(lambda: _on(box, plug), timeout=10)
    await cloud.push(gw, "trigger", {"id": "tr-2", "oid": oid, "version": 2, "deleted": True})
    await wait_for(
        lambda: [r for r in cloud.records("executions") if r["record"].get("commandId") == "tr-2"], timeout=10
    )
    assert (await box.api.get(f"/triggers/ifThenSetupTrigger/{oid}")).status_code == 404


async def _on(box: GatewayClient, url: str) -> bool:
    return await box.state(url, "core:OnOffState") == "on"


async def test_tls_with_a_client_certificate(tmp_path: Path) -> None:
    from hearth.api.tls import ensure_self_signed

    server_cert, server_key = ensure_self_signed(tmp_path / "server-tls", "0000-0000-0000")
    client_cert, client_key = ensure_self_signed(tmp_path / "client-tls", "1111-1111-1111")
    broker = await Mosquitto(tmp_path / "mtls", tls=(server_cert, server_key), client_ca=client_cert).start()
    env = {**cloud_env(broker.port), "HEARTH_CLOUD__MQTT__TLS": "true", "HEARTH_CLOUD__MQTT__CA_FILE": str(server_cert)}
    without = GatewayClient(HearthProcess(tmp_path / "no-cert", env=env), "virtual")
    with_cert = GatewayClient(
        HearthProcess(
            tmp_path / "cert",
            env={
                **env,
                "HEARTH_CLOUD__MQTT__CERT_FILE": str(client_cert),
                "HEARTH_CLOUD__MQTT__KEY_FILE": str(client_key),
            },
        ),
        "virtual",
    )
    try:
        await with_cert.open()
        assert await wait_for(lambda: _alive(with_cert), timeout=15)
        await without.open()
        await asyncio.sleep(2)
        assert not await _alive(without)
    finally:
        for box in (with_cert, without):
            with contextlib.suppress(Exception):
                await box.close()
            box.proc.kill()
        await broker.stop()


async def test_a_command_taken_but_never_run_is_reported_after_a_restart(
    tmp_path: Path, broker: Mosquitto, cloud: Cloud
) -> None:
    proc = HearthProcess(tmp_path / "data", env=cloud_env(broker.port))
    box = GatewayClient(proc, "virtual")
    await box.open()
    await box.close()
    # The state a crash leaves between taking a command (its id on disk) and running it.
    with sqlite3.connect(tmp_path / "data" / "hearth.db") as db:
        db.execute("INSERT INTO inbound_commands (id, received) VALUES ('mqtt:cmd-lost', 0)")
    await box.open()
    try:
        found = await wait_for(
            lambda: [r["record"] for r in cloud.records("executions") if r["record"].get("commandId") == "cmd-lost"],
            timeout=10,
        )
        assert found[0]["error"]["errorCode"] == "INTERRUPTED"
    finally:
        await box.close()
        proc.kill()


async def test_an_execution_closed_at_start_up_reaches_the_cloud_once(
    tmp_path: Path, broker: Mosquitto, cloud: Cloud
) -> None:
    """SIGKILL while an execution waits for a delayed command, restart after it was due: the gateway closes it
    while it starts (TIMED_OUT), before its extensions run; the cloud sync hears that closure, exactly once."""
    env = {**cloud_env(broker.port), "HEARTH_EXECUTOR__MISSED_GRACE_S": "1"}
    proc = HearthProcess(tmp_path / "data", env=env)
    box = GatewayClient(proc, "virtual")
    await box.open()
    try:
        started = await box.api.post(
            "/exec/apply",
            json={"label": "later", "actions": [{"deviceURL": box.url("9"), "commands": [{"name": "on", "delay": 2}]}]},
        )
        exec_id = started.json()["execId"]
        await wait_for(
            lambda: [r for r in cloud.records("executions") if r["record"].get("execId") == exec_id], timeout=10
        )
    finally:
        await box.close()
        proc.kill()  # the execution is unfinished in the journal
    await asyncio.sleep(3.5)  # past its due time and the 1 s grace
    await box.open()
    try:

        def closures() -> list[dict[str, Any]]:
            return [
                r["record"]
                for r in cloud.records("executions")
                if r["record"].get("execId") == exec_id
                and r["record"].get("name") == "ExecutionStateChangedEvent"
                and r["record"].get("newState") == "FAILED"
            ]

        found = await wait_for(closures, timeout=15)
        assert "TIMED_OUT" in json.dumps(found[0]), found[0]
        await asyncio.sleep(1.5)  # a second sync would have sent it again by now
        assert len(closures()) == 1, closures()
    finally:
        await box.close()
        proc.kill()
