"""Condition blocks of setup triggers: the evaluator against a plain reference implementation (hypothesis),
the Debounced outputs (delays, retrigger), and the validation of trigger definitions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.core.operators import ConditionOperator
from hearth.core.triggers.blocks import Block, Debounced, Leaf, LeafKind, StateRef, build_tree, initialise, select
from hearth.core.triggers.model import TriggerType, parse_trigger
from hearth.core.triggers.rules import IfThenRule
from hearth.model.errors import ApiError

DEVICES = [f"virtual://0000-0000-0000/{i}" for i in range(4)]
STATE = "core:LevelState"

# ----------------------------------------------------------------------------- a plain reference


def ref_compare(op: str, state: int | None, v1: int, v2: int) -> bool:
    if state is None:
        return False
    if op == "EQUALS":
        return state == v1
    if op == "NOT_EQUALS":
        return state != v1
    if op == "GREATER_THAN":
        return state > v1
    if op == "GREATER_THAN_OR_EQUAL":
        return state >= v1
    if op == "LOWER_THAN":
        return state < v1
    if op == "LOWER_THAN_OR_EQUAL":
        return state <= v1
    return min(v1, v2) <= state <= max(v1, v2)


def ref_eval(tree: Any, states: dict[str, int | None]) -> bool:
    kind = tree[0]
    if kind == "and":
        return all(ref_eval(child, states) for child in tree[1])
    if kind == "or":
        return any(ref_eval(child, states) for child in tree[1])
    if kind == "static":
        _, device, op, v1, v2 = tree
        return ref_compare(op, states[device], v1, v2)
    if kind == "dual":
        _, d1, d2, op = tree
        if states[d1] is None or states[d2] is None:
            return False
        return ref_compare(op, states[d1], states[d2], 0)
    _, devices, op, v1, v2 = tree
    results = [ref_compare(op, states[d], v1, v2) for d in devices]
    return all(results) if kind == "all" else any(results)


OPERATORS = [o.value for o in ConditionOperator]
ORDERING = [o for o in OPERATORS if o != "BETWEEN_INCLUSIVE"]
values = st.integers(-3, 3)
devices = st.sampled_from(DEVICES)
leaves = st.one_of(
    st.tuples(st.just("static"), devices, st.sampled_from(OPERATORS), values, values),
    st.tuples(st.just("dual"), devices, devices, st.sampled_from(ORDERING)),
    st.tuples(
        st.sampled_from(["any", "all"]),
        st.lists(devices, min_size=1, max_size=3, unique=True),
        st.sampled_from(OPERATORS),
        values,
        values,
    ),
)
trees = st.recursive(
    leaves,
    lambda children: st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=1, max_size=3)),
    max_leaves=8,
)
state_values = st.dictionaries(st.sampled_from(DEVICES), st.one_of(st.none(), values))


def to_json(tree: Any) -> dict[str, Any]:
    """The End-User API's JSON of a reference tree (values as text, as clients send them)."""
    kind = tree[0]
    if kind in ("and", "or"):
        return {f"{kind}Block": {"subConditionBlocks": [to_json(c) for c in tree[1]]}}
    if kind == "static":
        _, device, op, v1, v2 = tree
        return {
            "staticDeviceStateCondition": {
                "deviceURL": device,
                "stateName": STATE,
                "operator": op,
                "value1": str(v1),
                "value2": str(v2),
            }
        }
    if kind == "dual":
        _, d1, d2, op = tree
        return {
            "dualDeviceStateCondition": {
                "deviceURL1": d1,
                "stateName1": STATE,
                "deviceURL2": d2,
                "stateName2": STATE,
                "operator": op,
            }
        }
    _, urls, op, v1, v2 = tree
    name = "allDevicesStateCondition" if kind == "all" else "atLeastOneDeviceStateCondition"
    return {name: {"deviceURLs": urls, "stateName": STATE, "operator": op, "value1": str(v1), "value2": str(v2)}}


def parse_root(tree: Any) -> Block | Leaf:
    definition = parse_trigger(
        {
            "ifThenSetupTrigger": {
                "rootConditionBlock": to_json(tree),
                "effects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
            }
        }
    )
    root = definition.spec.root  # type: ignore[union-attr]
    assert root is not None
    return root


def lookup_of(states: dict[str, int | None]) -> Any:
    return lambda url, name: states.get(url) if name == STATE else None


@settings(max_examples=300, deadline=None)
@given(trees, state_values)
def test_block_evaluator_matches_reference(tree: Any, states: dict[str, int | None]) -> None:
    full = {d: states.get(d) for d in DEVICES}
    assert parse_root(tree).holds(lookup_of(full)) == ref_eval(tree, full)


