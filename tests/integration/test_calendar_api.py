"""The calendar through the API of a real gateway process: each of the 18 operations called with the seed's
own example bodies (placeholders replaced by this gateway's devices and objects), answered with the status
and the response shape the seed documents; its events against the seed's examples; bad input refused in the
API's error format with nothing changed; everything kept across a restart and a SIGKILL; and a time trigger
due while the gateway was killed run once at the next start.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.api_client import ApiClient, api_client
from tests.support.process import UNLIMITED_RATES, HearthProcess
from tests.support.seed_examples import (
    event_example,
    request_example,
    response_example,
    shape_mismatches,
    status_of,
)

LIGHT = "10"
DAYS, RULES, RULE_SET = "/setup/calendar/days", "/setup/calendar/rules", "/setup/calendar/ruleSet"
# Left out of the event comparison: owningPartners and owningPartner (the event streams do not add them yet,
# for any event; the issue lists them among the shape mismatches of every event, another part's work).
EVENT_LEAVE_OUT = frozenset({"owningPartners", "owningPartner"})


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    # One token for the whole module, and its fixture lists rules and days after every test: past the bulk
    # rate limit (100 at once, 20/s) on a fast run (429 seen on Python 3.13).
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-calendar"), env=UNLIMITED_RATES).start()
    yield proc
    proc.kill()


def real(api: ApiClient, body: Any) -> Any:
    """The seed's example with its placeholders replaced by a device and a command of this gateway."""
    body = copy.deepcopy(body)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("deviceURL"), str) and node["deviceURL"].startswith("device URL ("):
                node["deviceURL"] = api.url(LIGHT)
            if node.get("name") == "a command name":
                node.update({"name": "on", "parameters": [], "sensitiveParametersIndexes": []})
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(body)
    return body


@pytest.fixture
async def api(gateway: HearthProcess) -> AsyncIterator[ApiClient]:
    async for client in api_client(gateway):
        yield client
        rules = [r["weeklyCalendarRule"]["oid"] for r in await client.call("GET", RULES)]
        if rules:
            await client.call("POST", f"{RULE_SET}/_delete", rules, status=204)
        for day in await client.call("GET", DAYS):
            await client.call("DELETE", f"{DAYS}/{day['oid']}", status=204)
        await client.call("PUT", "/setup/calendar/status", {"enabled": True})


def assert_shape(ours: Any, seed: Any, leave_out: frozenset[str] = frozenset()) -> None:
    assert shape_mismatches(ours, seed, leave_out=leave_out) == [], ours


async def test_days_with_the_seed_examples(api: ApiClient) -> None:
    body = real(api, request_example("POST", DAYS))
    created = await api.call("POST", DAYS, body, status=status_of("POST", DAYS))
    assert status_of("POST", DAYS) == 201
    assert_shape(created, response_example("POST", DAYS))
    oid = created["calendarDayOID"]
    [event] = await api.events("CalendarDayCreatedEvent")
    assert event["calendarDayOID"] == oid and event["label"] == body["label"] and event["type"] == "WORK_DAY"
    assert event["setupOID"]
    assert_shape(event, event_example("POST", DAYS, "CalendarDayCreatedEvent"), EVENT_LEAVE_OUT)

    [listed] = await api.call("GET", DAYS)
    assert_shape([listed], response_example("GET", DAYS))
    one = await api.call("GET", f"{DAYS}/{oid}")
    assert_shape(one, response_example("GET", f"{DAYS}/{{oid}}"))
    assert one == listed and one["oid"] == oid
    trigger = one["dayTimeTriggers"][0]["startActionGroupTimeTrigger"]
    assert trigger["id"] and trigger["triggerType"] == "DAWN" and trigger["alwaysBeforeHours"] == 5
    assert trigger["localActionGroup"]["oid"] and trigger["localActionGroup"]["label"] == "a managed action group label"

    update = real(api, request_example("PUT", DAYS))
    update.update({"oid": oid, "label": "a work day", "type": "DAY_OFF_AT_HOME"})
    assert await api.call("PUT", DAYS, update, status=status_of("PUT", DAYS)) in ({}, None)
    again = await api.call("GET", f"{DAYS}/{oid}")
    assert again["label"] == "a work day" and again["type"] == "DAY_OFF_AT_HOME"
    assert again["creationTime"] == one["creationTime"] and again["lastUpdateTime"] >= one["lastUpdateTime"]
    [updated] = await api.events("CalendarDayUpdatedEvent")
    assert_shape(updated, event_example("PUT", DAYS, "CalendarDayUpdatedEvent"), EVENT_LEAVE_OUT)

    await api.call("DELETE", f"{DAYS}/{oid}", status=status_of("DELETE", f"{DAYS}/{{oid}}"))
    [deleted] = await api.events("CalendarDayDeletedEvent")
    assert_shape(deleted, event_example("DELETE", f"{DAYS}/{{oid}}", "CalendarDayDeletedEvent"), EVENT_LEAVE_OUT)
    assert deleted["calendarDayOID"] == oid
    assert await api.call("GET", DAYS) == []
    error = await api.call("GET", f"{DAYS}/{oid}", status=404)
    assert error["errorCode"] and error["error"]


