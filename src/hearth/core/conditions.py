"""Condition groups: conditions on device states, kept, indexed and evaluated on the gateway itself.

A condition group is a list of conditions that must all hold. One condition is, on the wire::

    {"controllable": {"controllableNames": ["zigbee:TemperatureSensorComponent"],
                      "stateName": "core:TemperatureState", "operator": "GREATERTHAN", "value": "25"}}

It covers every device of the setup whose controllableName is listed. The End-User API has no other kind
of condition, and no client we know of sends one. As our extension, a condition may name one device
instead (``{"device": {"deviceURL": ..., "stateName", "operator", "value"}}``), because a controllable
condition cannot tell apart two devices of the same kind (the front door's contact from the garage's).
BETWEEN_INCLUSIVE takes its bounds as ``"value": [low, high]`` or as ``"value"`` and ``"value2"``.

When it holds (the rule, for every condition of the group):
- each device the condition covers is tested: it is *failed* when it cannot be evaluated (it is
  unavailable or disabled, the state is missing, the value cannot be compared with the state, or the
  device a deviceURL condition names is no longer in the setup), else
  *invalidating* when its state makes the condition false, else it satisfies the condition;
- a listed controllable with no device in the setup is *ignored*: it neither helps nor hinders;
- the condition holds when it covers at least one device and every device it covers satisfies it. A
  condition whose controllables are all ignored does not hold: nothing shows that it is true.
The group holds (evaluationStatus SUCCESS) when every condition holds, else FAILED. Availability does not
apply to a condition on ``core:StatusState`` itself, so "the sensor is unavailable" can be a condition.

The ConditionIndex keeps the current truth of every group and updates it from the bus: a state change
re-tests only the conditions keyed by (that deviceURL, that state) or (that controllableName, that state),
and only for the device that changed, never a scan of the groups.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Protocol

from hearth.core.bus import EventBus
from hearth.core.catalogue import Catalogue
from hearth.core.operators import Comparison, Incomparable, Operator
from hearth.model.datatype import DataType
from hearth.model.definition import StateSpec
from hearth.model.device import Device
from hearth.model.device_url import DeviceURL, InvalidDeviceURL
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import (
    ConditionGroupCreatedEvent,
    ConditionGroupDeletedEvent,
    ConditionGroupUpdatedEvent,
    DeviceAvailableEvent,
    DeviceCreatedEvent,
    DeviceDisabledEvent,
    DeviceRemovedEvent,
    DeviceStateChangedEvent,
    DeviceUnavailableEvent,
    DeviceUpdatedEvent,
    Event,
    now_ms,
)
from hearth.model.strict import UnknownField, refuse_unknown
from hearth.store.database import Database

log = logging.getLogger(__name__)

STATUS_STATE = "core:StatusState"
MAX_GROUPS = 5000
MAX_CONDITIONS = 50
MAX_NAMES = 100
MAX_LABEL = 256
MAX_METADATA = 4096
MAX_TEXT = 1024


# ----------------------------------------------------------------------------- the model


class ConditionKind(StrEnum):
    CONTROLLABLE = "controllable"  # the End-User API's only kind: every device of some controllables
    DEVICE = "device"  # our extension: one device


_KINDS = tuple(ConditionKind)  # iterating the enum class itself is slow


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    kind: ConditionKind
    targets: tuple[str, ...]  # controllableNames, or the one deviceURL (canonical form)
    state_name: str
    operator: Operator
    comparison: Comparison
    wire: dict[str, Any]  # the condition as stored and shown: what the client sent, known keys only


@dataclass(slots=True)
class ConditionGroup:
    oid: str
    label: str
    metadata: str | None
    conditions: tuple[Condition, ...]
    creation_time: int
    last_update_time: int

    def wire_conditions(self) -> list[dict[str, Any]]:
        return [c.wire for c in self.conditions]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "creationTime": self.creation_time,
            "lastUpdateTime": self.last_update_time,
            "label": self.label,
        }
        if self.metadata is not None:
            out["metadata"] = self.metadata
        out["conditions"] = self.wire_conditions()
        out["oid"] = self.oid
        return out


class ConditionError(ValueError):
    """A condition group that does not validate; ``field`` is where, as the client wrote it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def to_api(self) -> ApiError:
        return ApiError.bad_request(str(self), ErrorCode.INVALID_FIELD_VALUE)


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class GroupDefinition:
    """A validated body: what a create or update needs, before it has an oid."""

    label: str
    metadata: str | None
    conditions: tuple[Condition, ...]


