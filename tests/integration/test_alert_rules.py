"""Edge alert rules through the API of a real gateway: an hourly MEAN on a virtual thermometer goes true and
false, runs its action group once per change, survives a SIGKILL; the validation codes; the history queries.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import wait_for
from tests.support.process import HearthProcess

EXT = "/ext/airvantage"
RULES = f"{EXT}/api/v2/alertrules"
TRIGGERS = f"{EXT}/api/v1/operations/triggers"
STATES = f"{EXT}/api/v2/alertstates"
WINDOW_MS = 100


def client(proc: HearthProcess, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=proc.base_url, verify=False, timeout=10, headers={"Authorization": f"Bearer {token}"}
    )


def mean_rule(url: str, threshold: float = 25) -> dict[str, Any]:
    return {
        "targetType": "SYSTEM",
        "name": "Living room warm (hourly mean)",
        "message": "too warm",
        "stateful": True,
        "active": True,
        "emails": [],
        "notifMode": "WHEN_STATE_CHANGES",
        "conditions": [
            {
                "operator": "GREATER_THAN",
                "operands": [
                    {"attributeId": {"targetId": url, "name": "AGG.core:TemperatureState/H"}, "function": "MEAN"},
                    {"valueNum": threshold},
                ],
            }
        ],
    }


async def play(api: httpx.AsyncClient, url: str, value: float) -> None:
    response = await api.put(f"/setup/devices/{quote(url, safe='')}/states/core:TemperatureState/2/{value}")
    assert response.status_code == 200, response.text


async def triggered_runs(api: httpx.AsyncClient, oid: str) -> list[dict[str, Any]]:
    history = (await api.get("/history/executions")).json()
    return [e for e in history if e.get("actionGroupOID") == oid and e["executionSubType"] == "IFT_CONDITION"]


async def state_of(api: httpx.AsyncClient, url: str, rule_id: str) -> dict[str, Any] | None:
    items = (await api.get(STATES, params={"targetId": url, "ruleId": rule_id})).json()["items"]
    return items[0] if items else None


async def test_hourly_mean_goes_true_and_false_runs_once_per_change_and_survives_sigkill(tmp_path: Any) -> None:
    # The hourly bucket must not end in the middle of the test.
    if time.time() % 3600 > 3600 - 20:
        await asyncio.sleep(3600 - time.time() % 3600 + 1)
    proc = HearthProcess(tmp_path / "data", env={"HEARTH_STORE__BATCH_WINDOW_MS": str(WINDOW_MS)}).start()
    token = proc.first_token
    assert token
    url = proc.device_url("5")
    try:
        async with client(proc, token) as api:
            group = await api.post(
                "/actionGroups",
                json={
                    "label": "warm: light",
                    "actions": [{"deviceURL": proc.device_url("10"), "commands": [{"name": "on"}]}],
                },
            )
            oid = group.json()["actionGroupOID"]
            rule = (await api.post(RULES, json=mean_rule(url))).json()
            rule_id = rule["id"]
            assert len(rule_id) == 32 and rule["cloudOnly"] is False
            trigger = await api.post(
                TRIGGERS,
                json={
                    "type": "ON_ALERT_STATE_CHANGE",
                    "filter": rule_id,
                    "operationType": "RUN_ACTION_GROUP",
                    "parameters": {"actionGroupOID": oid},
                },
            )
            assert trigger.status_code == 200, trigger.text
            listener = (await api.post("/events/register")).json()["id"]

            await play(api, url, 30)  # mean 30 > 25: true
            first = await wait_for(lambda: state_of(api, url, rule_id))
            assert first["state"] is True and first["firstAlertId"] == first["lastAlertId"]
            await wait_for(lambda: triggered_runs(api, oid))
            await play(api, url, 32)  # mean 31: still true, another alert, no run
            await wait_for(lambda: _last_alert_changed(api, url, rule_id, first["lastAlertId"]))
            events = (await api.post(f"/events/{listener}/fetch")).json()
            notes = [e for e in events if e["name"] == "AlertNotificationEvent"]
            assert [(n["ruleId"], n["targetId"], n["state"], n["stateChanged"]) for n in notes] == [
                (rule_id, url, True, True)
            ]
            assert any(e["name"] == "GroupTriggeredEvent" and e["triggerId"] == trigger.json()["uid"] for e in events)
            await asyncio.sleep(3 * WINDOW_MS / 1000)  # the aggregate's batch lands

        proc.kill()
        proc.start()
        async with client(proc, token) as api:
            after = await state_of(api, url, rule_id)
            assert after is not None and after["state"] is True
            assert (after["stateChangeTs"], after["firstAlertId"]) == (first["stateChangeTs"], first["firstAlertId"])
            assert len(await triggered_runs(api, oid)) == 1
            await play(api, url, 10)  # mean (30 + 32 + 10) / 3 = 24: false, the bucket survived the kill
            await wait_for(lambda: _state_is(api, url, rule_id, False))
            await play(api, url, 11)  # mean 20.75: still false, nothing more
            runs = await wait_for(lambda: _runs_at_least(api, oid, 2))
            await asyncio.sleep(0.5)
            runs = await triggered_runs(api, oid)
            assert len(runs) == 2 and all(r["state"] == "COMPLETED" for r in runs)
            assert {r["executionType"] for r in runs} == {"Raw trigger (Gateway)"}

            # History: three alerts (30 true, 32 true, 10 false), two flips.
            alerts = (await api.get(f"{EXT}/api/v3/alerts/history", params={"targetId": url})).json()["items"]
            assert [a["state"] for a in alerts] == [False, True, True]  # newest first
            assert alerts[0]["attributes"][0]["value"]["valueAgg"]["cnt"] == 3
            assert alerts[0]["attributes"][0]["value"]["valueAgg"]["mean"] == pytest.approx(24)
            flips = (await api.get(f"{STATES}/history", params={"ruleIds": rule_id, "asc": "true"})).json()["items"]
            assert [f["state"] for f in flips] == [True, False]
            t_true, t_false = flips[0]["ts"], flips[1]["ts"]
            assert flips[0]["firstAlertId"] == first["firstAlertId"]

            async def window(**params: Any) -> list[bool]:
                got = (await api.get(f"{STATES}/history", params={"ruleIds": rule_id, **params})).json()["items"]
                return [f["state"] for f in got]

            # asc=true is [from, to[, asc=false is ]from, to].
            assert await window(asc="true", **{"from": t_true, "to": t_false}) == [True]
            assert await window(asc="false", **{"from": t_true, "to": t_false}) == [False]
            assert await window(asc="true", **{"from": t_true, "to": t_false + 1}) == [True, False]
            assert await window(asc="false", **{"from": t_true - 1, "to": t_false}) == [False, True]
            bad = await api.get(f"{STATES}/history", params={"from": t_false, "to": t_true})
            assert bad.status_code == 400 and bad.json()["errorCode"] == "system.invalid.timerange"

            current = (await api.get(f"{EXT}/api/v3/alerts/current", params={"state": "false"})).json()
            assert current["count"] == 1 and current["items"][0]["targetId"] == url
            assert current["items"][0]["attributes"][0]["id"]["name"] == "AGG.core:TemperatureState/H"
            bad = await api.get(f"{EXT}/api/v3/alerts/current", params={"ruleId": rule_id})
            assert bad.status_code == 400 and bad.json()["errorCode"] == "alert.invalid.criteria"
    finally:
        proc.kill()


async def _last_alert_changed(api: httpx.AsyncClient, url: str, rule_id: str, previous: str) -> bool:
    state = await state_of(api, url, rule_id)
    return state is not None and state["lastAlertId"] != previous


async def _state_is(api: httpx.AsyncClient, url: str, rule_id: str, value: bool) -> bool:
    state = await state_of(api, url, rule_id)
    return state is not None and state["state"] is value


async def _runs_at_least(api: httpx.AsyncClient, oid: str, count: int) -> list[dict[str, Any]] | None:
    runs = await triggered_runs(api, oid)
    return runs if len(runs) >= count else None


# ----------------------------------------------------------------------------- validation, on the shared gateway


def operand(name: str, **extra: Any) -> dict[str, Any]:
    return {"attributeId": {"name": name}, **extra}


def rule_with(*conditions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"targetType": "SYSTEM", "name": "v", "conditions": list(conditions), **fields}


TEMP = "DATA.core:TemperatureState"
POLYGON = "POLYGON((2.2 48.8, 2.5 48.8, 2.5 48.9, 2.2 48.9, 2.2 48.8))"
INVALID = [
    (rule_with({"operands": [operand(TEMP)]}), "alert.rule.missing.operator"),
    (
        rule_with({"operator": "EQUALS", "operands": [operand(TEMP), {"valueNum": 1, "valueStr": "1"}]}),
        "alert.rule.multiple.operand.type",
    ),
    (rule_with({"operator": "EQUALS", "operands": [operand(TEMP)]}), "alert.rule.invalid.number.of.operands"),
    (
        rule_with({"operator": "GREATER_THAN", "operands": [operand(TEMP), {"valueStr": "20"}]}),
        "alert.rule.invalid.operand.type",
    ),
    (
        rule_with({"operator": "IN", "operands": [operand(TEMP), {"valuesStr": [1, 2]}]}),
        "alert.rule.invalid.operand.type",
    ),
    (
        rule_with({"operator": "GEO_WITHIN", "operands": [operand("DATA._LON_LAT"), {"valueStr": "POLYGON((1 2))"}]}),
        "alert.rule.geo.invalid.wkt",
    ),
    (
        rule_with({"operator": "GEO_WITHIN", "operands": [operand(TEMP), {"valueStr": POLYGON}]}),
        "alert.rule.geo.bad.attribute.id",
    ),
    (
        rule_with(
            {
                "operator": "LESS_THAN",
                "operands": [operand("AGG.core:TemperatureState/H", function="MEDIAN"), {"valueNum": 3}],
            }
        ),
        "alert.rule.invalid.function",
    ),
    (
        rule_with({"operator": "LESS_THAN", "operands": [operand(TEMP, function="MEAN"), {"valueNum": 3}]}),
        "alert.rule.invalid.function",
    ),
    (
        rule_with({"operator": "EQUALS", "operands": [{"valueNum": 3}, operand(TEMP)]}),
        "alert.rule.missing.attr.operand",
    ),
    (rule_with(*[{"operator": "EXISTS", "operands": [operand(TEMP)]}] * 11), "alert.rule.condition.too.many"),
    (
        {**rule_with({"operator": "EXISTS", "operands": [operand(TEMP)]}), "targetType": "HOUSE"},
        "alert.rule.incorrect.target.type",
    ),
    (
        rule_with(
            {
                "operator": "GREATER_THAN",
                "operands": [operand("AGG.VOICE_IN_DURATION/D", function="SUM"), {"valueNum": 60}],
            }
        ),
        "alert.rule.bad.voice.agg.usage",
    ),
]


@pytest.mark.parametrize(("body", "code"), INVALID, ids=[c for _, c in INVALID])
async def test_invalid_rules_are_refused_with_their_code(
    api: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    before = len((await api.get(RULES)).json())
    response = await api.post(RULES, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == code
    assert "conditions" in response.json()["error"] or "targetType" in response.json()["error"]
    assert len((await api.get(RULES)).json()) == before  # nothing changed


async def test_rule_crud_ids_limits_and_cloud_only(api: httpx.AsyncClient, hearth: HearthProcess) -> None:
    exists = rule_with({"operator": "EXISTS", "operands": [operand(TEMP)]})
    made: list[str] = []
    try:
        for name in ("b rule", "a rule"):
            made.append((await api.post(RULES, json={**exists, "name": name})).json()["id"])
        listing = (await api.get(RULES)).json()  # seed 001: a bare array, sorted by name
        names = [r["name"] for r in listing]
        assert isinstance(listing, list) and names == sorted(names)
        one = (await api.get(f"{RULES}/{made[0]}")).json()
        assert one["stateful"] is True and one["notifMode"] == "WHEN_STATE_CHANGES" and one["active"] is True
        replaced = await api.put(f"{RULES}/{made[0]}", json={**exists, "name": "c rule", "stateful": False})
        assert replaced.json()["name"] == "c rule" and replaced.json()["stateful"] is False
        for method in ("put", "delete"):
            response = await api.request(method.upper(), RULES, json=exists)
            assert response.json()["errorCode"] == "alert.rule.missing.id", response.text
        for response in (
            await api.get(f"{RULES}/nope"),
            await api.delete(f"{RULES}/nope"),
            await api.put(f"{RULES}/nope", json=exists),
        ):
            assert response.status_code == 400 and response.json()["errorCode"] == "alert.rule.unknown.id"
        unknown = {
            **exists,
            "conditions": [
                {"operator": "EXISTS", "operands": [{"attributeId": {"name": TEMP, "targetId": "no-such-device"}}]}
            ],
        }
        assert (await api.post(RULES, json=unknown)).json()["errorCode"] == "alert.rule.unknown.target"
        usage = rule_with(
            {
                "operator": "GREATER_THAN",
                "operands": [operand("AGG.DATA_BYTES_TOTAL/D", function="SUM"), {"valueNum": 1024}],
            }
        )
        cloud = (await api.post(RULES, json=usage)).json()
        made.append(cloud["id"])
        assert cloud["cloudOnly"] is True
        company = (await api.post(RULES, json={**exists, "targetType": "COMPANY"})).json()
        made.append(company["id"])
        assert company["cloudOnly"] is True
        # At most 50 rules.
        while len((await api.get(RULES)).json()) < 50:
            made.append((await api.post(RULES, json=exists)).json()["id"])
        too_many = await api.post(RULES, json=exists)
        assert too_many.status_code == 400 and too_many.json()["errorCode"] == "alert.rule.too.many"
    finally:
        for rule_id in made:
            deleted = await api.delete(f"{RULES}/{rule_id}")
            assert deleted.status_code == 200 and deleted.json() == "success"


async def test_operation_trigger_crud_and_codes(api: httpx.AsyncClient, hearth: HearthProcess) -> None:
    group = await api.post(
        "/actionGroups",
        json={
            "label": "trigger crud",
            "actions": [{"deviceURL": hearth.device_url("10"), "commands": [{"name": "off"}]}],
        },
    )
    oid = group.json()["actionGroupOID"]
    rule_id = (await api.post(RULES, json=rule_with({"operator": "EXISTS", "operands": [operand(TEMP)]}))).json()["id"]
    good = {
        "type": "ON_ALERT",
        "filter": rule_id,
        "operationType": "RUN_ACTION_GROUP",
        "parameters": {"actionGroupOID": oid},
    }
    try:
        created = (await api.post(TRIGGERS, json=good)).json()
        uid = created["uid"]
        assert created["type"] == "ON_ALERT" and created["filter"] == rule_id
        assert (await api.get(f"{TRIGGERS}/{uid}")).json() == created
        assert uid in {t["uid"] for t in (await api.get(TRIGGERS)).json()}
        changed = await api.put(f"{TRIGGERS}/{uid}", json={**good, "type": "ON_ALERT_STATE_CHANGE_TRUE"})
        assert changed.json()["type"] == "ON_ALERT_STATE_CHANGE_TRUE"
        cases = [
            ({**good, "type": "ON_SOMETHING"}, "operation.trigger.type.unknown"),
            ({**good, "operationType": "MAKE_COFFEE"}, "operation.trigger.operation.type.unknown"),
            ({**good, "parameters": {"actionGroupOID": "nope"}}, "operation.trigger.parameters.invalid"),
            ({**good, "filter": "nope"}, "alert.rule.unknown.id"),
        ]
        for body, code in cases:
            response = await api.post(TRIGGERS, json=body)
            assert response.status_code == 400 and response.json()["errorCode"] == code, response.text
        assert (await api.get(f"{TRIGGERS}/nope")).json()["errorCode"] == "operation.trigger.unknown"
        assert (await api.delete(f"{TRIGGERS}/{uid}")).status_code == 200
        assert (await api.delete(f"{TRIGGERS}/{uid}")).json()["errorCode"] == "operation.trigger.unknown"
        # A rule's deletion takes its triggers along.
        again = (await api.post(TRIGGERS, json=good)).json()["uid"]
        await api.delete(f"{RULES}/{rule_id}")
        assert (await api.get(f"{TRIGGERS}/{again}")).status_code == 400
    finally:
        await api.delete(f"{RULES}/{rule_id}")
        await api.delete(f"/actionGroups/{oid}")


async def test_reads_need_view_and_writes_admin(hearth: HearthProcess) -> None:
    viewer = hearth.token("view", "alerts viewer")
    async with client(hearth, viewer) as api:
        assert (await api.get(RULES)).status_code == 200
        assert (await api.get(f"{EXT}/api/v3/alerts/history")).status_code == 200
        refused = await api.post(RULES, json=rule_with({"operator": "EXISTS", "operands": [operand(TEMP)]}))
        assert refused.status_code == 403 and refused.json()["errorCode"] == "RESOURCE_ACCESS_DENIED"
