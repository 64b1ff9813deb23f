"""The alert engine inside a real gateway (virtual demo house, real SQLite, no API) driven by a ManualClock:
AGG roll-over at the hour, notifMode and trigger types, one AlertState per device, system and geo
attributes, and what a restart finds.
"""

from __future__ import annotations

import calendar
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hearth.alerts import AlertNotificationEvent
from hearth.app import Gateway
from hearth.config import load_settings
from hearth.core.clock import ManualClock
from hearth.model.action import ActionGroup
from hearth.model.events import Event, GroupTriggeredEvent
from tests.bench.common import gateway_env

START = float(calendar.timegm((2024, 5, 1, 10, 58, 0)))
TEMP = "core:TemperatureState"


async def open_gateway(data: Path, clock: ManualClock) -> Gateway:
    gateway = Gateway(load_settings(None, gateway_env(data, house="demo")), clock=clock)
    await gateway.start()
    return gateway


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    gateway = await open_gateway(tmp_path / "data", ManualClock(START))
    yield gateway
    await gateway.stop()


class Seen:
    def __init__(self, gw: Gateway) -> None:
        self.events: list[Event] = []
        gw.bus.subscribe(self.events.append, AlertNotificationEvent, GroupTriggeredEvent)

    def notes(self, rule_id: str) -> list[AlertNotificationEvent]:
        return [e for e in self.events if isinstance(e, AlertNotificationEvent) and e.rule_id == rule_id]

    def runs(self, trigger_uid: str) -> int:
        return sum(1 for e in self.events if isinstance(e, GroupTriggeredEvent) and e.trigger_id == trigger_uid)


def url(gw: Gateway, address: str) -> str:
    return f"virtual://{gw.identity.gateway_id}/{address}"


def report(gw: Gateway, address: str, values: dict[str, Any]) -> None:
    device = gw.registry.get(url(gw, address))
    assert device is not None
    gw.states.report(device, values, strict=False)


def rule(condition: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"targetType": "SYSTEM", "name": "r", "conditions": [condition], **fields}


def greater(name: str, value: float, target: str | None = None, function: str | None = None) -> dict[str, Any]:
    first: dict[str, Any] = {"attributeId": {"name": name, "targetId": target}}
    if function:
        first["function"] = function
    return {"operator": "GREATER_THAN", "operands": [first, {"valueNum": value}]}


async def test_hourly_mean_rolls_over_with_the_clock(gw: Gateway) -> None:
    clock = gw.clock
    assert isinstance(clock, ManualClock)
    sensor = url(gw, "5")
    made = await gw.alerts.create_rule(rule(greater(f"AGG.{TEMP}/H", 25, sensor, "MEAN")))
    report(gw, "5", {TEMP: 30.0})
    report(gw, "5", {TEMP: 22.0})  # mean 26: still true
    state = gw.alerts.state_of(made.id, sensor)
    assert state is not None and state.state is True
    assert state.attributes[0]["value"]["valueAgg"] == {"min": 22.0, "max": 30.0, "cnt": 2, "sum": 52.0, "mean": 26.0}
    await clock.advance(121)  # 11:00 passes: the hour's bucket empties, the mean is unknown
    await gw.alerts.drained()
    state = gw.alerts.state_of(made.id, sensor)
    assert state is not None and state.state is False
    assert state.state_change_ts == calendar.timegm((2024, 5, 1, 11, 0, 0)) * 1000
    report(gw, "5", {TEMP: 20.0})  # a new hour: only this value counts
    assert gw.alerts.state_of(made.id, sensor).state is False  # type: ignore[union-attr]
    report(gw, "5", {TEMP: 40.0})  # mean 30
    assert gw.alerts.state_of(made.id, sensor).state is True  # type: ignore[union-attr]
    flips = await gw.alerts.repo.state_changes(sensor, [made.id], 0, 2**53, True, 10)
    assert [f.state for f in flips] == [True, False, True]
    # The day and the month keep counting across the hour.
    daily = await gw.alerts.create_rule(rule(greater(f"AGG.{TEMP}/D", 3, sensor, "CNT")))
    for value in (1.0, 2.0, 3.0, 4.0):
        report(gw, "5", {TEMP: value})
    await clock.advance(3600)
    assert gw.alerts.state_of(daily.id, sensor).state is True  # type: ignore[union-attr]