async def test_rules_and_rule_sets_with_the_seed_examples(api: ApiClient) -> None:
    # The seed's examples start and end their rules on 0001-01-01 at 01:01: kept only with
    # withTimeValidityChecks=false (which the seed's example passes); by default such a rule is refused.
    body = real(api, request_example("POST", RULES))
    refused = await api.call("POST", RULES, body, status=400)
    assert refused["errorCode"] == "INVALID_FIELD_VALUE" and "ends before it starts" in refused["error"]
    assert await api.call("GET", RULES) == []
    no_checks = {"withTimeValidityChecks": "false"}
    created = await api.call("POST", RULES, body, status=status_of("POST", RULES), params=no_checks)
    assert_shape(created, response_example("POST", RULES))
    oid = created["calendarRuleOID"]
    [event] = await api.events("CalendarRuleCreatedEvent")
    assert_shape(event, event_example("POST", RULES, "CalendarRuleCreatedEvent"), EVENT_LEAVE_OUT)
    assert event["calendarRuleId"] == created["calendarRuleId"] and event["dayType"] == "HOLIDAY"

    [listed] = await api.call("GET", RULES)
    assert_shape([listed], response_example("GET", RULES))
    one = await api.call("GET", f"{RULES}/{oid}")
    assert_shape(one, response_example("GET", f"{RULES}/{{oid}}"))
    rule = one["weeklyCalendarRule"]
    assert rule["oid"] == oid and rule["localCalendarDay"]["type"] == "DAY_OFF_AT_HOME"
    assert rule["calendarDayOID"] == rule["localCalendarDay"]["oid"]

    update = real(api, request_example("PUT", RULES))
    update["weeklyCalendarRule"].update({"oid": oid, "priority": 7})
    await api.call("PUT", RULES, update, status=status_of("PUT", RULES), params=no_checks)
    changed = (await api.call("GET", f"{RULES}/{oid}"))["weeklyCalendarRule"]
    assert changed["priority"] == 7 and changed["localCalendarDay"]["oid"] == rule["localCalendarDay"]["oid"]
    [updated] = await api.events("CalendarRuleUpdatedEvent")
    assert_shape(updated, event_example("PUT", RULES, "CalendarRuleUpdatedEvent"), EVENT_LEAVE_OUT)

    # A rule set: all or none.
    rule_set = real(api, request_example("POST", RULE_SET))
    created_set = await api.call("POST", RULE_SET, rule_set * 2, status=status_of("POST", RULE_SET), params=no_checks)
    assert_shape(created_set, response_example("POST", RULE_SET))
    assert len(created_set["calendarRulesOIDs"]) == 2 and len(set(created_set["calendarRulesIds"])) == 2
    bad_set = [rule_set[0], {"weeklyCalendarRule": {"calendarDayOID": "no such day"}}]
    error = await api.call("POST", RULE_SET, bad_set, status=400, params=no_checks)
    assert "calendarRules[1].weeklyCalendarRule.calendarDayOID" in error["error"]
    assert len(await api.call("GET", RULES)) == 3

    put_set = real(api, request_example("PUT", RULE_SET))
    put_set = [copy.deepcopy(put_set[0]) for _ in created_set["calendarRulesOIDs"]]
    for item, set_oid in zip(put_set, created_set["calendarRulesOIDs"], strict=True):
        item["weeklyCalendarRule"].update({"oid": set_oid, "enabled": True, "finalRule": False})
    await api.call("PUT", RULE_SET, put_set, status=status_of("PUT", RULE_SET), params=no_checks)
    assert status_of("PUT", RULE_SET) == 201
    for set_oid in created_set["calendarRulesOIDs"]:
        assert (await api.call("GET", f"{RULES}/{set_oid}"))["weeklyCalendarRule"]["enabled"] is True

    # Deleting: one unknown oid in the set and nothing is deleted.
    error = await api.call("POST", f"{RULE_SET}/_delete", [*created_set["calendarRulesOIDs"], "nope"], status=404)
    assert error["errorCode"]
    assert len(await api.call("GET", RULES)) == 3
    await api.call(
        "POST", f"{RULE_SET}/_delete", created_set["calendarRulesOIDs"], status=status_of("POST", f"{RULE_SET}/_delete")
    )
    deleted = await api.events("CalendarRuleDeletedEvent")
    assert_shape(deleted[0], event_example("POST", f"{RULE_SET}/_delete", "CalendarRuleDeletedEvent"), EVENT_LEAVE_OUT)
    assert sorted(e["calendarRuleOID"] for e in deleted) == sorted(created_set["calendarRulesOIDs"])
    await api.call("DELETE", f"{RULES}/{oid}", status=status_of("DELETE", f"{RULES}/{{oid}}"))
    assert await api.call("GET", RULES) == []