# Seed 003's condition group and condition (section "Condition groups"), plus our "device" condition and the
# "value2" bound of BETWEEN_INCLUSIVE. GET gives back creationTime, lastUpdateTime and oid: a PUT may carry them.
_GROUP_FIELDS = frozenset({"label", "metadata", "conditions", "oid", "creationTime", "lastUpdateTime"})
_CONDITION_FIELDS = {
    ConditionKind.CONTROLLABLE: frozenset({"controllableNames", "stateName", "operator", "value", "value2"}),
    ConditionKind.DEVICE: frozenset({"deviceURL", "stateName", "operator", "value", "value2"}),
}


def _refuse_unknown(body: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    try:
        refuse_unknown(body, allowed, where)
    except UnknownField as exc:
        raise ConditionError(exc.where, "unknown field: not defined here") from None


def parse_group(body: Any) -> GroupDefinition:
    """Validate a condition group as a client sends it; every error names its field."""
    if not isinstance(body, Mapping):
        raise ConditionError("body", "must be a JSON object")
    _refuse_unknown(body, _GROUP_FIELDS, "")
    label = body.get("label")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise ConditionError("label", f"must be a text of at most {MAX_LABEL} characters")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > MAX_METADATA):
        raise ConditionError("metadata", f"must be a text of at most {MAX_METADATA} characters, or null")
    entries = body.get("conditions")
    if entries is None:
        raise ConditionError("conditions", "missing (a condition group is composed of one or more conditions)")
    if not isinstance(entries, list) or not entries:
        raise ConditionError("conditions", "must be a list of one or more conditions")
    if len(entries) > MAX_CONDITIONS:
        raise ConditionError("conditions", f"at most {MAX_CONDITIONS} conditions in a group")
    return GroupDefinition(
        label, metadata, tuple(parse_condition(e, f"conditions[{i}]") for i, e in enumerate(entries))
    )


def parse_condition(entry: Any, where: str) -> Condition:
    if not isinstance(entry, Mapping):
        raise ConditionError(where, 'must be a JSON object such as {"controllable": {...}}')
    kinds = [k for k in _KINDS if k.value in entry]
    if len(kinds) != 1:
        raise ConditionError(
            where,
            'must hold exactly one of "controllable" (the End-User API\'s condition) '
            'or "device" (one deviceURL, our extension)',
        )
    kind = kinds[0]
    _refuse_unknown(entry, {kind.value}, where)
    where = f"{where}.{kind.value}"
    spec = entry[kind.value]
    if not isinstance(spec, Mapping):
        raise ConditionError(where, "must be a JSON object")
    _refuse_unknown(spec, _CONDITION_FIELDS[kind], where)
    wire: dict[str, Any] = {}
    if kind is ConditionKind.CONTROLLABLE:
        names = spec.get("controllableNames")
        if names is None:
            raise ConditionError(f"{where}.controllableNames", "missing")
        if not isinstance(names, list) or not names:
            raise ConditionError(f"{where}.controllableNames", "must be a list of one or more controllable names")
        if len(names) > MAX_NAMES:
            raise ConditionError(f"{where}.controllableNames", f"at most {MAX_NAMES} names")
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_TEXT:
                raise ConditionError(f"{where}.controllableNames[{i}]", "must be a controllable name")
        targets = tuple(dict.fromkeys(names))
        wire["controllableNames"] = list(targets)
    else:
        text = spec.get("deviceURL")
        if text is None:
            raise ConditionError(f"{where}.deviceURL", "missing")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ConditionError(f"{where}.deviceURL", "must be a deviceURL")
        try:
            url = str(DeviceURL.parse(text))
        except InvalidDeviceURL as exc:
            raise ConditionError(f"{where}.deviceURL", str(exc)) from None
        targets = (url,)
        wire["deviceURL"] = url
    state_name = spec.get("stateName")
    if state_name is None:
        raise ConditionError(f"{where}.stateName", "missing")
    if not isinstance(state_name, str) or not state_name.strip() or len(state_name) > MAX_TEXT:
        raise ConditionError(f"{where}.stateName", "must be a state name such as core:TemperatureState")
    wire["stateName"] = state_name
    spelled = spec.get("operator")
    if spelled is None:
        raise ConditionError(f"{where}.operator", "missing")
    if not isinstance(spelled, str):
        raise ConditionError(f"{where}.operator", "must be a text such as GREATER_THAN or GREATERTHAN")
    try:
        operator = Operator.parse(spelled)
    except ValueError as exc:
        raise ConditionError(f"{where}.operator", str(exc)) from None
    wire["operator"] = spelled  # as the client spelled it: GET gives back what was sent
    if "value" not in spec or spec["value"] is None:
        raise ConditionError(f"{where}.value", "missing")
    value = _check_value(spec["value"], f"{where}.value")
    wire["value"] = value
    value2 = None
    if operator.needs_second_value:
        if isinstance(value, list):
            if len(value) != 2 or "value2" in spec:
                raise ConditionError(f"{where}.value", f"{operator.value} takes two bounds: [low, high]")
            value, value2 = value
            _check_value(value, f"{where}.value[0]")
            _check_value(value2, f"{where}.value[1]")
        elif spec.get("value2") is None:
            raise ConditionError(
                f"{where}.value2",
                f'{operator.value} needs a second bound ("value": [low, high], or "value" and "value2")',
            )
        else:
            value2 = wire["value2"] = _check_value(spec["value2"], f"{where}.value2")
    elif spec.get("value2") is not None:
        raise ConditionError(f"{where}.value2", f"only BETWEEN_INCLUSIVE takes a second value, not {operator.value}")
    return Condition(kind, targets, state_name, operator, Comparison(operator, value, value2), {kind.value: wire})


