"""delayedCommandsSchedulingTrigger and delayedCommandSchedulingTrigger: commands sent once, at a local date
and time.

delayedCommandsSchedulingTrigger (the API's example): ``deviceURL``, ``commandCalls`` [{commandFunctionName,
commandParameters}], ``commandLabel``, ``commandMinutes`` (minutes of the local day, 0..1439),
``commandDay``/``commandMonth``/``commandYear`` and ``stateRestrictions`` [{stateName, stateValue}].
delayedCommandSchedulingTrigger has no example in the API: here it is the same with one command, given as
``commandFunctionName`` and ``commandParameters`` (or as a ``commandCalls`` of one).

What this gateway does: at that moment, if the trigger is active (mode 1, or 3 with a window open) and every
state restriction holds (the state equals stateValue), the commands go as one execution (subType
GENERIC_COMMAND_SCHEDULING, GroupTriggeredEvent triggerType 3). Once its moment has passed (run, refused by
a restriction, or missed) it does nothing more; it stays until deleted, its status showing it is over. A
moment in the past is refused when the trigger is created or updated.

Restarts: the moment is a row of ``trigger_timers`` ('once'), written before the wait, retired in the same
flush as the execution. Due while the gateway was down: run at start if late by less than the grace, else
recorded in ``trigger_missed_runs`` (the rule of every timed trigger; see ``engine``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any, NamedTuple

from hearth.core.operators import ConditionOperator
from hearth.core.triggers.blocks import Debounced, Lookup, Sink, StateKey, StateRef, satisfies
from hearth.core.triggers.fields import Effect, ExtraSpec, Reader, StateRestriction, invalid, parse_restrictions
from hearth.core.triggers.intervals import local_time
from hearth.core.triggers.rule_base import Rule
from hearth.model.action import ActionGroup
from hearth.model.execution import ExecutionSubType

MAX_CALLS = 50


class CommandCall(NamedTuple):
    """One of ``commandCalls``: a command of the device and its parameters."""

    name: str
    parameters: list[Any]


@dataclass(frozen=True, slots=True)
class DelayedCommandsSpec(ExtraSpec):
    device_url: str
    calls: list[CommandCall]
    label: str
    day: date
    minutes: int
    restrictions: list[StateRestriction]

    def due(self, tz: tzinfo) -> float:
        return local_time(self.day, self.minutes, tz)

    @property
    def group(self) -> ActionGroup:
        return ActionGroup.model_validate(
            {
                "label": self.label,
                "actions": [
                    {
                        "deviceURL": self.device_url,
                        "commands": [{"name": name, "parameters": params} for name, params in self.calls],
                    }
                ],
            }
        )

    @property
    def effects(self) -> list[Effect]:
        return [Effect("commands", "command", None, self.group)]

    @property
    def source_refs(self) -> list[StateRef]:
        return [StateRef(self.device_url, name) for name, _ in self.restrictions]

    @property
    def device_urls(self) -> list[str]:
        return [self.device_url]

    def make_rule(self, allow_from_unknown: bool, label: str) -> Rule:
        return DelayedCommandsRule(self)


def _call(r: Reader, name_key: str, params_key: str) -> CommandCall:
    return CommandCall(r.required_text(name_key, 128), r.items(params_key, max_items=20))


def parse_delayed_commands(r: Reader, *, single: bool = False) -> DelayedCommandsSpec:
    calls = []
    if single and r.has("commandFunctionName"):
        calls.append(_call(r, "commandFunctionName", "commandParameters"))
    else:
        raw = r.items("commandCalls", required=True, max_items=1 if single else MAX_CALLS)
        for i, item in enumerate(raw):
            where = f"{r.where('commandCalls')}[{i}]"
            if not isinstance(item, dict):
                raise invalid(where, "must be an object")
            calls.append(_call(Reader(item, where), "commandFunctionName", "commandParameters"))
        if not calls:
            raise r.error("commandCalls", "needs at least one command")
    year, month = r.required_integer("commandYear", 1, 9999), r.required_integer("commandMonth", 1, 12)
    day_number = r.required_integer("commandDay", 1, 31)
    try:
        day = date(year, month, day_number)
    except ValueError:
        raise r.error("commandDay", f"{year}-{month:02d}-{day_number:02d} is not a date") from None
    label = r.text("commandLabel", max_length=256) or r.text("label", max_length=256) or ""
    return DelayedCommandsSpec(
        r.required_text("deviceURL"),
        calls,
        label,
        day,
        r.required_integer("commandMinutes", 0, 1439),
        parse_restrictions(r),
    )


class DelayedCommandsRule(Rule):
    sub_type = ExecutionSubType.GENERIC_COMMAND_SCHEDULING

    def __init__(self, spec: DelayedCommandsSpec) -> None:
        super().__init__(True)
        self.spec = spec
        self.over = False  # its moment has passed (the engine says so)

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        return None

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        return None

    def restrictions_hold(self, lookup: Lookup) -> bool:
        return all(
            satisfies(ConditionOperator.EQUALS, lookup(self.spec.device_url, name), value)
            for name, value in self.spec.restrictions
        )

    def status(self) -> list[dict[str, Any]]:
        return [{"triggerName": self.spec.label or "commands", "active": not self.over, "executeAlways": False}]