async def test_notif_modes_and_trigger_types(gw: Gateway) -> None:
    seen = Seen(gw)
    sensor = url(gw, "5")
    condition = greater(f"DATA.{TEMP}", 25, sensor)
    modes = ["EVERY_TIME", "WHEN_STATE_CHANGES", "WHEN_STATE_TRUE", "WHEN_STATE_FALSE", "IN_ALL_CASES"]
    rules = {mode: (await gw.alerts.create_rule(rule(condition, notifMode=mode))).id for mode in modes}
    stateless = (await gw.alerts.create_rule(rule(condition, stateful=False, notifMode="WHEN_STATE_TRUE"))).id
    oid = await gw.action_groups.create(
        ActionGroup.model_validate(
            {"label": "alert", "actions": [{"deviceURL": url(gw, "10"), "commands": [{"name": "on"}]}]}
        )
    )
    triggers = {}
    for kind in ("ON_ALERT", "ON_ALERT_STATE_CHANGE", "ON_ALERT_STATE_CHANGE_TRUE"):
        made = await gw.alerts.create_trigger(
            {
                "type": kind,
                "filter": rules["EVERY_TIME"],
                "operationType": "RUN_ACTION_GROUP",
                "parameters": {"actionGroupOID": oid},
            }
        )
        triggers[kind] = made.uid
    on_stateless = (
        await gw.alerts.create_trigger(
            {
                "type": "ON_ALERT",
                "filter": stateless,
                "operationType": "RUN_ACTION_GROUP",
                "parameters": {"actionGroupOID": oid},
            }
        )
    ).uid
    cloud = await gw.alerts.create_trigger(
        {"type": "ON_ALERT", "filter": stateless, "operationType": "SYSTEM_SUSPEND", "parameters": {}}
    )
    # raised: T T F F T; flips: T . F . T
    for value in (30.0, 31.0, 20.0, 21.0, 30.0):
        report(gw, "5", {TEMP: value})
    await gw.alerts.drained()
    counts = {mode: len(seen.notes(rule_id)) for mode, rule_id in rules.items()}
    assert counts == {
        "EVERY_TIME": 3,
        "WHEN_STATE_CHANGES": 3,
        "WHEN_STATE_TRUE": 2,
        "WHEN_STATE_FALSE": 1,
        "IN_ALL_CASES": 4,
    }
    assert [n.state for n in seen.notes(rules["WHEN_STATE_CHANGES"])] == [True, False, True]
    assert [n.state for n in seen.notes(stateless)] == [None, None, None]
    assert {kind: seen.runs(uid) for kind, uid in triggers.items()} == {
        "ON_ALERT": 3,
        "ON_ALERT_STATE_CHANGE": 3,
        "ON_ALERT_STATE_CHANGE_TRUE": 2,
    }
    assert seen.runs(on_stateless) == 3 and seen.runs(cloud.uid) == 0
    alerts = await gw.alerts.repo.alerts(sensor, [rules["EVERY_TIME"]], 0, 2**53, True, 100)
    assert [a.state for a in alerts] == [True, True, False, True]
    state = gw.alerts.state_of(rules["EVERY_TIME"], sensor)
    assert state is not None and state.first_alert_id == state.last_alert_id == alerts[-1].id
    current = list(gw.executor.current.values())
    await gw.writer.flush()  # finished executions land with the next window
    executions = {e.id: e for e in [*current, *await gw.journal.history(100)]}
    mine = [e for e in executions.values() if e.trigger_id in triggers.values()]
    assert len(mine) == 8 and {(e.type.name, e.sub_type.name) for e in mine} == {
        ("RAW_TRIGGER_GATEWAY", "IFT_CONDITION")
    }