def epoch_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


async def test_schedule_day_view_and_status(api: ApiClient) -> None:
    work = real(api, request_example("POST", DAYS))  # every field the seed shows, so that the view has them
    work.update({"label": "work", "type": "WORK_DAY"})
    work["dayTimeTriggers"][0]["startActionGroupTimeTrigger"].update(
        {"triggerType": "TIME", "hours": 7, "minutes": 0, "id": "wake", "enabled": True}
    )
    day_oid = (await api.call("POST", DAYS, work, status=201))["calendarDayOID"]
    today = date.today()
    weekday_rule = {"weeklyCalendarRule": {"calendarDayOID": day_oid, "dayMask": 0b0111110, "priority": 1}}
    rule_oid = (await api.call("POST", RULES, weekday_rule, status=201))["calendarRuleOID"]

    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    sunday = monday - timedelta(days=1)
    schedule = await api.call("GET", f"/setup/calendar/schedule/{epoch_day(sunday)}/{epoch_day(monday)}")
    assert_shape(
        schedule[next(iter(schedule))],
        next(iter(response_example("GET", "/setup/calendar/schedule/{startDate}/{endDate}").values())),
    )
    assert list(schedule.values()) == [
        {"calendarDays": [], "calendarRules": []},
        {"calendarDays": [day_oid], "calendarRules": [rule_oid]},
    ]
    local_midnight = int(datetime(monday.year, monday.month, monday.day).astimezone().timestamp() * 1000)
    assert list(schedule)[1] == str(local_midnight)
    path = f"/setup/calendar/schedule/{monday.year}/{monday.month}/{monday.day}"
    on_day = await api.call("GET", path)
    assert_shape(on_day, response_example("GET", "/setup/calendar/schedule/{year}/{month}/{day}"))
    assert on_day == {"calendarDays": [day_oid], "calendarRules": [rule_oid]}

    seed_filter = request_example("POST", "/setup/calendar/schedule/{year}/{month}/{day}/dayView")
    view = await api.call(
        "POST",
        f"{path}/dayView",
        seed_filter,
        status=status_of("POST", "/setup/calendar/schedule/{year}/{month}/{day}/dayView"),
    )
    assert_shape(view, response_example("POST", "/setup/calendar/schedule/{year}/{month}/{day}/dayView"))
    assert [t["startActionGroupTimeTrigger"]["id"] for t in view["dayTimeTriggers"]] == ["wake"]
    assert view["type"] == "WORK_DAY"
    filtered = await api.call("POST", f"{path}/dayView", {"timeTriggersId": ["wake"]}, status=201)
    assert filtered["dayTimeTriggers"] == []
    assert [d["oid"] for d in await api.call("GET", DAYS)] == [day_oid]  # a view: nothing kept

    status = await api.call("GET", "/setup/calendar/status")
    assert_shape(status, response_example("GET", "/setup/calendar/status"))
    assert status == {"enabled": True}
    await api.call("PUT", "/setup/calendar/status", request_example("PUT", "/setup/calendar/status"))
    assert await api.call("GET", "/setup/calendar/status") == {"enabled": False}
    [switch] = await api.events("GatewayFunctionChangedEvent")
    assert_shape(switch, event_example("PUT", "/setup/calendar/status", "GatewayFunctionChangedEvent"), EVENT_LEAVE_OUT)
    assert switch["functionType"] == 2 and switch["enabled"] is False