def _check_value(value: Any, where: str) -> Any:
    if isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ConditionError(where, f"at most {MAX_TEXT} characters")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConditionError(where, "must be a finite number")
        return value
    if isinstance(value, list | dict):
        # A JSON value, for states of type 10 and 11 (or the two bounds of BETWEEN_INCLUSIVE).
        if len(json.dumps(value)) > MAX_TEXT:
            raise ConditionError(where, f"at most {MAX_TEXT} characters of JSON")
        if _finite(value):
            return value
        raise ConditionError(where, "must hold finite numbers only")
    if value is None:
        raise ConditionError(where, "missing")
    raise ConditionError(where, "must be a text, a number, a boolean or a JSON value")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


# Values that stand for a state of each type, to check a condition's value against the catalogue.
_SAMPLES: dict[DataType, Any] = {
    DataType.INTEGER: 0,
    DataType.FLOAT: 0.0,
    DataType.STRING: "",
    DataType.BOOLEAN: False,
    DataType.JSON_ARRAY: [],
    DataType.JSON_OBJECT: {},
}


def _misfit(condition: Condition, spec: StateSpec) -> tuple[str, str] | None:
    """(field, why) the condition can never be tested on a state of ``spec``, or None if it can."""
    sample = _SAMPLES.get(spec.type)
    if sample is None:
        return None
    kind = f"{spec.name} is of type {int(spec.type)}, {spec.type.name.lower()}"
    op = condition.operator
    if op.orders and spec.type in (DataType.BOOLEAN, DataType.JSON_ARRAY, DataType.JSON_OBJECT):
        return "operator", f"{op.value} does not apply ({kind}); use EQUALS or NOT_EQUALS"
    try:
        condition.comparison.check(sample)
    except Incomparable as exc:
        return "value", f"{exc} ({kind})"
    if spec.values and spec.type is DataType.STRING and not op.orders:
        value = condition.comparison.value1
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if text not in spec.values:
            return "value", f"{text!r} is never a value of {spec.name} (one of {', '.join(spec.values)})"
    return None


# ----------------------------------------------------------------------------- evaluation


class Verdict(IntEnum):
    SATISFIED = 0
    INVALIDATING = 1  # the device's state makes the condition false
    FAILED = 2  # the device cannot be evaluated


_SATISFIED, _INVALIDATING, _FAILED = Verdict.SATISFIED, Verdict.INVALIDATING, Verdict.FAILED


def device_verdict(condition: Condition, device: Device | None) -> Verdict:
    """FAILED for a device that is missing, disabled, unavailable (unless the condition is on its status),
    or whose state is missing or not comparable; else SATISFIED or INVALIDATING."""
    if device is None:
        return _FAILED
    return _verdict(condition.state_name, condition.comparison, device, _down(device))


def _down(device: Device) -> bool:
    """Whether the device's states cannot be trusted: disabled, unavailable, or reporting itself so."""
    if not device.available or not device.enabled:
        return True
    status = device.states.get(STATUS_STATE)
    return status is not None and status.value == "unavailable"


