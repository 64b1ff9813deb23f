"""The fake clouds answer what the seeds document, no more: every JSON body each fake serves is checked against the
example shapes parsed from the seed files (their kind, a bare array or an object, and their keys), and the
AirVantage task lists against the seed's "If fields parameter is missing, only the following attributes ..."."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.peers.clouds.airvantage import AirVantageState
from tests.peers.clouds.airvantage import build_app as airvantage_app
from tests.peers.clouds.bagtower import BagtowerState, FakeCloud
from tests.peers.clouds.bagtower import build_app as bagtower_app
from tests.peers.clouds.smartsolar import SmartSolarState
from tests.peers.clouds.smartsolar import build_app as smartsolar_app
from tests.support.seeds import (
    AIRVANTAGE_V1,
    AIRVANTAGE_V2,
    BAGTOWER,
    SMARTSOLAR,
    default_fields,
    example_keys,
    example_kind,
    json_block,
    keys_of,
    seed_text,
)

pytestmark = pytest.mark.timeout(60)
SYSTEM = "9196f4944c294a168ae5d72f5d0007bf"


class Shape:
    """A documented answer: its kind (list or dict) and the keys its examples name."""

    def __init__(self, kind: type, keys: set[str]) -> None:
        self.kind, self.keys = kind, keys

    @classmethod
    def of(cls, text: str, *markers: str) -> Shape:
        blocks = [json_block(text, m) for m in markers]
        return cls(example_kind(blocks[0]), set().union(*map(example_keys, blocks)))

    def check(self, path: str, body: Any) -> None:
        assert isinstance(body, self.kind), f"{path}: the seed documents a {self.kind.__name__}"
        extra = keys_of(body) - self.keys
        assert not extra, f"{path}: keys the seed does not document: {sorted(extra)}"


def check_answers(answers: list[dict[str, Any]], shapes: dict[str, Shape | Callable[[Any], None]]) -> set[str]:
    for answer in answers:
        shape = shapes.get(answer["path"])
        assert shape is not None, f"{answer['path']}: answered, but no seed shape known for it"
        if isinstance(shape, Shape):
            shape.check(answer["path"], answer["body"])
        else:
            shape(answer["body"])
    return {a["path"] for a in answers}


@pytest.fixture
async def served() -> AsyncIterator[Callable[[Any], Any]]:
    clouds: list[FakeCloud] = []

    async def serve(app: Any) -> FakeCloud:
        clouds.append(await FakeCloud(app).start())
        return clouds[-1]

    yield serve
    for cloud in clouds:
        await cloud.stop()


async def test_airvantage_fake_answers_the_seeds_shapes(served: Callable[[Any], Any]) -> None:
    v1, v2 = seed_text(AIRVANTAGE_V1), seed_text(AIRVANTAGE_V2)
    task_defaults = default_fields(v1, "Returns, for a target, a paginated list of tasks")
    assert task_defaults == ["uid", "date", "createdAt", "executedAt", "rank", "state", "target"]
    op_task_defaults = default_fields(v1, "Returns, for an operation, a paginated list of tasks")
    task_keys = example_keys(json_block(v1, "This is a complete representation of a task."))
    rule = Shape.of(
        v2,
        "GET https://na.airvantage.net/api/v2/alertrules?company",
        "This is a complete representation of an AlertRule.",
    )
    rule.keys.add("id")  # read-only, in the list's example
    page_keys = {"items", "count", "size", "offset"}

    def tasks_page(body: Any) -> None:
        assert set(body) == page_keys
        for item in body["items"]:
            assert set(item) <= task_keys | {"executedAt"}, item  # executedAt: in the seed's field table
            assert set(item) == set(task_defaults) or set(item) <= {"uid", "state", "createdAt", "rank", "operation"}, (
                item
            )

    def operation_tasks(body: Any) -> None:
        assert set(body) == page_keys and all(set(i) == set(op_task_defaults) for i in body["items"])

    shapes: dict[str, Shape | Callable[[Any], None]] = {
        "/api/v2/alertrules": rule,
        "/api/v1/alerts/rules/{uid}/hooks": Shape.of(
            v2, "GET https://na.airvantage.net/api/v1/alerts/rules/edcda0dce0fb47948d03fbec5350c18e/hooks\n"
        ),
        "/api/v1/operations/triggers": Shape.of(v1, "GET https://na.airvantage.net/api/v1/operations/triggers\n"),
        "/api/v1/operations/tasks": tasks_page,
        "/api/v1/operations/{uid}": Shape.of(
            v1,
            "GET https://na.airvantage.net/api/v1/operations/0f3919fd1ac0403ab9e70ae2c3729a21\n",
            "This is a complete representation of an Operation.",
            # A command operation's input: the SYSTEM_SEND_COMMAND parameters (the module doc of the fake says why).
            "This is a complete representation of an operation trigger.",
        ),
        "/api/v1/operations/{uid}/tasks": operation_tasks,
        "/api/v1/operations/{uid}/cancel": Shape.of(
            v1, "POST https://na.airvantage.net/api/v1/operations/0f3919fd1ac0403ab9e70ae2c3729a21/cancel\n"
        ),
        "/api/v1/operations/{uid}/retry": Shape.of(
            v1, "POST https://na.airvantage.net/api/v1/operations/0f3919fd1ac0403ab9e70ae2c3729a21/retry\n"
        ),
    }
    state = AirVantageState(token="t", system_uid=SYSTEM)
    rule_id = "0f3919fd1ac0403ab9e70ae2c3729a21"
    state.rules.append(
        {
            "id": rule_id,
            "targetType": "SYSTEM",
            "name": "Daily usage exceeded",
            "message": "m",
            "active": True,
            "emails": [],
            "conditions": [
                {
                    "operator": "GREATER_THAN",
                    "operands": [{"attributeId": {"name": "DATA.temp"}, "function": None}, {"valueNum": 1024}],
                }
            ],
        }
    )
    state.hooks[rule_id] = [{"callback": "http://www.mysite.com/callback", "uid": "b88c03b43db74cacaab266e5c4481559"}]
    state.triggers.append(
        {
            "uid": "984f47c347df411ea101f0f90ab65cd8",
            "type": "ON_ALERT",
            "filter": rule_id,
            "operationType": "SYSTEM_APPLY_SETTINGS",
            "email": "bob@m2mop.net",
            "notify": True,
            "callback": None,
            "parameters": {"templateId": "75c012c806ab4ce8ad0a4e1171bda440"},
        }
    )
    first = state.send_command("home.ChangeTemperature", {"Temperature": 20})
    second = state.send_command("home.ChangeTemperature", {"Temperature": 21}, rank=1)
    cloud = await served(airvantage_app(state))
    async with httpx.AsyncClient(base_url=cloud.url, headers={"Authorization": "Bearer t"}) as http:
        for path in ("/api/v2/alertrules", f"/api/v1/alerts/rules/{rule_id}/hooks", "/api/v1/operations/triggers"):
            assert (await http.get(path)).status_code == 200
        assert (await http.get("/api/v1/operations/tasks", params={"target": SYSTEM})).status_code == 200
        assert (
            await http.get(
                "/api/v1/operations/tasks", params={"target": SYSTEM, "fields": "uid,state,createdAt,operation"}
            )
        ).status_code == 200
        op = state.tasks[first]["operation"]["uid"]
        assert (await http.get(f"/api/v1/operations/{op}")).status_code == 200
        assert (await http.get(f"/api/v1/operations/{op}/tasks")).status_code == 200
        cancelled = await http.post(
            f"/api/v1/operations/{state.tasks[second]['operation']['uid']}/tasks/{second}/cancel"
        )
        assert cancelled.status_code == 200 and cancelled.content == b""  # "200 OK Content-Length: 0"
        assert (await http.post(f"/api/v1/operations/{op}/cancel")).status_code == 200
        assert (await http.post(f"/api/v1/operations/{op}/retry")).status_code == 200
    # Rules and hooks come as bare arrays, tasks without fields= have the default attributes only.
    assert check_answers(state.answers, shapes) == set(shapes)
    plain = next(a["body"] for a in state.answers if a["path"] == "/api/v1/operations/tasks")
    assert [set(i) for i in plain["items"]] == [set(task_defaults)] * 2


async def test_bagtower_fake_answers_the_seeds_shapes(served: Callable[[Any], Any]) -> None:
    seed = seed_text(BAGTOWER)
    shapes: dict[str, Shape | Callable[[Any], None]] = {
        "/devices": Shape.of(seed, "Get device with device id and company"),
        "/devices/{id}": Shape.of(seed, "Get device with device id and company", "Delete a device given the deviceId"),
        "/devices/{id}/apikey": Shape.of(seed, "id required | string Unique if of the device |"),
        "/logs": Shape.of(seed, "Post a log using a pool key"),
    }
    assert shapes["/logs"].keys == {"period", "deviceId"}
    assert shapes["/devices/{id}/apikey"].keys == {"name", "id", "value", "enabled"}
    state = BagtowerState(user_token="u")
    cloud = await served(bagtower_app(state))
    user = {"Authorization": "Bearer u"}
    async with httpx.AsyncClient(base_url=cloud.url) as http:
        body = {
            "deviceId": "d1",
            "deviceName": "Plug",
            "companyId": "acme",
            "period": 60,
            "group": "hearth",
            "tags": ["zigbee"],
            "enabled": True,
        }
        assert (await http.post("/devices", json=body, headers=user)).status_code == 201
        key = (await http.get("/devices/d1/apikey", headers=user)).json()["value"]
        log = {
            "unixTimestamp": 1,
            "UTCTimestamp": "1970-01-01T00:00:01Z",
            "deviceId": "d1",
            "data": [{"id": "temp", "type": "number", "val": "21.5"}],
        }
        assert (await http.post("/logs", json=log, headers={"x-api-key": key})).status_code == 200
        updated = await http.put(
            "/devices/d1", json={**body, "deviceName": "Kettle"}, headers=user, params={"companyId": "acme"}
        )
        assert updated.status_code == 200
        deleted = await http.delete("/devices/d1", headers=user, params={"companyId": "acme"})
        assert deleted.status_code == 200 and deleted.json() == {}  # the seed's "{ }"
    assert check_answers(state.answers, shapes) == set(shapes)


async def test_smartsolar_fake_answers_the_seeds_shapes(served: Callable[[Any], Any]) -> None:
    seed = seed_text(SMARTSOLAR)
    envelope = {"status", "message", "data"}
    login = Shape(
        dict,
        example_keys(
            json_block(seed, "A simple\nPOST\nrequest with correct details yields the following response:", then=">>>")
        ),
    )
    lock = Shape(
        dict,
        example_keys(
            json_block(seed, 'url = "https://smartapi.bboxx.co.uk/v1/products/000000000000/lock_software"', then=">>>")
        ),
    )
    wakeup = Shape(
        dict,
        example_keys(
            json_block(seed, 'url = "https://smartapi.bboxx.co.uk/v1/products/000000000000/send_wakeup"', then=">>>")
        ),
    )
    force = Shape(
        dict,
        example_keys(
            json_block(
                seed, 'url = "https://smartapi.bboxx.co.uk/v1/products/000000000000/force_connection"', then=">>>"
            )
        ),
    )
    assert force.keys == envelope
    assert {"login_successful", "API_token", "token_expiry"} <= login.keys and "data" not in login.keys

    def in_envelope(body: Any) -> None:
        assert set(body) == envelope

    def undocumented_rc_data(body: Any) -> None:
        # The seed shows no rc_data body: the envelope (the seed's, for every action) with our documented choice.
        assert set(body) == envelope and set(body["data"] or {}) <= {
            "enable_status",
            "capacity_limit",
            "software",
            "software_lock",
            "payment_commands",
        }

    shapes: dict[str, Shape | Callable[[Any], None]] = {
        "/v1/auth/login": login,
        "/v1/products/{imei}/data": lambda body: (in_envelope(body), _written(body["message"])),
        "/v1/products/{imei}/enable": in_envelope,
        "/v1/products/{imei}/update_software": in_envelope,
        "/v1/products/{imei}/lock_software": lock,
        "/v1/products/{imei}/send_wakeup": wakeup,
        "/v1/products/{imei}/force_connection": force,
        "/v1/products/{imei}/add_payment_command": in_envelope,
        "/v1/products/{imei}/rc_data": undocumented_rc_data,
    }
    state = SmartSolarState(username="u", password="p", imei="013950005303699")
    cloud = await served(smartsolar_app(state))
    unit = await served(_unit())
    state.nudge_url = f"{unit.url}/hook"
    async with httpx.AsyncClient(base_url=cloud.url) as http:
        token = (await http.post("/v1/auth/login", data={"username": "u", "password": "p"})).json()["message"][
            "login_successful"
        ]["API_token"]
        auth = {"Authorization": f"Token token={token}"}
        base = "/v1/products/013950005303699"
        written = await http.post(
            f"{base}/data",
            json={"measurement": "telemetry", "tags": {}, "fields": {"current": [[1472688000000, 1.0]]}},
            headers=auth,
        )
        assert written.status_code == 200
        for action, body in (
            ("disable", None),
            ("update_software", {"software": "2.16"}),
            ("lock_software", {"software": "2.15"}),
        ):
            assert (await http.put(f"{base}/{action}", json=body, headers=auth)).status_code == 200
        assert (
            await http.post(
                f"{base}/add_payment_command",
                json={"transaction_id": "t1", "category": "payment", "value": 60},
                headers=auth,
            )
        ).status_code == 201
        for nudge in ("send_wakeup", "force_connection"):
            assert (await http.post(f"{base}/{nudge}", headers=auth)).status_code == 200
        assert (await http.post(f"{base}/rc_data", json={"enable_status": "enabled"}, headers=auth)).status_code == 200
        assert (await http.get(f"{base}/rc_data", headers=auth)).status_code == 200
    assert check_answers(state.answers, shapes) == set(shapes)


def _written(message: str) -> None:
    assert message.endswith("data-point(s) successfully written to influx"), message


def _unit() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/hook")
    async def hook() -> dict[str, str]:
        return {}

    return app
