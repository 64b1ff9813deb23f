"""Setup triggers as clients send them: ``{"<triggerType>": {...}}``, checked field by field.

Every refusal names the field (``ifThenSetupTrigger.rootConditionBlock.andBlock.subConditionBlocks[0]
.staticDeviceStateCondition.operator: ...``) and nothing is kept. Checks that need the setup (devices,
states, action groups) are the engine's; here only the shape and the ranges.

Tables frozen here (the End-User API gives ints without their meaning):

``setupTriggerType`` (events): the order of the API's "Setup Trigger Type" table, from 1:
  1 genericStateRegulationTrigger, 2 ovpThermostatRegulationTrigger, 3 genericCommandSchedulingTrigger,
  4 genericPointToPointRegulationTrigger, 5 discreteTrigger, 6 sensorThreshold, 7 ifThenSetupTrigger,
  8 delayedCommandsSchedulingTrigger, 9 discreteSensorTrigger, 10 eventTrigger,
  11 delayedCommandSchedulingTrigger.
This gateway runs all eleven. The types without a module of their own are read here (ifThen, threshold,
discrete and discreteSensorTrigger, command scheduling); the others are in ``regulation`` (1, 2),
``point_to_point`` (4), ``delayed_commands`` (8, 11) and ``event_trigger`` (10), whose docstrings say what
each does where the API leaves it undefined. discreteSensorTrigger has no example in the API; its
description ("also defined for one sensor on one state... when state reaches a set discrete value") is
that of discreteTrigger, so it takes the same body and runs the same way.

Defaults: ``mode`` 1, ``allowExecuteOnEnabled`` true, ``allowFromUnknownValue`` false, delays 0, condition
``type`` EVENT_BASED, command schedule ``enabled`` true. Delays are seconds (at most 7 days).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import partial
from typing import Any

from hearth.core.operators import ConditionOperator
from hearth.core.triggers.blocks import Block, ConditionBlock, Leaf, LeafKind, StateRef, walk
from hearth.core.triggers.delayed_commands import parse_delayed_commands
from hearth.core.triggers.event_trigger import parse_event_trigger
from hearth.core.triggers.fields import (
    MAX_EFFECTS,
    Effect,
    ExtraSpec,
    Reader,
    StateRestriction,
    condition_value,
    invalid,
    one_of,
    parse_effects,
    parse_restrictions,
    state_ref,
)
from hearth.core.triggers.interval_fields import parse_interval
from hearth.core.triggers.intervals import SchedulingInterval
from hearth.core.triggers.point_to_point import parse_point_to_point
from hearth.core.triggers.regulation import parse_regulation
from hearth.model.errors import ApiError, ErrorCode

MAX_CONDITIONS = 200
MAX_DEPTH = 8
MAX_INTERVALS = 50
MAX_BODY_CHARS = 512 * 1024


class TriggerType(StrEnum):
    GENERIC_STATE_REGULATION = "genericStateRegulationTrigger"
    OVP_THERMOSTAT_REGULATION = "ovpThermostatRegulationTrigger"
    GENERIC_COMMAND_SCHEDULING = "genericCommandSchedulingTrigger"
    GENERIC_POINT_TO_POINT_REGULATION = "genericPointToPointRegulationTrigger"
    DISCRETE = "discreteTrigger"
    SENSOR_THRESHOLD = "sensorThreshold"
    IF_THEN = "ifThenSetupTrigger"
    DELAYED_COMMANDS_SCHEDULING = "delayedCommandsSchedulingTrigger"
    DISCRETE_SENSOR = "discreteSensorTrigger"
    EVENT = "eventTrigger"
    DELAYED_COMMAND_SCHEDULING = "delayedCommandSchedulingTrigger"

    @property
    def code(self) -> int:
        """``setupTriggerType`` of the events."""
        return _CODES[self]


_CODES = {t: i for i, t in enumerate(TriggerType, start=1)}


class Mode(IntEnum):
    ON = 1
    OFF = 2
    SCHEDULED = 3


def parse_type(text: str) -> TriggerType:
    try:
        return TriggerType(text)
    except ValueError:
        raise ApiError.bad_request(
            f"Unknown setup trigger type : {text} (one of {', '.join(TriggerType)})", ErrorCode.INVALID_FIELD_VALUE
        ) from None


# ----------------------------------------------------------------------------- condition blocks


BLOCK_KINDS = ("andBlock", "orBlock", *(k.value for k in LeafKind))


class _BlockParser:
    def __init__(self) -> None:
        self.count = 0
        self.ids: set[str] = set()

    def parse(self, value: Any, where: str, auto_id: str, depth: int) -> ConditionBlock:
        if depth > MAX_DEPTH:
            raise invalid(where, f"blocks nested deeper than {MAX_DEPTH}")
        self.count += 1
        if self.count > MAX_CONDITIONS:
            raise invalid(where, f"more than {MAX_CONDITIONS} blocks and conditions")
        kind, r = one_of(value, where, BLOCK_KINDS)
        block_id = r.text("blockId", max_length=64) or auto_id
        if block_id in self.ids:
            block_id = f"{auto_id}~{self.count}"
        self.ids.add(block_id)
        r.data["blockId"] = block_id
        activation, deactivation = r.delay("activationDelay"), r.delay("deactivationDelay")
        if kind in ("andBlock", "orBlock"):
            subs = r.items("subConditionBlocks", required=True, max_items=MAX_CONDITIONS)
            if not subs:
                raise r.error("subConditionBlocks", "must hold at least one block or condition")
            children = tuple(
                self.parse(sub, f"{r.where('subConditionBlocks')}[{i}]", f"{block_id}.{i}", depth + 1)
                for i, sub in enumerate(subs)
            )
            return Block(block_id, kind == "andBlock", children, activation, deactivation)
        leaf_kind = LeafKind(kind)
        operator = _operator(r)
        if leaf_kind is LeafKind.DUAL:
            if operator.needs_second_value:
                raise r.error("operator", f"{operator.value} needs two values; a dual condition compares two states")
            refs: tuple[StateRef, ...] = (
                StateRef(r.required_text("deviceURL1"), r.required_text("stateName1"), r.text("objectPath1") or None),
                StateRef(r.required_text("deviceURL2"), r.required_text("stateName2"), r.text("objectPath2") or None),
            )
            return Leaf(block_id, leaf_kind, refs, operator, activation_s=activation, deactivation_s=deactivation)
        state, path = r.required_text("stateName"), r.text("objectPath") or None
        if leaf_kind is LeafKind.STATIC:
            refs = (StateRef(r.required_text("deviceURL"), state, path),)
        else:
            urls = r.items("deviceURLs", required=True, max_items=MAX_CONDITIONS)
            if not urls:
                raise r.error("deviceURLs", "must name at least one device")
            for i, url in enumerate(urls):
                if not isinstance(url, str) or not url:
                    raise invalid(f"{r.where('deviceURLs')}[{i}]", "must be a deviceURL")
            refs = tuple(StateRef(url, state, path) for url in dict.fromkeys(urls))
        value1, value2 = condition_value(r, "value1", True), condition_value(r, "value2", operator.needs_second_value)
        condition_type = r.text("type", "EVENT_BASED")
        if condition_type not in ("EVENT_BASED", "RETRIGGERABLE_ON_STATE_TRANSITION"):
            raise r.error("type", "must be EVENT_BASED or RETRIGGERABLE_ON_STATE_TRANSITION")
        return Leaf(
            block_id,
            leaf_kind,
            refs,
            operator,
            value1,
            value2,
            condition_type == "RETRIGGERABLE_ON_STATE_TRANSITION",
            activation,
            deactivation,
        )


def _operator(r: Reader) -> ConditionOperator:
    text = r.required_text("operator", 64)
    try:
        return ConditionOperator.parse(text)
    except ValueError as exc:
        raise r.error("operator", str(exc)) from None


# ----------------------------------------------------------------------------- the trigger types


@dataclass(frozen=True, slots=True)
class IfThenSpec:
    root: ConditionBlock | None
    effects: list[Effect]


ZONES = ("upper", "middle", "lower")


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    effects: list[Effect]
    activation_s: int
    deactivation_s: int


@dataclass(frozen=True, slots=True)
class ThresholdSpec:
    ref: StateRef
    upper_bound: float
    lower_bound: float
    zones: dict[str, Zone]

    def zone_of(self, value: Any) -> str | None:
        """upper above upperBound, lower below lowerBound, middle in between (bounds included)."""
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if number != number:
            return None
        if number > self.upper_bound:
            return "upper"
        if number < self.lower_bound:
            return "lower"
        return "middle"


@dataclass(frozen=True, slots=True)
class DiscreteKey:
    key: str
    effects: list[Effect]
    activation_s: int
    deactivation_s: int


@dataclass(frozen=True, slots=True)
class DiscreteSpec:
    ref: StateRef
    keys: list[DiscreteKey]
    execute_always: bool


@dataclass(frozen=True, slots=True)
class CommandSchedule:
    times: list[int]  # minutes of the local day
    parameters: list[Any]
    label: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class CommandSchedulingSpec:
    device_url: str
    command: str
    schedules: list[CommandSchedule]
    restrictions: list[StateRestriction]


Spec = IfThenSpec | ThresholdSpec | DiscreteSpec | CommandSchedulingSpec | ExtraSpec


@dataclass(slots=True)
class TriggerDefinition:
    type: TriggerType
    label: str
    metadata: str | None
    mode: Mode
    intervals: list[SchedulingInterval]
    allow_execute_on_enabled: bool
    allow_from_unknown: bool
    spec: Spec
    body: dict[str, Any]  # the inner object as stored and shown (blockIds and effect ids filled in)
    oid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def effects(self) -> list[Effect]:
        spec = self.spec
        if isinstance(spec, IfThenSpec):
            return list(spec.effects)
        if isinstance(spec, ThresholdSpec):
            return [e for name in ZONES for e in spec.zones[name].effects]
        if isinstance(spec, DiscreteSpec):
            return [e for k in spec.keys for e in k.effects]
        if isinstance(spec, ExtraSpec):
            return spec.effects
        return []

    @property
    def source_refs(self) -> list[StateRef]:
        spec = self.spec
        if isinstance(spec, IfThenSpec):
            if spec.root is None:
                return []
            return [ref for node in walk(spec.root) if isinstance(node, Leaf) for ref in node.refs]
        if isinstance(spec, ThresholdSpec | DiscreteSpec):
            return [spec.ref]
        if isinstance(spec, ExtraSpec):
            return spec.source_refs
        return [StateRef(spec.device_url, name) for name, _ in spec.restrictions]

    @property
    def source_device_urls(self) -> list[str]:
        urls = [ref.device_url for ref in self.source_refs]
        if isinstance(self.spec, CommandSchedulingSpec):
            urls.insert(0, self.spec.device_url)
        if isinstance(self.spec, ExtraSpec):
            urls = self.spec.device_urls + urls
        return list(dict.fromkeys(urls))


_SHOWN_ONLY = ("oid", "id", "creationTime", "lastUpdateTime")


def parse_trigger(body: Any) -> TriggerDefinition:
    """Check a client's ``{"<type>": {...}}``; the error names the field and the reason."""
    if not isinstance(body, dict) or len(body) != 1:
        raise ApiError.bad_request(
            'Invalid setup trigger: expected {"<triggerType>": {...}}', ErrorCode.INVALID_FIELD_VALUE
        )
    type_text, inner = next(iter(body.items()))
    trigger_type = parse_type(type_text)
    if not isinstance(inner, dict):
        raise invalid(type_text, "must be an object")
    if len(json.dumps(inner)) > MAX_BODY_CHARS:
        raise invalid(type_text, f"larger than {MAX_BODY_CHARS} characters")
    data = json.loads(json.dumps(inner))  # our own copy: ids are filled in below
    oid = data.get("oid")
    extra = {k: data.pop(k) for k in _SHOWN_ONLY if k in data}
    r = Reader(data, type_text)
    label = r.text("label", "", max_length=256) or ""
    metadata = r.text("metadata", max_length=4096)
    mode_number = r.integer("mode", 1, 1, 3)
    intervals = [
        parse_interval(v, f"{r.where('schedulingIntervals')}[{i}]")
        for i, v in enumerate(r.items("schedulingIntervals", max_items=MAX_INTERVALS))
    ]
    allow_enabled = r.boolean("allowExecuteOnEnabled", True)
    allow_unknown = r.boolean("allowFromUnknownValue", False)
    r.boolean("serverSide", False)
    r.boolean("usingTriggerModeFlag", False)
    spec = _SPEC_PARSERS[trigger_type](r)
    data.update(
        {
            "label": label,
            "mode": mode_number,
            "allowExecuteOnEnabled": allow_enabled,
            "allowFromUnknownValue": allow_unknown,
        }
    )
    data.setdefault("schedulingIntervals", [])
    definition = TriggerDefinition(
        trigger_type,
        label,
        metadata,
        Mode(mode_number),
        intervals,
        allow_enabled,
        allow_unknown,
        spec,
        data,
        oid if isinstance(oid, str) else None,
        extra,
    )
    if definition.mode is Mode.SCHEDULED and not intervals:
        raise r.error("mode", "3 (scheduled) needs schedulingIntervals")
    return definition