class Recorder:
    """A Sink that records rises and the delays started."""

    def __init__(self) -> None:
        self.rises: list[str] = []
        self.armed: dict[str, float] = {}

    def arm(self, node: Debounced, due: float) -> None:
        self.armed[node.node_id] = due

    def disarm(self, node: Debounced) -> None:
        self.armed.pop(node.node_id, None)

    def rose(self, node: Debounced) -> None:
        self.rises.append(node.node_id)


@settings(max_examples=200, deadline=None)
@given(trees, state_values, st.lists(st.tuples(devices, st.one_of(st.none(), values)), max_size=12))
def test_debounced_tree_without_delays_follows_the_reference(
    tree: Any, start: dict[str, int | None], changes: list[tuple[str, int | None]]
) -> None:
    states = {d: start.get(d) for d in DEVICES}
    root = parse_root(tree)
    rule = IfThenRule(type("S", (), {"root": root, "effects": []})(), allow_from_unknown=True)  # type: ignore[arg-type]
    lookup = lookup_of(states)
    rule.initialise(lookup)
    sink = Recorder()
    assert rule.root is not None
    expected_rises = 0
    before = ref_eval(tree, states)
    assert rule.root.out == before
    for device, value in changes:
        states[device] = value
        rule.on_state((device, STATE), lookup, 0.0, sink)
        now = ref_eval(tree, states)
        assert rule.root.out == now
        expected_rises += int(now and not before)
        before = now
    assert sink.rises.count(rule.root.node_id) == expected_rises
    assert not sink.armed


# ----------------------------------------------------------------------------- delays


def leaf(node_id: str = "c", activation: float = 0, deactivation: float = 0, retrigger: bool = False) -> Leaf:
    return Leaf(
        node_id,
        LeafKind.STATIC,
        (StateRef(DEVICES[0], STATE),),
        ConditionOperator.GREATER_THAN,
        "0",
        retriggerable=retrigger,
        activation_s=activation,
        deactivation_s=deactivation,
    )


def test_activation_delay_runs_once_the_input_held_long_enough() -> None:
    node = build_tree(leaf(activation=5))
    sink = Recorder()
    node.feed(True, 0.0, sink)
    assert not node.out and sink.armed == {"c": 5.0}
    node.feed(False, 2.0, sink)  # dropped before the delay: nothing
    assert not sink.armed and not sink.rises
    node.feed(True, 3.0, sink)
    node.feed(True, 4.0, sink)  # still true: the delay keeps its due time
    assert sink.armed == {"c": 8.0}
    node.expire(8.0, sink)
    assert node.out and sink.rises == ["c"]


def test_deactivation_delay_absorbs_a_short_drop_and_a_retrigger() -> None:
    block = Block("root", True, (leaf("a", retrigger=True),), deactivation_s=3)
    root = build_tree(block)
    sink = Recorder()
    states: dict[str, int | None] = {DEVICES[0]: 1}
    initialise(root, lookup_of(states))
    assert root.out and not sink.rises
    child = root.children[0]
    child.feed(False, 1.0, sink)  # a short drop: the root waits 3 s before it lets go
    assert root.out and sink.armed == {"root": 4.0}
    child.feed(True, 2.0, sink)
    assert root.out and not sink.armed and sink.rises == ["a"]  # the condition rose; the root never fell
    child.retrigger(3.0, sink)  # absorbed by the root's deactivation delay
    assert sink.rises == ["a", "a"] and root.out


def test_retriggerable_condition_runs_again_on_each_transition() -> None:
    rule = IfThenRule(type("S", (), {"root": leaf(retrigger=True), "effects": []})(), True)  # type: ignore[arg-type]
    states: dict[str, int | None] = {DEVICES[0]: 1}
    lookup = lookup_of(states)
    rule.initialise(lookup)
    sink = Recorder()
    for value in (2, 3, 3, 0, 4):
        previous = states[DEVICES[0]]
        states[DEVICES[0]] = value
        if previous != value:
            rule.on_state((DEVICES[0], STATE), lookup, 0.0, sink)
    assert sink.rises == ["c", "c", "c"]  # 2, 3 (retriggered) and 4 (a plain rise)


def test_from_unknown_value_is_silent_unless_allowed() -> None:
    for allowed, expected in ((False, []), (True, ["c"])):
        rule = IfThenRule(type("S", (), {"root": leaf(), "effects": []})(), allowed)  # type: ignore[arg-type]
        states: dict[str, int | None] = {DEVICES[0]: None}
        lookup = lookup_of(states)
        rule.initialise(lookup)
        sink = Recorder()
        states[DEVICES[0]] = 5
        rule.on_state((DEVICES[0], STATE), lookup, 0.0, sink)
        assert rule.root is not None and rule.root.out
        assert sink.rises == expected