def _verdict(name: str, comparison: Comparison, device: Device, down: bool) -> Verdict:
    # On the path of every state change (``down`` is worked out once per device): plain reads, the
    # compiled test looked up directly, verdicts as module constants.
    if down and name != STATUS_STATE:
        return _FAILED
    state = device.states.get(name)
    if state is None:
        return _FAILED
    value = state.value
    if value is None or value != value:  # missing, or NaN
        return _FAILED
    test = comparison.tests.get(type(value)) or comparison.test_for(value)
    try:
        return _SATISFIED if test(value) else _INVALIDATING
    except Incomparable:
        return _FAILED


@dataclass(frozen=True, slots=True)
class Evaluation:
    holds: bool
    evaluation_time: int
    failed_devices: list[str] = field(default_factory=list)
    invalidating_devices: list[str] = field(default_factory=list)
    ignored_controllables: list[str] = field(default_factory=list)
    # indexes of the conditions that cover no device at all (not on the wire; said in refusals)
    without_devices: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluationStatus": "SUCCESS" if self.holds else "FAILED",
            "evaluationTime": self.evaluation_time,
            "failedDevices": self.failed_devices,
            "invalidatingDevices": self.invalidating_devices,
            "ignoredControllables": self.ignored_controllables,
        }

    def reason(self) -> str:
        """Why the group does not hold, in words for an error message."""
        parts = []
        if self.invalidating_devices:
            parts.append("invalidating devices: " + ", ".join(self.invalidating_devices))
        if self.failed_devices:
            parts.append(
                "devices that could not be evaluated (unavailable, state missing or value not "
                "comparable): " + ", ".join(self.failed_devices)
            )
        if self.without_devices:
            where = ", ".join(f"conditions[{i}]" for i in self.without_devices)
            parts.append(f"no device in the setup for {where}")
        if self.ignored_controllables:
            parts.append("ignored controllables: " + ", ".join(self.ignored_controllables))
        return "; ".join(parts) if parts else "it holds"


def evaluate(
    conditions: Sequence[Condition],
    device: Callable[[str], Device | None],
    urls_of: Mapping[str, Collection[str]],
    now: int | None = None,
) -> Evaluation:
    """Evaluate conditions afresh: ``device(url)`` looks a device up, ``urls_of`` lists a controllable's."""
    failed: set[str] = set()
    invalidating: set[str] = set()
    ignored: dict[str, None] = {}
    without: list[int] = []
    holds = True
    for index, condition in enumerate(conditions):
        if condition.kind is ConditionKind.DEVICE:
            urls: Iterable[str] = condition.targets
        else:
            covered: list[str] = []
            for name in condition.targets:
                found = urls_of.get(name)
                if found:
                    covered.extend(found)
                else:
                    ignored[name] = None
            urls = covered
            if not covered:
                without.append(index)
                holds = False
        for url in urls:
            verdict = device_verdict(condition, device(url))
            if verdict is Verdict.FAILED:
                failed.add(url)
                holds = False
            elif verdict is Verdict.INVALIDATING:
                invalidating.add(url)
                holds = False
    return Evaluation(
        holds, now_ms() if now is None else now, sorted(failed), sorted(invalidating), list(ignored), without
    )


# ----------------------------------------------------------------------------- the index


class DeviceLookup(Protocol):
    """What the index needs of the setup (the DeviceRegistry is one)."""

    def get(self, url: str) -> Device | None: ...

    def all(self) -> list[Device]: ...


TruthListener = Callable[[str, bool], None]


class _Tracked:
    """One condition of one group in the index, and whether it holds.

    A controllable condition also keeps the devices it covers and those of them that do not satisfy it;
    a condition on one device holds when that device satisfies it, so it needs neither.
    """

    __slots__ = ("condition", "state_name", "comparison", "group", "devices", "bad", "holds")

    def __init__(self, condition: Condition, group: _Truth) -> None:
        self.condition = condition
        # Copied from the condition: the hot loops read them without the extra hop.
        self.state_name = condition.state_name
        self.comparison = condition.comparison
        self.group = group
        self.devices: set[str] = set()
        self.bad: set[str] = set()
        self.holds = False


class _Truth:
    __slots__ = ("oid", "tracked", "failing", "holds")

    def __init__(self, oid: str) -> None:
        self.oid = oid
        self.tracked: list[_Tracked] = []
        self.failing = 0  # how many of its conditions do not hold
        self.holds = False


