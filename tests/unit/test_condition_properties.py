"""The condition evaluator and its index, against a plain reference implementation written here.

Hypothesis draws a setup (devices of a few controllables, each with random states of random types, some
unavailable, disabled or missing the state) and a condition group (controllable and deviceURL conditions,
every operator in both spellings, values as numbers, text, booleans), then checks:
- ``operators.compare`` against the reference comparison;
- ``conditions.evaluate`` against the reference evaluation: status, failedDevices, invalidatingDevices,
  ignoredControllables;
- the ConditionIndex, through random state, availability and setup changes: its cached truth always equals
  a fresh evaluation, and its watchers hear each change of truth exactly once.
A few fixed cases follow for what a random search finds slowly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.config import REPO_CONFIG_DIR
from hearth.core.catalogue import Catalogue
from hearth.core.conditions import (
    ConditionError,
    ConditionIndex,
    evaluate,
    parse_group,
)
from hearth.core.operators import ConditionOperator, Incomparable, compare
from hearth.model.datatype import infer_datatype
from hearth.model.device import Device, State
from hearth.model.device_url import DeviceURL
from hearth.model.events import (
    DeviceCreatedEvent,
    DeviceRemovedEvent,
    DeviceStateChangedEvent,
    DeviceUnavailableEvent,
)

CATALOGUE = Catalogue.load(REPO_CONFIG_DIR / "controllables")
KINDS = ["zigbee:TemperatureSensorComponent", "ble:TemperatureSensorBLEComponent", "zigbee:DoorSensorComponent"]
GHOST = "io:GhostComponent"  # never has a device
STATES = ["x:Level", "x:Mode"]
STATUS = "core:StatusState"
GATEWAY = "1234-5678-9012"


def url_of(i: int) -> str:
    return f"virtual://{GATEWAY}/{i}"


# ----------------------------------------------------------------------------- the reference


class Unreadable(Exception):
    pass


def ref_read(state: Any, value: Any) -> Any:
    """The condition's value in the state's type, as the documented rule says, written plainly."""
    if isinstance(state, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "on", "yes"):
            return True
        if text in ("false", "0", "off", "no"):
            return False
        raise Unreadable
    if isinstance(state, int | float):
        if isinstance(value, bool):
            raise Unreadable
        if isinstance(value, int | float):
            return value
        text = str(value).strip()
        if re.fullmatch(r"[+-]?[0-9]+", text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            raise Unreadable from None
        if number != number:
            raise Unreadable
        return number
    if isinstance(state, list | dict):
        try:
            return json.loads(value) if isinstance(value, str) else value
        except ValueError:
            raise Unreadable from None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ref_compare(operator: str, state: Any, value1: Any, value2: Any = None) -> bool | None:
    """True or False, or None when the state cannot be compared."""
    if state is None:
        return False
    ordering = operator not in ("EQUALS", "NOT_EQUALS")
    if ordering and isinstance(state, bool | list | dict):
        return None
    try:
        a = ref_read(state, value1)
        if operator == "BETWEEN_INCLUSIVE":
            if value2 is None:
                return None
            b = ref_read(state, value2)
            low, high = min(a, b), max(a, b)
            return bool(low <= state <= high)
    except Unreadable:
        return None
    tests = {
        "EQUALS": lambda: state == a,
        "NOT_EQUALS": lambda: state != a,
        "GREATER_THAN": lambda: state > a,
        "GREATER_THAN_OR_EQUAL": lambda: state >= a,
        "LOWER_THAN": lambda: state < a,
        "LOWER_THAN_OR_EQUAL": lambda: state <= a,
    }
    return bool(tests[operator]())


def canonical(spelling: str) -> str:
    return {o.value.replace("_", ""): o.value for o in ConditionOperator}[spelling.upper().replace("_", "")]


@dataclass
class Reference:
    holds: bool = True
    failed: set[str] = field(default_factory=set)
    invalidating: set[str] = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)


def ref_evaluate(conditions: list[dict[str, Any]], devices: dict[str, Device]) -> Reference:
    out = Reference()
    for entry in conditions:
        kind, spec = next(iter(entry.items()))
        if kind == "device":
            urls = [spec["deviceURL"]]
        else:
            urls = []
            for name in spec["controllableNames"]:
                mine = [u for u, d in devices.items() if d.controllable.name == name]
                if not mine and name not in out.ignored:
                    out.ignored.append(name)
                urls += mine
            if not urls:
                out.holds = False  # nothing to show that it holds
        value, value2 = spec["value"], spec.get("value2")
        if isinstance(value, list):
            value, value2 = value
        for url in urls:
            device = devices.get(url)
            verdict: bool | None
            if device is None:
                verdict = None
            else:
                status = device.states.get(STATUS)
                down = (
                    not device.available or not device.enabled or (status is not None and status.value == "unavailable")
                )
                state = device.states.get(spec["stateName"])
                if (down and spec["stateName"] != STATUS) or state is None or state.value is None:
                    verdict = None
                else:
                    verdict = ref_compare(canonical(spec["operator"]), state.value, value, value2)
            if verdict is None:
                out.failed.add(url)
                out.holds = False
            elif verdict is False:
                out.invalidating.add(url)
                out.holds = False
    return out


# ----------------------------------------------------------------------------- strategies

WORDS = [
    "on",
    "off",
    "open",
    "closed",
    "abc",
    "",
    "25",
    " 25 ",
    "-3",
    "2.5",
    "1e3",
    "true",
    "false",
    "yes",
    "no",
    "1",
    "0",
    "[0, 1]",
    "[]",
    "{}",
    "nan",
    "inf",
]
numbers = st.one_of(st.integers(-100, 100), st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
state_values = st.one_of(
    numbers, st.sampled_from(WORDS), st.booleans(), st.lists(st.integers(0, 1), max_size=2), st.none()
)
condition_values = st.one_of(numbers, numbers.map(str), st.sampled_from(WORDS), st.booleans())
spellings = st.sampled_from(
    [o.value for o in ConditionOperator]
    + [o.value.replace("_", "") for o in ConditionOperator]
    + ["greater_than", "Lower_Than"]
)


@dataclass
class Setup:
    """The DeviceLookup of the index and of ``evaluate``: a plain dict of devices."""

    devices: dict[str, Device]

    def get(self, url: str) -> Device | None:
        return self.devices.get(url)

    def all(self) -> list[Device]:
        return list(self.devices.values())

    def urls_of(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for url, device in self.devices.items():
            out.setdefault(device.controllable.name, []).append(url)
        return out


def make_device(i: int, kind: str, states: dict[str, Any], available: bool = True, enabled: bool = True) -> Device:
    device = Device(
        url=DeviceURL.parse(url_of(i)),
        oid=str(i),
        label=str(i),
        controllable=CATALOGUE[kind],
        available=available,
        enabled=enabled,
    )
    for name, value in states.items():
        device.states[name] = State(name, infer_datatype(value), value, 0)
    return device


@st.composite
def devices(draw: st.DrawFn, i: int) -> Device:
    states = {name: draw(state_values) for name in STATES if draw(st.integers(0, 4))}
    if draw(st.integers(0, 3)) == 0:
        states[STATUS] = draw(st.sampled_from(["available", "unavailable"]))
    return make_device(
        i,
        draw(st.sampled_from(KINDS)),
        states,
        available=draw(st.integers(0, 5)) > 0,
        enabled=draw(st.integers(0, 8)) > 0,
    )


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    count = draw(st.integers(0, 6))
    return Setup({url_of(i): draw(devices(i)) for i in range(count)})


@st.composite
def condition_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        spelling = draw(spellings)
        state = draw(st.sampled_from([*STATES, STATUS]))
        spec: dict[str, Any] = {"stateName": state, "operator": spelling, "value": draw(condition_values)}
        if canonical(spelling) == "BETWEEN_INCLUSIVE":
            if draw(st.booleans()):
                spec["value"] = [spec["value"], draw(condition_values)]
            else:
                spec["value2"] = draw(condition_values)
        if draw(st.integers(0, 3)) == 0:
            spec = {"deviceURL": url_of(draw(st.integers(0, 7))), **spec}
            out.append({"device": spec})
        else:
            names = draw(st.lists(st.sampled_from([*KINDS, GHOST]), min_size=1, max_size=3, unique=True))
            out.append({"controllable": {"controllableNames": names, **spec}})
    return out


# ----------------------------------------------------------------------------- properties


@given(spelling=spellings, state=state_values, value1=condition_values, value2=condition_values)
def test_compare_matches_the_reference(spelling: str, state: Any, value1: Any, value2: Any) -> None:
    operator = ConditionOperator.parse(spelling)
    expected = ref_compare(operator.value, state, value1, value2)
    try:
        got: bool | None = compare(operator, state, value1, value2)
    except Incomparable:
        got = None
    assert got is expected


@given(setup=setups(), conditions=condition_lists())
def test_evaluate_matches_the_reference(setup: Setup, conditions: list[dict[str, Any]]) -> None:
    group = parse_group({"label": "p", "conditions": conditions})
    assert [c.wire for c in group.conditions] == conditions, "the wire form is kept as sent"
    got = evaluate(group.conditions, setup.get, setup.urls_of(), now=1)
    expected = ref_evaluate(conditions, setup.devices)
    assert got.holds is expected.holds
    assert got.failed_devices == sorted(expected.failed)
    assert got.invalidating_devices == sorted(expected.invalidating)
    assert got.ignored_controllables == expected.ignored
    assert got.to_json()["evaluationStatus"] == ("SUCCESS" if expected.holds else "FAILED")


step = st.one_of(
    st.tuples(st.just("state"), st.integers(0, 7), st.sampled_from(STATES), state_values),
    st.tuples(st.just("status"), st.integers(0, 7), st.sampled_from(["available", "unavailable"]), st.none()),
    st.tuples(st.just("both"), st.integers(0, 7), st.sampled_from(["available", "unavailable"]), state_values),
    st.tuples(st.just("available"), st.integers(0, 7), st.booleans(), st.none()),
    st.tuples(st.just("remove"), st.integers(0, 7), st.none(), st.none()),
    st.tuples(st.just("add"), st.integers(0, 7), st.sampled_from(KINDS), st.none()),
)


@settings(max_examples=200)
@given(setup=setups(), groups=st.lists(condition_lists(), min_size=1, max_size=3), steps=st.lists(step, max_size=25))
def test_index_truth_equals_a_fresh_evaluation(
    setup: Setup, groups: list[list[dict[str, Any]]], steps: list[tuple[str, int, Any, Any]]
) -> None:
    index = ConditionIndex(setup)
    index.rebuild()
    heard: dict[str, list[bool]] = {}
    index.watch(lambda oid, holds: heard.setdefault(oid, []).append(holds))
    compiled = {}
    for n, conditions in enumerate(groups):
        compiled[str(n)] = parse_group({"conditions": conditions}).conditions
        index.put(str(n), compiled[str(n)])

    def check() -> None:
        for oid, conditions in compiled.items():
            fresh = evaluate(conditions, setup.get, setup.urls_of(), now=1).holds
            assert index.holds(oid) is fresh
            said = heard.get(oid, [])
            assert (said[-1] if said else False) is fresh, "the last announcement is the truth"
            assert all(a is not b for a, b in zip(said, said[1:], strict=False)), "each change announced once"

    check()
    for kind, i, what, value in steps:
        url = url_of(i)
        device = setup.devices.get(url)
        if kind == "add":
            if device is not None:
                continue
            setup.devices[url] = make_device(i, what, {})
            index.on_setup_change(
                DeviceCreatedEvent(
                    device_url=url,
                    controllable_name=what,
                    label="",
                    place_oid=None,
                    metadata=None,
                    device_attributes=[],
                )
            )
        elif device is None:
            continue
        elif kind == "remove":
            del setup.devices[url]
            index.on_setup_change(DeviceRemovedEvent(device_url=url, controllable_name=device.controllable.name))
        elif kind == "available":
            device.available = what
            index.on_setup_change(DeviceUnavailableEvent(device_url=url))
        else:
            # One report may change several states, the status among them (in any order).
            changes = {
                "state": [(what, value)],
                "status": [(STATUS, what)],
                "both": [(STATES[i % 2], value), (STATUS, what), (STATES[(i + 1) % 2], value)],
            }[kind]
            for name, new in changes:
                device.states[name] = State(name, infer_datatype(new), new, 0)
            index.on_states(
                DeviceStateChangedEvent(
                    device_url=url,
                    device_states=[
                        {"name": name, "type": int(infer_datatype(new)), "value": new} for name, new in changes
                    ],
                )
            )
        check()
    index.rebuild()
    check()
    for oid in list(compiled):
        index.remove(oid)
        assert heard.get(oid, [False])[-1] is False, "a removed group that held is announced false"


# ----------------------------------------------------------------------------- fixed cases


def test_one_event_changing_two_conditions_announces_nothing_in_between() -> None:
    sensor = make_device(1, KINDS[0], {"x:Level": 10, "x:Mode": "on"})
    setup = Setup({sensor.url_text: sensor})
    index = ConditionIndex(setup)
    index.rebuild()
    heard: list[bool] = []
    index.watch(lambda _, holds: heard.append(holds), "g")
    index.put(
        "g",
        parse_group(
            {
                "conditions": [
                    {
                        "device": {
                            "deviceURL": sensor.url_text,
                            "stateName": "x:Level",
                            "operator": "GREATERTHAN",
                            "value": 5,
                        }
                    },
                    {
                        "device": {
                            "deviceURL": sensor.url_text,
                            "stateName": "x:Mode",
                            "operator": "EQUALS",
                            "value": "off",
                        }
                    },
                ]
            }
        ).conditions,
    )
    assert heard == [] and not index.holds("g")
    # Level becomes false and Mode true in one report: the group is false before and after.
    sensor.states["x:Level"].value, sensor.states["x:Mode"].value = 1, "off"
    index.on_states(
        DeviceStateChangedEvent(
            device_url=sensor.url_text,
            device_states=[{"name": "x:Mode", "type": 3, "value": "off"}, {"name": "x:Level", "type": 1, "value": 1}],
        )
    )
    assert heard == [] and not index.holds("g")
    sensor.states["x:Level"].value = 7
    index.on_states(
        DeviceStateChangedEvent(device_url=sensor.url_text, device_states=[{"name": "x:Level", "type": 1, "value": 7}])
    )
    assert heard == [True] and index.holds("g")


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        (
            {"controllable": {"controllableNames": ["a:B"], "stateName": "s", "operator": "ABOUT", "value": 1}},
            "conditions[0].controllable.operator",
        ),
        (
            {"controllable": {"controllableNames": [], "stateName": "s", "operator": "EQUALS", "value": 1}},
            "conditions[0].controllable.controllableNames",
        ),
        (
            {"controllable": {"controllableNames": ["a:B"], "operator": "EQUALS", "value": 1}},
            "conditions[0].controllable.stateName",
        ),
        (
            {"controllable": {"controllableNames": ["a:B"], "stateName": "s", "operator": "EQUALS", "value": None}},
            "conditions[0].controllable.value",
        ),
        (
            {
                "controllable": {
                    "controllableNames": ["a:B"],
                    "stateName": "s",
                    "operator": "BETWEENINCLUSIVE",
                    "value": [1, 2, 3],
                }
            },
            "conditions[0].controllable.value",
        ),
        (
            {"device": {"deviceURL": "not a url", "stateName": "s", "operator": "EQUALS", "value": 1}},
            "conditions[0].device.deviceURL",
        ),
        ({"device": {}, "controllable": {}}, "conditions[0]"),
    ],
)
def test_parse_errors_name_the_field(condition: dict[str, Any], field: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_group({"conditions": [condition]})
    assert caught.value.field == field, str(caught.value)