def test_object_path_selects_inside_a_json_state() -> None:
    value = {"a": {"b": [10, {"c": "x"}]}}
    assert select(value, "a.b.0") == 10
    assert select(value, "/a/b/1/c") == "x"
    assert select(value, "$.a.b.1.c") == "x"
    assert select(value, "a.z") is None
    assert select('{"a": 1}', "a") == 1


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "ifThenSetupTrigger": {
                    "rootConditionBlock": {
                        "andBlock": {
                            "subConditionBlocks": [
                                {
                                    "staticDeviceStateCondition": {
                                        "deviceURL": "u",
                                        "stateName": "s",
                                        "operator": "BIGGER",
                                        "value1": "1",
                                    }
                                }
                            ]
                        }
                    },
                    "effects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
                }
            },
            "ifThenSetupTrigger.rootConditionBlock.andBlock.subConditionBlocks[0].staticDeviceStateCondition.operator",
        ),
        (
            {
                "sensorThreshold": {
                    "deviceURL": "u",
                    "stateName": "s",
                    "upperBound": 10,
                    "lowerBound": 20,
                    "upperEffects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
                }
            },
            "sensorThreshold.lowerBound",
        ),
        (
            {
                "sensorThreshold": {
                    "deviceURL": "u",
                    "stateName": "s",
                    "upperBound": 30,
                    "lowerBound": 20,
                    "upperActivationDelay": -1,
                    "upperEffects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
                }
            },
            "sensorThreshold.upperActivationDelay",
        ),
        (
            {"discreteTrigger": {"deviceURL": "u", "stateName": "s", "effectsList": [{"effects": []}]}},
            "discreteTrigger.effectsList[0].key",
        ),
        (
            {
                "ifThenSetupTrigger": {
                    "mode": 3,
                    "schedulingIntervals": [{"weeklySchedule": {"startDay": 9, "stopDay": 2}}],
                    "effects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
                }
            },
            "ifThenSetupTrigger.schedulingIntervals[0].weeklySchedule.startDay",
        ),
        (
            {
                "ifThenSetupTrigger": {
                    "schedulingIntervals": [{"dailySchedule": {"startAlwaysBefore": "25:00"}}],
                    "effects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
                }
            },
            "ifThenSetupTrigger.schedulingIntervals[0].dailySchedule.startAlwaysBefore",
        ),
        # dayType is run since the calendar exists (it was refused before); an unknown day type is not.
        (
            {
                "ifThenSetupTrigger": {
                    "schedulingIntervals": [{"dayType": {"dayType": "BIRTHDAY"}}],
                    "effects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
                }
            },
            "ifThenSetupTrigger.schedulingIntervals[0].dayType.dayType",
        ),
        (
            {
                "genericCommandSchedulingTrigger": {
                    "deviceURL": "u",
                    "commandFunctionName": "open",
                    "commandSchedules": [{"scheduleTimes": [{"dailyTime": {"minutesOfDay": 1500}}]}],
                }
            },
            "genericCommandSchedulingTrigger.commandSchedules[0].scheduleTimes[0].dailyTime.minutesOfDay",
        ),
    ],
)
def test_validation_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_trigger(body)
    assert caught.value.status == 400
    assert field + ":" in caught.value.message


def test_every_type_is_read_and_ids_are_filled_in() -> None:
    # All eleven types run now (7 were refused with UNSUPPORTED_OPERATION before): an empty body of one is
    # refused for what it lacks, an unknown type for its name.
    with pytest.raises(ApiError) as caught:
        parse_trigger({"ovpThermostatRegulationTrigger": {}})
    assert caught.value.code == "INVALID_FIELD_VALUE"
    assert "ovpThermostatRegulationTrigger.targetRegulationSchedulingIntervals: is required" in caught.value.message
    with pytest.raises(ApiError) as caught:
        parse_trigger({"noSuchTrigger": {}})
    assert caught.value.code == "INVALID_FIELD_VALUE" and "Unknown setup trigger type" in caught.value.message
    definition = parse_trigger(
        {
            "ifThenSetupTrigger": {
                "rootConditionBlock": {
                    "orBlock": {
                        "subConditionBlocks": [
                            {
                                "staticDeviceStateCondition": {
                                    "deviceURL": "u",
                                    "stateName": "s",
                                    "operator": "GREATERTHAN",
                                    "value1": "1",
                                }
                            }
                        ]
                    }
                },
                "effects": [{"actionGroupEffect": {"actionGroupOID": "x"}}],
            }
        }
    )
    body = definition.body
    assert body["rootConditionBlock"]["orBlock"]["blockId"] == "root"
    assert (
        body["rootConditionBlock"]["orBlock"]["subConditionBlocks"][0]["staticDeviceStateCondition"]["blockId"]
        == "root.0"
    )
    assert body["effects"][0]["actionGroupEffect"]["id"]
    assert body["mode"] == 1 and body["allowExecuteOnEnabled"] is True and body["allowFromUnknownValue"] is False
    assert [t.code for t in TriggerType][:3] == [1, 2, 3] and TriggerType.IF_THEN.code == 7