class ConditionIndex:
    """(deviceURL or controllableName, stateName) -> the conditions that name it, and each group's truth.

    A change re-tests the changed device against those conditions only; each condition keeps the set of
    its devices that fail or invalidate it, so its truth is known without looking at its other devices.
    A change of the setup itself (a device created, removed, changed, disabled, (un)available) re-tests the
    conditions that cover that device. Truth changes are announced to watchers, synchronously.
    """

    def __init__(self, devices: DeviceLookup) -> None:
        self._devices = devices
        self._by_device_state: dict[tuple[str, str], list[_Tracked]] = {}
        self._by_controllable_state: dict[tuple[str, str], list[_Tracked]] = {}
        self._by_device: dict[str, list[_Tracked]] = {}
        self._by_controllable: dict[str, list[_Tracked]] = {}
        self._groups: dict[str, _Truth] = {}
        # The setup as the index sees it: controllable -> its devices, and back.
        self._members: dict[str, set[str]] = {}
        self._controllable_of: dict[str, str] = {}
        self._watchers: dict[str | None, list[TruthListener]] = {}
        self._dirty: list[_Truth] = []  # groups whose conditions changed, to announce when the change is done
        self._unsubscribe: Callable[[], None] | None = None

    # -- the groups

    def __len__(self) -> int:
        return len(self._groups)

    def __contains__(self, oid: object) -> bool:
        return oid in self._groups

    def holds(self, oid: str) -> bool:
        """The current truth of a group (KeyError if the index does not have it)."""
        return self._groups[oid].holds

    def truths(self) -> dict[str, bool]:
        return {oid: truth.holds for oid, truth in self._groups.items()}

    def put(self, oid: str, conditions: Sequence[Condition], *, evaluate: bool = True) -> None:
        """Add a group, or replace its conditions; its truth is evaluated at once.

        ``evaluate=False`` when many groups are put before one ``rebuild`` (at load): each would be
        evaluated twice, the first time against a setup the index has not read yet.
        """
        old = self._groups.get(oid)
        if old is not None:
            self._unindex(old)
        truth = _Truth(oid)
        truth.holds = old.holds if old is not None else False
        truth.failing = len(conditions)
        for condition in conditions:
            tracked = _Tracked(condition, truth)
            truth.tracked.append(tracked)
            for target in condition.targets:
                if condition.kind is ConditionKind.DEVICE:
                    self._by_device_state.setdefault((target, condition.state_name), []).append(tracked)
                    self._by_device.setdefault(target, []).append(tracked)
                else:
                    self._by_controllable_state.setdefault((target, condition.state_name), []).append(tracked)
                    self._by_controllable.setdefault(target, []).append(tracked)
        self._groups[oid] = truth
        if evaluate:
            for tracked in truth.tracked:
                self._assess(tracked)
        self._dirty.append(truth)  # a replaced group that held may hold no more
        self._flush()

    def remove(self, oid: str) -> None:
        truth = self._groups.pop(oid, None)
        if truth is None:
            return
        self._unindex(truth)
        truth.failing = len(truth.tracked) or 1
        self._dirty.append(truth)
        self._flush()
        self._watchers.pop(oid, None)

    def _unindex(self, truth: _Truth) -> None:
        for tracked in truth.tracked:
            condition = tracked.condition
            for target in condition.targets:
                if condition.kind is ConditionKind.DEVICE:
                    _drop(self._by_device_state, (target, condition.state_name), tracked)
                    _drop(self._by_device, target, tracked)
                else:
                    _drop(self._by_controllable_state, (target, condition.state_name), tracked)
                    _drop(self._by_controllable, target, tracked)

    def rebuild(self) -> None:
        """Read the whole setup again and re-evaluate every group (at load, or after a reload)."""
        self._members.clear()
        self._controllable_of.clear()
        by_url: dict[str, Device] = {}
        for device in self._devices.all():
            self._members.setdefault(device.controllable.name, set()).add(device.url_text)
            self._controllable_of[device.url_text] = device.controllable.name
            by_url[device.url_text] = device
        # Device by device for the conditions that name one: each device is looked at once.
        dirty = self._dirty
        for url, named in self._by_device.items():
            found = by_url.get(url)
            if found is None:
                for tracked in named:
                    self._set(tracked, False)
                continue
            down = _down(found)
            for tracked in named:
                holds = _verdict(tracked.state_name, tracked.comparison, found, down) is _SATISFIED
                if holds is not tracked.holds:  # _set, inlined: this loop is the reload's cost
                    tracked.holds = holds
                    tracked.group.failing += -1 if holds else 1
                    dirty.append(tracked.group)
        assessed: set[_Tracked] = set()
        for covering in self._by_controllable.values():
            for tracked in covering:
                if tracked not in assessed:  # a condition on several controllables is listed under each
                    assessed.add(tracked)
                    self._assess(tracked)
        self._flush()

    # -- watchers

    def watch(self, listener: TruthListener, oid: str | None = None) -> Callable[[], None]:
        """Call ``listener(oid, holds)`` whenever the truth of group ``oid`` (of any group if None) changes.

        Called synchronously, inside the publish of the state change: it must be quick (a trigger engine
        schedules its work). Returns the unsubscriber.
        """
        listeners = self._watchers.setdefault(oid, [])
        listeners.append(listener)

        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    def _flush(self) -> None:
        """Announce the groups whose truth changed, once the whole change has been applied.

        Announcing from inside the change would show passing states: an event that makes condition A
        true and B false would announce the group true, then false.
        """
        if not self._dirty:
            return
        # The same list object stays: a caller may hold it (on_states appends to it directly).
        dirty = self._dirty.copy()
        self._dirty.clear()
        for truth in dirty:
            holds = truth.failing == 0
            if truth.holds is holds:
                continue
            truth.holds = holds
            for listener in (*self._watchers.get(truth.oid, ()), *self._watchers.get(None, ())):
                try:
                    listener(truth.oid, holds)
                except Exception:
                    log.exception("condition group watcher %r failed", listener)

    # -- the bus

    def attach(self, bus: EventBus) -> None:
        if self._unsubscribe is not None:
            return
        off_states = bus.subscribe(self.on_states, DeviceStateChangedEvent)
        off_setup = bus.subscribe(
            self.on_setup_change,
            DeviceCreatedEvent,
            DeviceUpdatedEvent,
            DeviceRemovedEvent,
            DeviceDisabledEvent,
            DeviceAvailableEvent,
            DeviceUnavailableEvent,
        )

        def unsubscribe() -> None:
            off_states()
            off_setup()

        self._unsubscribe = unsubscribe

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_states(self, event: DeviceStateChangedEvent) -> None:
        if not self._groups:
            return  # no condition group: a state change costs nothing here
        url = event.device_url
        device = self._devices.get(url)
        if device is None:
            return
        controllable = device.controllable.name
        down = _down(device)
        dirty = self._dirty
        by_device = self._by_device_state
        by_controllable = self._by_controllable_state
        for state in event.device_states:
            name = state["name"]
            if name == STATUS_STATE:
                # Reachability changes the verdict of every condition on this device, whatever its state.
                self.device_changed(url)
                continue
            for tracked in by_device.get((url, name), ()):
                holds = _verdict(tracked.state_name, tracked.comparison, device, down) is _SATISFIED
                if holds is not tracked.holds:  # _set, inlined: the hot path of every state change
                    tracked.holds = holds
                    tracked.group.failing += -1 if holds else 1
                    dirty.append(tracked.group)
            for tracked in by_controllable.get((controllable, name), ()):
                self._retest(tracked, url, device, down)
        if self._dirty:
            self._flush()

    def on_setup_change(self, event: Event) -> None:
        url = getattr(event, "device_url", None)
        if isinstance(url, str):
            self.device_changed(url)

    def device_changed(self, url: str) -> None:
        """Re-test every condition that covers or may now cover the device at ``url``."""
        device = self._devices.get(url)
        old = self._controllable_of.pop(url, None)
        if old is not None:
            members = self._members.get(old)
            if members is not None:
                members.discard(url)
        new = device.controllable.name if device is not None else None
        if new is not None:
            self._controllable_of[url] = new
            self._members.setdefault(new, set()).add(url)
        affected: dict[_Tracked, None] = dict.fromkeys(self._by_device.get(url, ()))
        for name in {old, new}:
            if name is not None:
                affected.update(dict.fromkeys(self._by_controllable.get(name, ())))
        down = device is None or _down(device)
        for tracked in affected:
            self._retest(tracked, url, device, down)
        self._flush()

    # -- re-testing

    def _assess(self, tracked: _Tracked) -> None:
        condition = tracked.condition
        lookup = self._devices.get
        if condition.kind is ConditionKind.DEVICE:
            self._set(tracked, device_verdict(condition, lookup(condition.targets[0])) is _SATISFIED)
            return
        devices: set[str] = set()
        for name in condition.targets:
            devices.update(self._members.get(name, ()))
        tracked.devices = devices
        tracked.bad = {url for url in devices if device_verdict(condition, lookup(url)) is not _SATISFIED}
        self._set(tracked, not tracked.bad and bool(devices))

    def _retest(self, tracked: _Tracked, url: str, device: Device | None, down: bool) -> None:
        """Re-test one device (gone if None) against one condition."""
        condition = tracked.condition
        if condition.kind is ConditionKind.DEVICE:
            self._set(
                tracked,
                device is not None and _verdict(tracked.state_name, tracked.comparison, device, down) is _SATISFIED,
            )
            return
        if device is None or device.controllable.name not in condition.targets:
            tracked.devices.discard(url)
            tracked.bad.discard(url)
        else:
            tracked.devices.add(url)
            if _verdict(tracked.state_name, tracked.comparison, device, down) is _SATISFIED:
                tracked.bad.discard(url)
            else:
                tracked.bad.add(url)
        self._set(tracked, not tracked.bad and bool(tracked.devices))

    def _set(self, tracked: _Tracked, holds: bool) -> None:
        if holds is tracked.holds:
            return
        tracked.holds = holds
        truth = tracked.group
        truth.failing += -1 if holds else 1
        self._dirty.append(truth)


