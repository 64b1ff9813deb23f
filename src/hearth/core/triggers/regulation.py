"""genericStateRegulationTrigger and ovpThermostatRegulationTrigger: a device kept at the target its
schedule says (a heating plan: COMFORT in the morning, ECO at night).

Fields (the API's examples): ``deviceURL``; ``targetRegulationSchedulingIntervals`` and
``targetRegulationOverrides``, each ``[{target, schedulingIntervals}]``; ``regulationHysteresis``; and for
the generic one ``regulatedStateName``, ``updateTargetFunctionName``, ``regulationBusyStateName``. The API
gives no more; what this gateway does, as a home user expects of a heating plan:

- The target in force is that of the first override whose intervals are open, else that of the first
  scheduled target whose intervals are open, else none (nothing is sent until one opens).
- When the target in force changes (an interval opens or closes), and the trigger is active, it is sent:
  generic: ``updateTargetFunctionName(target)`` (a target that reads as a number is sent as a number);
  ovp (no command named in the API): a number is sent with ``setTargetTemperature``, a name with
  ``setHeatingLevel`` in lower case (``ECO`` -> ``eco``), the commands of this gateway's thermostats.
- generic: not sent when the device already shows it (``regulatedStateName`` equals the target, within
  ``regulationHysteresis`` for numbers). ovp: always sent at a change (its level and its temperature are
  two states, and going back to COMFORT after a temperature override must reach the thermostat).
- While ``regulationBusyStateName`` is true (the device is busy, e.g. a manual override on it), the change
  waits, and is sent when that state turns false (if it is still the target in force).
- Created: the target in force is taken as reached, unless ``allowExecuteOnCreate``; enabled again (mode,
  global switch) with ``allowExecuteOnEnabled``: the target in force is sent.

Restarts: the next change is a row of ``trigger_timers`` ('regulation', its payload the target sent last),
written before the wait. At start, the target in force is computed; if it is not the one sent last (or,
generic, the device does not show it), it is sent then, whatever the time the change fell due: a plan is a
state to reach, not a moment to replay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hearth.core.sun import SunSetting
from hearth.core.triggers.blocks import Lookup, Sink, StateKey, StateRef
from hearth.core.triggers.fields import CommandTarget, Effect, ExtraSpec, Reader, invalid
from hearth.core.triggers.interval_fields import parse_interval
from hearth.core.triggers.intervals import DayTypes, SchedulingInterval
from hearth.core.triggers.rule_base import EffectNode, Rule, ValueRule
from hearth.model.action import ActionGroup
from hearth.model.execution import ExecutionSubType

MAX_TARGETS = 20
OVP_LEVEL_COMMAND, OVP_TEMPERATURE_COMMAND = "setHeatingLevel", "setTargetTemperature"
_TRUE = {"true", "1", "yes", "on", "busy"}


def _as_number(value: Any) -> float | None:
    """A finite number, from a number or a text that reads as one ("nan" and "inf" are texts here)."""
    if isinstance(value, bool):
        return None
    number = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    return number if number is not None and math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class TargetSchedule:
    target: str
    intervals: list[SchedulingInterval]

    def open(self, sun: SunSetting, now: float, calendar: DayTypes | None) -> bool:
        return any(i.active_window(sun, now, calendar) is not None for i in self.intervals)


@dataclass(frozen=True, slots=True)
class RegulationSpec(ExtraSpec):
    device_url: str
    schedules: list[TargetSchedule]
    overrides: list[TargetSchedule]
    hysteresis: float
    regulated_state: str | None
    command: str | None  # None: the ovp thermostat's commands
    busy_state: str | None

    def target_at(self, sun: SunSetting, now: float, calendar: DayTypes | None) -> str | None:
        for schedule in (*self.overrides, *self.schedules):
            if schedule.open(sun, now, calendar):
                return schedule.target
        return None

    def next_change(self, sun: SunSetting, now: float, calendar: DayTypes | None) -> float | None:
        moments = [
            b
            for s in (*self.overrides, *self.schedules)
            for i in s.intervals
            if (b := i.next_boundary(sun, now, calendar)) is not None
        ]
        return min(moments) if moments else None

    def command_for(self, target: str) -> tuple[str, Any]:
        number = _as_number(target)
        if self.command is not None:
            return self.command, (target if number is None else (int(number) if number.is_integer() else number))
        if number is not None:
            return OVP_TEMPERATURE_COMMAND, number
        return OVP_LEVEL_COMMAND, target.lower()

    def reached(self, target: str, lookup: Lookup) -> bool:
        """Whether the device shows ``target`` already (only known with a regulatedStateName)."""
        state = self.regulated_state
        if state is None:
            return False
        value = lookup(self.device_url, state)
        if value is None:
            return False
        wanted, shown = _as_number(target), _as_number(value)
        if wanted is not None and shown is not None:
            return abs(wanted - shown) <= self.hysteresis
        return str(value).lower() == str(self.command_for(target)[1]).lower()

    def busy(self, lookup: Lookup) -> bool:
        if self.busy_state is None:
            return False
        value = lookup(self.device_url, self.busy_state)
        return value is True or (isinstance(value, str) and value.lower() in _TRUE)

    def effect(self, target: str) -> Effect:
        command, parameter = self.command_for(target)
        return Effect(
            f"target:{target}",
            "command",
            None,
            ActionGroup.model_validate(
                {
                    "label": f"{target}",
                    "actions": [
                        {"deviceURL": self.device_url, "commands": [{"name": command, "parameters": [parameter]}]}
                    ],
                }
            ),
        )

    @property
    def source_refs(self) -> list[StateRef]:
        return [StateRef(self.device_url, s) for s in (self.regulated_state, self.busy_state) if s]

    @property
    def device_urls(self) -> list[str]:
        return [self.device_url]

    @property
    def command_targets(self) -> list[CommandTarget]:
        targets = {t.target for t in (*self.schedules, *self.overrides)}
        return sorted({CommandTarget(self.device_url, self.command_for(t)[0]) for t in targets})

    def make_rule(self, allow_from_unknown: bool, label: str) -> Rule:
        return RegulationRule(self)


def _schedules(r: Reader, key: str, *, required: bool) -> list[TargetSchedule]:
    found = []
    for i, item in enumerate(r.items(key, required=required, max_items=MAX_TARGETS)):
        where = f"{r.where(key)}[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "must be an object")
        s = Reader(item, where)
        target = s.required_text("target", 64)
        raw = s.items("schedulingIntervals", required=True, max_items=50)
        if not raw:
            raise s.error("schedulingIntervals", "needs at least one interval")
        found.append(
            TargetSchedule(
                target, [parse_interval(v, f"{s.where('schedulingIntervals')}[{j}]") for j, v in enumerate(raw)]
            )
        )
    return found


def parse_regulation(r: Reader, *, generic: bool) -> RegulationSpec:
    schedules = _schedules(r, "targetRegulationSchedulingIntervals", required=True)
    if not schedules:
        raise r.error("targetRegulationSchedulingIntervals", "needs at least one target")
    overrides = _schedules(r, "targetRegulationOverrides", required=False)
    hysteresis = r.number("regulationHysteresis") if r.has("regulationHysteresis") else 0.0
    if not 0 <= hysteresis <= 1000:
        raise r.error("regulationHysteresis", "must be between 0 and 1000")
    if generic:
        return RegulationSpec(
            r.required_text("deviceURL"),
            schedules,
            overrides,
            hysteresis,
            r.text("regulatedStateName", max_length=128) or None,
            r.required_text("updateTargetFunctionName", 128),
            r.text("regulationBusyStateName", max_length=128) or None,
        )
    return RegulationSpec(r.required_text("deviceURL"), schedules, overrides, hysteresis, None, None, None)


class RegulationRule(ValueRule):
    sub_type = ExecutionSubType.TIME_TRIGGER

    def __init__(self, spec: RegulationSpec) -> None:
        super().__init__(True, "target")
        self.spec = spec
        self.keys = {(spec.device_url, spec.busy_state)} if spec.busy_state else set()
        self.current: str | None = None  # the target in force (the engine computes it)
        self.applied: str | None = None  # the target sent last
        self.waiting: str | None = None  # a change held back while the device is busy

    def change_to(self, target: str, lookup: Lookup) -> Effect | None:
        """The effect that moves the device to ``target`` (None: nothing to send now)."""
        if self.spec.busy(lookup):
            self.waiting = target
            return None
        self.waiting = None
        self.applied = target
        if self.spec.reached(target, lookup):
            return None
        return self.spec.effect(target)

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        self._seen(key, lookup)
        if self.waiting is None or self.spec.busy(lookup):
            return
        target, self.waiting = self.waiting, None
        if target != self.current:
            return
        effect = self.change_to(target, lookup)
        if effect is not None:
            self.push(effect, sink)

    def effect_nodes(self) -> list[EffectNode]:
        if self.current is None:
            return []
        self.applied = self.current
        return [EffectNode(None, [self.spec.effect(self.current)])]

    def status(self) -> list[dict[str, Any]]:
        return [
            {"triggerName": s.target, "active": s.target == self.current, "executeAlways": False}
            for s in (*self.spec.overrides, *self.spec.schedules)
        ]