async def test_a_rule_for_every_device_keeps_a_state_per_device(gw: Gateway) -> None:
    made = await gw.alerts.create_rule(rule(greater(f"DATA.{TEMP}", 25)))
    report(gw, "5", {TEMP: 30.0})
    report(gw, "23", {TEMP: 31.0})
    report(gw, "23", {TEMP: 10.0})
    states = {s.target_id: s.state for s in gw.alerts.states() if s.rule_id == made.id}
    assert states == {url(gw, "5"): True, url(gw, "23"): False}
    # A target named by its oid is the same device.
    device = gw.registry.get(url(gw, "5"))
    assert device is not None
    by_oid = await gw.alerts.create_rule(rule(greater(f"DATA.{TEMP}", 35, device.oid)))
    report(gw, "5", {TEMP: 36.0})
    assert gw.alerts.state_of(by_oid.id, device.oid).state is True  # type: ignore[union-attr]
    assert gw.alerts.state_of(by_oid.id, url(gw, "5")).state is True  # type: ignore[union-attr]


async def test_system_and_geo_attributes(gw: Gateway) -> None:
    sensor = url(gw, "5")
    device = gw.registry.get(sensor)
    assert device is not None
    offline = await gw.alerts.create_rule(
        rule(
            {"operator": "EQUALS", "operands": [{"attributeId": {"name": "system.commStatus"}}, {"valueStr": "ERROR"}]}
        )
    )
    room = await gw.alerts.create_rule(
        rule(
            {
                "operator": "CONTAINS",
                "operands": [
                    {"attributeId": {"name": "system.labels", "targetId": sensor}},
                    {"valueStr": "Living room"},
                ],
            }
        )
    )
    renamed = await gw.alerts.create_rule(
        rule(
            {
                "operator": "STARTS_WITH",
                "operands": [{"attributeId": {"name": "system.name", "targetId": sensor}}, {"valueStr": "Garden"}],
            }
        )
    )
    assert gw.alerts.state_of(room.id, sensor) is None
    assert gw.places.root is not None
    floor = await gw.places.create(gw.places.root.oid, label="Ground floor", type=2)
    living = await gw.places.create(floor.oid, label="Living room", type=3)
    await gw.registry.update(device, place_oid=living.oid)
    assert gw.alerts.state_of(room.id, sensor).state is True  # type: ignore[union-attr]
    assert gw.alerts.targets.observe(sensor, room.conditions[0].subject.name, None).value == [
        "Living room",
        "Ground floor",
    ]
    gw.states.set_available(device, False)
    assert gw.alerts.state_of(offline.id, sensor).state is True  # type: ignore[union-attr]
    gw.states.set_available(device, True)
    assert gw.alerts.state_of(offline.id, sensor).state is False  # type: ignore[union-attr]
    await gw.registry.update(device, label="Garden thermometer")
    assert gw.alerts.state_of(renamed.id, sensor).state is True  # type: ignore[union-attr]

    fence = await gw.alerts.create_rule(
        rule(
            {
                "operator": "GEO_NOT_WITHIN",
                "operands": [
                    {"attributeId": {"name": "DATA._LON_LAT", "targetId": sensor}},
                    {"valueStr": "POLYGON((2.2 48.8, 2.5 48.8, 2.5 48.9, 2.2 48.9, 2.2 48.8))"},
                ],
            }
        )
    )
    far = await gw.alerts.create_rule(
        rule(
            {
                "operator": "GEO_DISTANCE_TOO_FAR",
                "operands": [
                    {"attributeId": {"name": "DATA._LON_LAT", "targetId": sensor}},
                    {"valueStr": "POINT(2.35 48.85)"},
                    {"valueNum": 100},
                ],
            }
        )
    )
    report(gw, "5", {"_LON_LAT": "2.35 48.86"})  # Paris
    assert gw.alerts.state_of(fence.id, sensor) is None and gw.alerts.state_of(far.id, sensor) is None
    report(gw, "5", {"_LON_LAT": "POINT(-0.1276 51.5072)"})  # London
    assert gw.alerts.state_of(fence.id, sensor).state is True  # type: ignore[union-attr]
    assert gw.alerts.state_of(far.id, sensor).state is True  # type: ignore[union-attr]


