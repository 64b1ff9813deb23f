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
This gateway runs 3, 5, 6 and 7; the others are refused (UNSUPPORTED_OPERATION) rather than kept unrun.

Defaults: ``mode`` 1, ``allowExecuteOnEnabled`` true, ``allowFromUnknownValue`` false, delays 0, condition
``type`` EVENT_BASED, command schedule ``enabled`` true. Delays are seconds (at most 7 days).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import ValidationError

from hearth.core.operators import Operator
from hearth.core.triggers.blocks import Block, ConditionBlock, Leaf, LeafKind, StateRef, walk
from hearth.core.triggers.intervals import BoundType, IntervalKind, SchedulingInterval, TimeBound
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import now_ms

MAX_DELAY_S = 7 * 86_400
MAX_EFFECTS = 50
MAX_CONDITIONS = 200
MAX_DEPTH = 8
MAX_INTERVALS = 50
MAX_BODY_CHARS = 512 * 1024
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


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

    @property
    def supported(self) -> bool:
        return self in SUPPORTED_TYPES


_CODES = {t: i for i, t in enumerate(TriggerType, start=1)}
SUPPORTED_TYPES = frozenset({TriggerType.IF_THEN, TriggerType.SENSOR_THRESHOLD, TriggerType.DISCRETE,
                             TriggerType.GENERIC_COMMAND_SCHEDULING})


class Mode(IntEnum):
    ON = 1
    OFF = 2
    SCHEDULED = 3


def parse_type(text: str) -> TriggerType:
    try:
        return TriggerType(text)
    except ValueError:
        raise ApiError.bad_request(f"Unknown setup trigger type : {text} (one of {', '.join(TriggerType)})",
                                   ErrorCode.INVALID_FIELD_VALUE) from None