def _if_then(r: Reader) -> IfThenSpec:
    root = None
    if r.has("rootConditionBlock"):
        root = _BlockParser().parse(r.data["rootConditionBlock"], r.where("rootConditionBlock"), "root", 1)
    effects = parse_effects(r, "effects")
    if not effects:
        raise r.error("effects", "needs at least one effect")
    if root is None and not r.data.get("schedulingIntervals"):
        raise r.error("rootConditionBlock", "is required (or schedulingIntervals, for a trigger on time only)")
    return IfThenSpec(root, effects)


def _threshold(r: Reader) -> ThresholdSpec:
    ref = state_ref(r)
    upper, lower = r.number("upperBound"), r.number("lowerBound")
    if lower > upper:
        raise r.error("lowerBound", f"{lower:g} is above upperBound {upper:g}")
    zones = {
        name: Zone(
            name,
            parse_effects(r, f"{name}Effects"),
            r.delay(f"{name}ActivationDelay"),
            r.delay(f"{name}DeactivationDelay"),
        )
        for name in ZONES
    }
    if not any(zone.effects for zone in zones.values()):
        raise r.error("upperEffects", "upperEffects, middleEffects and lowerEffects are all empty")
    return ThresholdSpec(ref, upper, lower, zones)


def _delay_map(r: Reader, key: str) -> dict[str, int]:
    holder = r.obj(key)
    if holder is None:
        return {}
    inner = holder.obj("map")
    if inner is None:
        return {}
    return {k: inner.delay(k) for k in inner.data}