async def test_change_is_seeded_with_the_current_value_and_cloud_rules_are_skipped(gw: Gateway) -> None:
    seen = Seen(gw)
    report(gw, "5", {TEMP: 21.0})
    changes = await gw.alerts.create_rule(
        rule(
            {"operator": "CHANGE", "operands": [{"attributeId": {"name": f"DATA.{TEMP}", "targetId": url(gw, "5")}}]},
            stateful=False,
        )
    )
    usage = await gw.alerts.create_rule(rule(greater("system.usage.status", 0, url(gw, "5"))))
    company = await gw.alerts.create_rule({**rule(greater(f"DATA.{TEMP}", 0, url(gw, "5"))), "targetType": "COMPANY"})
    assert usage.cloud_only and company.cloud_only
    report(gw, "5", {TEMP: 21.5})  # the first change after the rule's creation fires
    report(gw, "5", {"core:StatusState": "available"})  # another state: no change of this one
    report(gw, "5", {TEMP: 22.0})
    assert len(seen.notes(changes.id)) == 2
    assert seen.notes(usage.id) == [] and seen.notes(company.id) == []
    assert gw.alerts.state_of(company.id, url(gw, "5")) is None


async def test_restart_keeps_states_aggregates_and_owed_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clock = ManualClock(START)
    gw = await open_gateway(data, clock)
    sensor = url(gw, "5")
    try:
        made = await gw.alerts.create_rule(rule(greater(f"AGG.{TEMP}/H", 25, sensor, "MAX")))
        oid = await gw.action_groups.create(
            ActionGroup.model_validate(
                {"label": "owed", "actions": [{"deviceURL": url(gw, "10"), "commands": [{"name": "on"}]}]}
            )
        )
        trigger = await gw.alerts.create_trigger(
            {
                "type": "ON_ALERT_STATE_CHANGE",
                "filter": made.id,
                "operationType": "RUN_ACTION_GROUP",
                "parameters": {"actionGroupOID": oid},
            }
        )
        report(gw, "5", {TEMP: 30.0})
        await gw.alerts.drained()
        before = gw.alerts.state_of(made.id, sensor)
        assert before is not None and before.state is True
    finally:
        await gw.stop()
    # Runs owed when the gateway went down: one recent (runs at start), one too old (dropped).
    db = sqlite3.connect(data / "hearth.db")
    now_ms = int(START * 1000)
    db.executemany(
        "INSERT INTO alert_trigger_runs VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("recent", trigger.uid, oid, made.id, sensor, now_ms - 60_000),
            ("stale", trigger.uid, oid, made.id, sensor, now_ms - 3_600_000),
        ],
    )
    db.commit()
    db.close()

    gw = await open_gateway(data, ManualClock(START + 30))
    try:
        await gw.alerts.drained()
        after = gw.alerts.state_of(made.id, sensor)
        assert after == before
        assert gw.alerts.aggregates.current((sensor, TEMP, "H"), START + 30).max == 30.0
        current = list(gw.executor.current.values())
        await gw.writer.flush()
        executions = {e.id for e in [*current, *await gw.journal.history(100)] if e.trigger_id == trigger.uid}
        assert len(executions) == 2  # the flip's run before the stop, and the recent owed one (not the stale)
        assert await gw.alerts.repo.runs() == []
    finally:
        await gw.stop()
    # Down across the hour: the roll-over happens at start, and the state flips to false.
    gw = await open_gateway(data, ManualClock(START + 3600))
    try:
        await gw.alerts.drained()
        assert gw.alerts.state_of(made.id, sensor).state is False  # type: ignore[union-attr]
    finally:
        await gw.stop()