class Reader:
    """A JSON object and where it is in the body, for errors that name the field."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, reason: str) -> ApiError:
        return invalid(self.where(key), reason)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, default: str | None = None, *, required: bool = False,
             max_length: int = 256) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.error(key, "must be a text")
        if required and not value:
            raise self.error(key, "must not be empty")
        if len(value) > max_length:
            raise self.error(key, f"longer than {max_length} characters")
        return value

    def required_text(self, key: str, max_length: int = 512) -> str:
        value = self.text(key, required=True, max_length=max_length)
        assert value is not None
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "must be an integer")
        if not low <= value <= high:
            raise self.error(key, f"must be between {low} and {high}")
        return value

    def required_integer(self, key: str, low: int, high: int) -> int:
        if self.data.get(key) is None:
            raise self.error(key, "is required")
        return self.integer(key, low, low, high)

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if value is None:
            raise self.error(key, "is required")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.error(key, "must be a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.error(key, "must be a number")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def delay(self, key: str) -> int:
        return self.integer(key, 0, 0, MAX_DELAY_S)

    def items(self, key: str, *, required: bool = False, max_items: int = 1000) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return []
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        if len(value) > max_items:
            raise self.error(key, f"more than {max_items} items")
        return value

    def obj(self, key: str) -> Reader | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, "must be an object")
        return Reader(value, self.where(key))


def invalid(where: str, reason: str) -> ApiError:
    return ApiError.bad_request(f"Invalid setup trigger: {where}: {reason}", ErrorCode.INVALID_FIELD_VALUE)


def one_of(value: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, Reader]:
    """A ``{"<kind>": {...}}`` wrapper: its kind and its content."""
    if not isinstance(value, dict) or len(value) != 1:
        raise invalid(where, f"must be an object with one key, one of {', '.join(allowed)}")
    kind, inner = next(iter(value.items()))
    if kind not in allowed:
        raise invalid(where, f"unknown kind {kind!r} (one of {', '.join(allowed)})")
    if not isinstance(inner, dict):
        raise invalid(f"{where}.{kind}", "must be an object")
    return kind, Reader(inner, f"{where}.{kind}")


# ----------------------------------------------------------------------------- effects


EFFECT_KINDS = ("actionGroupEffect", "actionGroupWithAlertEffect", "defaultTriggerAlertEffect", "alertEffect")


@dataclass(frozen=True, slots=True)
class Effect:
    """Runs an action group (persisted, by OID, or carried inline). Alerts cannot be sent from the box:
    an alert-only effect is kept and shown, and logged when it would run."""

    effect_id: str
    kind: str
    action_group_oid: str | None = None
    local_group: ActionGroup | None = None

    @property
    def runs_group(self) -> bool:
        return self.action_group_oid is not None or self.local_group is not None


def parse_effects(reader: Reader, key: str) -> list[Effect]:
    effects = []
    raw = reader.items(key, max_items=MAX_EFFECTS)
    for i, item in enumerate(raw):
        where = f"{reader.where(key)}[{i}]"
        kind, inner = one_of(item, where, EFFECT_KINDS)
        oid = inner.text("actionGroupOID", max_length=64) or None
        group = None
        local = inner.data.get("localActionGroup")
        if local is not None:
            if not isinstance(local, dict):
                raise inner.error("localActionGroup", "must be an object")
            # Shown on GET as the seed's localActionGroup shows it: an oid and its times (kept once given).
            stamp = now_ms()
            local.setdefault("oid", str(uuid.uuid4()))
            local.setdefault("creationTime", stamp)
            local.setdefault("lastUpdateTime", stamp)
            try:
                group = ActionGroup.model_validate(local)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise inner.error(f"localActionGroup.{loc}" if loc else "localActionGroup", err["msg"]) from None
        if kind in ("actionGroupEffect", "actionGroupWithAlertEffect") and oid is None and group is None:
            raise invalid(where + f".{kind}", "needs actionGroupOID or localActionGroup")
        effect_id = inner.text("id", max_length=64) or str(uuid.uuid4())
        inner.data["id"] = effect_id  # shown on GET
        effects.append(Effect(effect_id, kind, oid, group))
    return effects


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
            children = tuple(self.parse(sub, f"{r.where('subConditionBlocks')}[{i}]", f"{block_id}.{i}", depth + 1)
                             for i, sub in enumerate(subs))
            return Block(block_id, kind == "andBlock", children, activation, deactivation)
        leaf_kind = LeafKind(kind)
        operator = _operator(r)
        if leaf_kind is LeafKind.DUAL:
            if operator.needs_second_value:
                raise r.error("operator", f"{operator.value} needs two values; a dual condition compares two states")
            refs: tuple[StateRef, ...] = (
                StateRef(r.required_text("deviceURL1"), r.required_text("stateName1"),
                         r.text("objectPath1") or None),
                StateRef(r.required_text("deviceURL2"), r.required_text("stateName2"),
                         r.text("objectPath2") or None))
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
        value1, value2 = _condition_value(r, "value1", True), _condition_value(r, "value2", operator.needs_second_value)
        condition_type = r.text("type", "EVENT_BASED")
        if condition_type not in ("EVENT_BASED", "RETRIGGERABLE_ON_STATE_TRANSITION"):
            raise r.error("type", "must be EVENT_BASED or RETRIGGERABLE_ON_STATE_TRANSITION")
        return Leaf(block_id, leaf_kind, refs, operator, value1, value2,
                    condition_type == "RETRIGGERABLE_ON_STATE_TRANSITION", activation, deactivation)


def _operator(r: Reader) -> Operator:
    text = r.required_text("operator", 64)
    try:
        return Operator.parse(text)
    except ValueError as exc:
        raise r.error("operator", str(exc)) from None


def _condition_value(r: Reader, key: str, required: bool) -> Any:
    value = r.data.get(key)
    if value is None:
        if required:
            raise r.error(key, "is required")
        return None
    if isinstance(value, dict | list):
        raise r.error(key, "must be a text, a number or a boolean")
    if isinstance(value, str) and len(value) > 1024:
        raise r.error(key, "longer than 1024 characters")
    return value


# ----------------------------------------------------------------------------- scheduling intervals


def _hhmm(r: Reader, key: str) -> int | None:
    value = r.data.get(key)
    if value is None or value == "":
        return None
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise r.error(key, 'must be "HH:MM"')
    return int(match.group(1)) * 60 + int(match.group(2))


def _bound(r: Reader, prefix: str, default_minutes: int) -> TimeBound:
    text = r.text(f"{prefix}Type", "TIME")
    try:
        kind = BoundType(str(text).upper())
    except ValueError:
        raise r.error(f"{prefix}Type", "must be TIME, DAWN or DUSK") from None
    angle_value = r.data.get(f"{prefix}Angle")
    angle = None
    if angle_value not in (None, 0):
        angle = r.number(f"{prefix}Angle")
        if not 0 < angle <= 18:
            raise r.error(f"{prefix}Angle", "must be between 0 and 18 degrees below the horizon")
    return TimeBound(kind, r.integer(f"{prefix}Minutes", default_minutes, 0, 1440),
                     r.integer(f"{prefix}Offset", 0, -720, 720), angle,
                     _hhmm(r, f"{prefix}AlwaysBefore"), _hhmm(r, f"{prefix}AlwaysAfter"))


def _month_day(r: Reader, prefix: str) -> tuple[int, int]:
    month, day = r.required_integer(f"{prefix}Month", 1, 12), r.required_integer(f"{prefix}Day", 1, 31)
    try:
        date(2000, month, day)  # a leap year: 29 February is a day
    except ValueError:
        raise r.error(f"{prefix}Day", f"{month}/{day} is not a day of the year") from None
    return month, day


INTERVAL_KINDS = (*(k.value for k in IntervalKind), "dayType")


def parse_interval(value: Any, where: str) -> SchedulingInterval:
    kind_text, r = one_of(value, where, INTERVAL_KINDS)
    if kind_text == "dayType":
        raise invalid(f"{where}.dayType", "day types come from a calendar, which this gateway does not keep")
    kind = IntervalKind(kind_text)
    start, stop = _bound(r, "start", 0), _bound(r, "stop", 1440)
    if kind is IntervalKind.WEEKLY:
        return SchedulingInterval(kind, start, stop, start_day=r.required_integer("startDay", 1, 7),
                                  stop_day=r.required_integer("stopDay", 1, 7))
    if kind in (IntervalKind.WEEK_DAYS, IntervalKind.WEEK_HOURS, IntervalKind.ANNUAL_WEEK_HOURS):
        mask = r.required_integer("dayMask", 0, 255)
        if not mask & 0x7F:
            raise r.error("dayMask", "selects no day (bit 0 Sunday ... bit 6 Saturday)")
        if kind is IntervalKind.ANNUAL_WEEK_HOURS:
            (m1, d1), (m2, d2) = _month_day(r, "start"), _month_day(r, "stop")
            return SchedulingInterval(kind, start, stop, start_day=d1, stop_day=d2, start_month=m1, stop_month=m2,
                                      day_mask=mask)
        return SchedulingInterval(kind, start, stop, day_mask=mask)
    if kind is IntervalKind.ANNUAL:
        (m1, d1), (m2, d2) = _month_day(r, "start"), _month_day(r, "stop")
        return SchedulingInterval(kind, start, stop, start_day=d1, stop_day=d2, start_month=m1, stop_month=m2)
    if kind is IntervalKind.ABSOLUTE:
        if start.type is not BoundType.TIME or stop.type is not BoundType.TIME:
            raise invalid(where, "an absolute schedule is given in minutes (TIME)")
        dates = []
        for prefix in ("start", "stop"):
            year = r.required_integer(f"{prefix}Year", 1970, 9999)
            month, day = _month_day(r, prefix)
            try:
                dates.append(date(year, month, day))
            except ValueError:
                raise r.error(f"{prefix}Day", f"{year}-{month}-{day} is not a date") from None
        if (dates[1], stop.minutes) <= (dates[0], start.minutes):
            raise invalid(where, "stops before it starts")
        return SchedulingInterval(kind, start, stop, start_day=dates[0].day, stop_day=dates[1].day,
                                  start_month=dates[0].month, stop_month=dates[1].month,
                                  start_year=dates[0].year, stop_year=dates[1].year)
    return SchedulingInterval(kind, start, stop)


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
    restrictions: list[tuple[str, Any]]


Spec = IfThenSpec | ThresholdSpec | DiscreteSpec | CommandSchedulingSpec


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
        return [StateRef(spec.device_url, name) for name, _ in spec.restrictions]

    @property
    def source_device_urls(self) -> list[str]:
        urls = [ref.device_url for ref in self.source_refs]
        if isinstance(self.spec, CommandSchedulingSpec):
            urls.insert(0, self.spec.device_url)
        return list(dict.fromkeys(urls))


_SHOWN_ONLY = ("oid", "id", "creationTime", "lastUpdateTime")


def parse_trigger(body: Any) -> TriggerDefinition:
    """Check a client's ``{"<type>": {...}}``; the error names the field and the reason."""
    if not isinstance(body, dict) or len(body) != 1:
        raise ApiError.bad_request("Invalid setup trigger: expected {\"<triggerType>\": {...}}",
                                   ErrorCode.INVALID_FIELD_VALUE)
    type_text, inner = next(iter(body.items()))
    trigger_type = parse_type(type_text)
    if not trigger_type.supported:
        raise ApiError.unsupported(f"Setup trigger type {trigger_type.value} is not run by this gateway "
                                   f"(it runs {', '.join(sorted(SUPPORTED_TYPES))})")
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
    intervals = [parse_interval(v, f"{r.where('schedulingIntervals')}[{i}]")
                 for i, v in enumerate(r.items("schedulingIntervals", max_items=MAX_INTERVALS))]
    allow_enabled = r.boolean("allowExecuteOnEnabled", True)
    allow_unknown = r.boolean("allowFromUnknownValue", False)
    r.boolean("serverSide", False)
    r.boolean("usingTriggerModeFlag", False)
    spec = _SPEC_PARSERS[trigger_type](r)
    data.update({"label": label, "mode": mode_number, "allowExecuteOnEnabled": allow_enabled,
                 "allowFromUnknownValue": allow_unknown})
    data.setdefault("schedulingIntervals", [])
    definition = TriggerDefinition(trigger_type, label, metadata, Mode(mode_number), intervals, allow_enabled,
                                   allow_unknown, spec, data, oid if isinstance(oid, str) else None, extra)
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