def _drop(index: dict[Any, list[_Tracked]], key: Any, tracked: _Tracked) -> None:
    entries = index.get(key)
    if entries is None:
        return
    if tracked in entries:
        entries.remove(tracked)
    if not entries:
        del index[key]


# ----------------------------------------------------------------------------- the store


class ConditionGroupStore:
    """Persisted condition groups: kept in memory and in the index, written through to SQLite."""

    def __init__(self, db: Database, bus: EventBus, registry: DeviceLookup, catalogue: Catalogue) -> None:
        self._db = db
        self._bus = bus
        self._registry = registry
        self._catalogue = catalogue
        self._groups: dict[str, ConditionGroup] = {}
        self.index = ConditionIndex(registry)

    async def load(self) -> None:
        for oid, body, created, updated in await self._db.fetchall(
            "SELECT oid, body, creation_time, last_update_time FROM condition_groups"
        ):
            try:
                definition = parse_group(json.loads(body))
            except (ValueError, ConditionError) as exc:
                # Written by us, so only an older Hearth could have; keep it in the file, do not run it.
                log.error("condition group %s is not loaded: %s", oid, exc)
                continue
            self._groups[oid] = ConditionGroup(
                oid, definition.label, definition.metadata, definition.conditions, created, updated
            )
            self.index.put(oid, definition.conditions, evaluate=False)
        self.index.rebuild()
        self.index.attach(self._bus)

    def close(self) -> None:
        self.index.detach()

    def __len__(self) -> int:
        return len(self._groups)

    def get(self, oid: str) -> ConditionGroup:
        group = self._groups.get(oid)
        if group is None:
            raise ApiError.not_found(f"No such condition group : {oid}")
        return group

    def all(self) -> list[ConditionGroup]:
        return list(self._groups.values())

    def all_json(self) -> list[dict[str, Any]]:
        return [g.to_json() for g in self._groups.values()]

    # -- writes

    def validate(self, body: Any) -> GroupDefinition:
        """Parse and check against the setup: named devices exist, values fit the states' types."""
        try:
            definition = parse_group(body)
        except ConditionError as exc:
            raise exc.to_api() from None
        for i, condition in enumerate(definition.conditions):
            where = f"conditions[{i}].{condition.kind.value}"
            if condition.kind is ConditionKind.DEVICE:
                device = self._registry.get(condition.targets[0])
                if device is None:
                    raise ApiError(
                        400, ErrorCode.NO_SUCH_DEVICE, f'{where}.deviceURL: No such device : "{condition.targets[0]}"'
                    )
                specs = [device.controllable.states.get(condition.state_name)]
            else:
                specs = []
                for name in condition.targets:
                    controllable = self._catalogue.get(name)
                    if controllable is not None:
                        specs.append(controllable.states.get(condition.state_name))
            known = [s for s in specs if s is not None]
            misfits = [m for m in (_misfit(condition, s) for s in known) if m is not None]
            if known and len(misfits) == len(known):
                # No state of that name in any listed controllable can ever be compared: say why.
                field, reason = misfits[0]
                raise ConditionError(f"{where}.{field}", reason).to_api()
        return definition

    def __contains__(self, oid: object) -> bool:
        return oid in self._groups

    async def create(self, body: Any, oid: str | None = None) -> str:
        """Store a new group; ``oid`` when another system chose it (the cloud), else a new one."""
        definition = self.validate(body)
        if len(self._groups) >= MAX_GROUPS:
            raise ApiError.bad_request(f"At most {MAX_GROUPS} condition groups", ErrorCode.UNSUPPORTED_OPERATION)
        if oid is not None and oid in self._groups:
            raise ApiError.bad_request(f"Condition group {oid} exists already")
        oid = oid or str(uuid.uuid4())
        now = now_ms()
        group = ConditionGroup(oid, definition.label, definition.metadata, definition.conditions, now, now)
        await self._save(group)
        self._bus.publish(
            ConditionGroupCreatedEvent(
                condition_group_oid=oid, label=group.label, metadata=group.metadata, conditions=group.wire_conditions()
            )
        )
        return oid

    async def update(self, body: Any) -> None:
        oid = body.get("oid") if isinstance(body, Mapping) else None
        if not isinstance(oid, str) or not oid:
            raise ConditionError("oid", "missing: the oid of the condition group to update").to_api()
        current = self.get(oid)
        definition = self.validate(body)
        group = ConditionGroup(
            oid,
            definition.label,
            definition.metadata,
            definition.conditions,
            current.creation_time,
            max(now_ms(), current.creation_time),
        )
        await self._save(group)
        self._bus.publish(
            ConditionGroupUpdatedEvent(
                condition_group_oid=oid, label=group.label, metadata=group.metadata, conditions=group.wire_conditions()
            )
        )

    async def delete(self, oid: str) -> None:
        self.get(oid)
        await self._db.execute("DELETE FROM condition_groups WHERE oid = ?", (oid,))
        del self._groups[oid]
        self.index.remove(oid)
        self._bus.publish(ConditionGroupDeletedEvent(condition_group_oid=oid))

    async def _save(self, group: ConditionGroup) -> None:
        body = json.dumps({"label": group.label, "metadata": group.metadata, "conditions": group.wire_conditions()})
        await self._db.execute(
            "INSERT INTO condition_groups (oid, label, body, creation_time, last_update_time) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (oid) DO UPDATE SET label = excluded.label, "
            "body = excluded.body, last_update_time = excluded.last_update_time",
            (group.oid, group.label, body, group.creation_time, group.last_update_time),
        )
        self._groups[group.oid] = group
        self.index.put(group.oid, group.conditions)

    # -- evaluation

    def evaluate(self, oid: str) -> Evaluation:
        """A fresh evaluation of the group, with the devices and controllables that decided it."""
        group = self.get(oid)
        urls_of: dict[str, list[str]] = {}
        for device in self._registry.all():
            urls_of.setdefault(device.controllable.name, []).append(device.url_text)
        return evaluate(group.conditions, self._registry.get, urls_of)

    def holds(self, oid: str) -> bool:
        """The group's current truth, as the index keeps it (no evaluation)."""
        self.get(oid)
        return self.index.holds(oid)

    def watch(self, listener: TruthListener, oid: str | None = None) -> Callable[[], None]:
        """``listener(oid, holds)`` on every change of a group's truth; see ConditionIndex.watch."""
        return self.index.watch(listener, oid)

    def require(self, oid: str) -> None:
        """Nothing if the group holds now; else the refusal of a conditional run, saying why.

        The index answers (it is kept true on every state change, so no device is scanned on the command's
        path); only a refusal is evaluated afresh, to name the devices that prevent the run.
        400 UNSUPPORTED_OPERATION: the request is well formed, the gateway declines to carry it out now.
        """
        if self.holds(oid):
            return
        evaluation = self.evaluate(oid)
        if not evaluation.holds:
            label = self._groups[oid].label
            name = f"{label!r} ({oid})" if label else oid
            raise ApiError.unsupported(f"Condition group {name} does not hold: {evaluation.reason()}")
        # The index and a fresh look disagree: a bug of the index. The fresh look is what is true now.
        log.error("condition group %s: the index says it does not hold, a fresh evaluation says it does", oid)