async def everything(api: ApiClient) -> tuple[Any, ...]:
    return await api.call("GET", DAYS), await api.call("GET", RULES), await api.call("GET", "/setup/calendar/status")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", DAYS, {"type": "SUNDAY"}),
        ("POST", DAYS, {"dayTimeTriggers": [{"startActionGroupTimeTrigger": {"hours": 7, "actionGroupOID": "none"}}]}),
        (
            "POST",
            DAYS,
            {
                "dayTimeTriggers": [
                    {
                        "startActionGroupTimeTrigger": {
                            "hours": 7,
                            "localActionGroup": {
                                "actions": [{"deviceURL": "virtual://0000-0000-0000/999", "commands": [{"name": "on"}]}]
                            },
                        }
                    }
                ]
            },
        ),
        ("POST", DAYS, [1, 2]),
        ("PUT", DAYS, {"label": "no oid"}),
        ("PUT", DAYS, {"oid": "unknown", "label": "x"}),
        ("POST", RULES, {"weeklyCalendarRule": {"calendarDayOID": "unknown"}}),
        ("POST", RULES, "text"),
        ("POST", RULE_SET, []),
        ("PUT", RULES, {"weeklyCalendarRule": {"calendarDayOID": "x"}}),
        ("POST", f"{RULE_SET}/_delete", [3]),
        ("GET", "/setup/calendar/schedule/20/10", None),
        ("GET", "/setup/calendar/schedule/0/100000", None),
        ("GET", "/setup/calendar/schedule/2023/2/29", None),
        ("GET", "/setup/calendar/schedule/2024/²/1", None),
        ("POST", "/setup/calendar/schedule/2024/2/29/dayView", {"priority": "high"}),
        ("PUT", "/setup/calendar/status", {"enabled": "yes"}),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(api: ApiClient, method: str, path: str, body: Any) -> None:
    before = await everything(api)
    response = await api.http.request(method, path, json=body)
    assert response.status_code in (400, 404), response.text
    error = response.json()
    assert set(error) == {"errorCode", "error"} and error["error"]
    assert await everything(api) == before
    assert [e for e in await api.events("CalendarDayCreatedEvent")] == []


async def test_a_day_in_use_cannot_be_deleted(api: ApiClient) -> None:
    day = (await api.call("POST", DAYS, {"label": "d"}, status=201))["calendarDayOID"]
    await api.call("POST", RULES, {"weeklyCalendarRule": {"calendarDayOID": day}}, status=201)
    error = await api.call("DELETE", f"{DAYS}/{day}", status=400)
    assert "used by the calendar rule" in error["error"]
    assert [d["oid"] for d in await api.call("GET", DAYS)] == [day]


async def test_kept_across_a_restart_and_a_kill(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A time trigger due while the gateway is killed runs once at the next start (within the grace)."""
    proc = HearthProcess(tmp_path_factory.mktemp("hearth-calendar-kill")).start()
    try:
        async for api in api_client(proc):
            # The next whole minute, at least 5 s away.
            due = datetime.now().astimezone().replace(second=0, microsecond=0) + timedelta(minutes=1)
            if (due - datetime.now().astimezone()).total_seconds() < 5:
                due += timedelta(minutes=1)
            day = {
                "label": "now",
                "type": "HOLIDAY",
                "dayTimeTriggers": [
                    {
                        "startActionGroupTimeTrigger": {
                            "triggerType": "TIME",
                            "hours": due.hour,
                            "minutes": due.minute,
                            "id": "soon",
                            "localActionGroup": {
                                "label": "soon",
                                "actions": [{"deviceURL": proc.device_url(LIGHT), "commands": [{"name": "on"}]}],
                            },
                        }
                    }
                ],
            }
            day_oid = (await api.call("POST", DAYS, day, status=201))["calendarDayOID"]
            rule = await api.call("POST", RULES, {"weeklyCalendarRule": {"calendarDayOID": day_oid}}, status=201)
            days_before, rules_before = await api.call("GET", DAYS), await api.call("GET", RULES)
        proc.kill()  # SIGKILL: the next run was written before the wait, nothing else
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()) + 2)
        proc.start()
        async for api in api_client(proc):
            assert await api.call("GET", DAYS) == days_before
            assert await api.call("GET", RULES) == rules_before
            history = await wait_for(lambda a=api: _planning_runs(a), timeout=10)
            assert [(h["label"], h["executionSubType"]) for h in history] == [("soon", "TIME_TRIGGER")]
            # A graceful restart: nothing runs twice, everything is still there.
            proc.stop()
            proc.start()
        async for api in api_client(proc):
            await asyncio.sleep(1)
            assert [h["label"] for h in await _planning_runs(api)] == ["soon"]
            assert [r["weeklyCalendarRule"]["oid"] for r in await api.call("GET", RULES)] == [rule["calendarRuleOID"]]
    finally:
        proc.kill()


async def _planning_runs(api: ApiClient) -> list[dict[str, Any]]:
    executions = await api.call("GET", "/history/executions")
    return [e for e in executions if e.get("executionType") == "Planning"]