def _ref(r: Reader) -> StateRef:
    return StateRef(r.required_text("deviceURL"), r.required_text("stateName"), r.text("objectPath") or None)


def _threshold(r: Reader) -> ThresholdSpec:
    ref = _ref(r)
    upper, lower = r.number("upperBound"), r.number("lowerBound")
    if lower > upper:
        raise r.error("lowerBound", f"{lower:g} is above upperBound {upper:g}")
    zones = {name: Zone(name, parse_effects(r, f"{name}Effects"), r.delay(f"{name}ActivationDelay"),
                        r.delay(f"{name}DeactivationDelay")) for name in ZONES}
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
    ref = _ref(r)
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
        keys.append(DiscreteKey(key_value, parse_effects(entry, "effects"), activation.get(key_value, 0),
                                deactivation.get(key_value, 0)))
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
        schedules.append(CommandSchedule(sorted(set(times)), s.items("parameters", max_items=20),
                                         s.text("label", "") or "", s.boolean("enabled", True)))
    if not schedules:
        raise r.error("commandSchedules", "needs at least one schedule")
    restrictions = []
    for i, item in enumerate(r.items("stateRestrictions", max_items=20)):
        where = f"{r.where('stateRestrictions')}[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "must be an object")
        s = Reader(item, where)
        restrictions.append((s.required_text("stateName"), _condition_value(s, "stateValue", True)))
    return CommandSchedulingSpec(url, command, schedules, restrictions)


_SPEC_PARSERS: dict[TriggerType, Callable[[Reader], Spec]] = {
    TriggerType.IF_THEN: _if_then,
    TriggerType.SENSOR_THRESHOLD: _threshold,
    TriggerType.DISCRETE: _discrete,
    TriggerType.GENERIC_COMMAND_SCHEDULING: _command_scheduling,
}