def _discrete(r: Reader) -> DiscreteSpec:
    ref = state_ref(r)
    activation, deactivation = _delay_map(r, "activationDelays"), _delay_map(r, "deactivationDelays")
    keys: list[DiscreteKey] = []
    seen: set[str] = set()
    raw = r.items("effectsList", required=True, max_items=MAX_EFFECTS)
    for i, item in enumerate(raw):
        where = f"{r.where('effectsList')}[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "must be an object")
        entry = Reader(item, where)
        key_value = item.get("key")
        if isinstance(key_value, bool):
            key_value = "true" if key_value else "false"
        elif isinstance(key_value, int | float):
            key_value = str(key_value)
        if not isinstance(key_value, str) or not key_value:
            raise entry.error("key", "is required (the state value that runs these effects)")
        if key_value in seen:
            raise entry.error("key", f"{key_value!r} appears twice")
        seen.add(key_value)
        keys.append(
            DiscreteKey(
                key_value, parse_effects(entry, "effects"), activation.get(key_value, 0), deactivation.get(key_value, 0)
            )
        )
    if not keys:
        raise r.error("effectsList", "needs at least one key")
    return DiscreteSpec(ref, keys, r.boolean("executeAlways", False))


def _command_scheduling(r: Reader) -> CommandSchedulingSpec:
    url, command = r.required_text("deviceURL"), r.required_text("commandFunctionName", 128)
    schedules = []
    for i, item in enumerate(r.items("commandSchedules", required=True, max_items=100)):
        where = f"{r.where('commandSchedules')}[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "must be an object")
        s = Reader(item, where)
        times = []
        for j, entry in enumerate(s.items("scheduleTimes", required=True, max_items=100)):
            kind, t = one_of(entry, f"{s.where('scheduleTimes')}[{j}]", ("dailyTime",))
            times.append(t.required_integer("minutesOfDay", 0, 1439))
        if not times:
            raise s.error("scheduleTimes", "needs at least one time")
        schedules.append(
            CommandSchedule(
                sorted(set(times)),
                s.items("parameters", max_items=20),
                s.text("label", "") or "",
                s.boolean("enabled", True),
            )
        )
    if not schedules:
        raise r.error("commandSchedules", "needs at least one schedule")
    return CommandSchedulingSpec(url, command, schedules, parse_restrictions(r))


_SPEC_PARSERS: dict[TriggerType, Callable[[Reader], Spec]] = {
    TriggerType.IF_THEN: _if_then,
    TriggerType.SENSOR_THRESHOLD: _threshold,
    TriggerType.DISCRETE: _discrete,
    TriggerType.GENERIC_COMMAND_SCHEDULING: _command_scheduling,
    TriggerType.DISCRETE_SENSOR: _discrete,
    TriggerType.GENERIC_STATE_REGULATION: partial(parse_regulation, generic=True),
    TriggerType.OVP_THERMOSTAT_REGULATION: partial(parse_regulation, generic=False),
    TriggerType.GENERIC_POINT_TO_POINT_REGULATION: parse_point_to_point,
    TriggerType.DELAYED_COMMANDS_SCHEDULING: parse_delayed_commands,
    TriggerType.DELAYED_COMMAND_SCHEDULING: partial(parse_delayed_commands, single=True),
    TriggerType.EVENT: parse_event_trigger,
}
