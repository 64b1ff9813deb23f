"""genericPointToPointRegulationTrigger: a state of one device drives a command of another, on the gateway.

Fields (the API's example): ``deviceURL`` and ``sourceStateName`` (the source), ``targetDeviceURL`` and
``targetCommandName`` (sent with one parameter: the adapted value), ``adaptationFunction`` (see
``adaptation``), ``executionLabel`` (the label of each execution). The API says no more; what a home user
expects, and what this gateway does: each change of the source value, while the trigger is active, sends the
command once with the new adapted value (a value that adapts to the one sent last sends nothing). When the
trigger becomes active with ``allowExecuteOnEnabled`` (or is created with ``allowExecuteOnCreate``), the
current value is sent. Executions: subType P2P_COMMAND_REGULATION (11).

Restarts: each forward is an execution, journaled before it is sent; nothing else waits. At start the value
last seen is the restored state, so a change that happened while the gateway was down is not replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hearth.core.triggers.adaptation import Adaptation, AdaptationError
from hearth.core.triggers.blocks import Lookup, Sink, StateKey, StateRef
from hearth.core.triggers.fields import CommandTarget, Effect, ExtraSpec, Reader
from hearth.core.triggers.rule_base import EffectNode, Rule, ValueRule
from hearth.model.action import ActionGroup
from hearth.model.execution import ExecutionSubType


@dataclass(frozen=True, slots=True)
class PointToPointSpec(ExtraSpec):
    source: StateRef
    target_url: str
    command: str
    adaptation: Adaptation
    label: str

    @property
    def source_refs(self) -> list[StateRef]:
        return [self.source]

    @property
    def device_urls(self) -> list[str]:
        return [self.target_url]

    @property
    def command_targets(self) -> list[CommandTarget]:
        return [CommandTarget(self.target_url, self.command)]

    def effect(self, value: Any) -> Effect:
        return Effect(
            "forward",
            "command",
            None,
            ActionGroup.model_validate(
                {
                    "label": self.label,
                    "actions": [
                        {"deviceURL": self.target_url, "commands": [{"name": self.command, "parameters": [value]}]}
                    ],
                }
            ),
        )

    def make_rule(self, allow_from_unknown: bool, label: str) -> Rule:
        return PointToPointRule(self, allow_from_unknown)


def parse_point_to_point(r: Reader) -> PointToPointSpec:
    source = StateRef(r.required_text("deviceURL"), r.required_text("sourceStateName"))
    try:
        adaptation = Adaptation(r.text("adaptationFunction", max_length=1024))
    except AdaptationError as exc:
        raise r.error("adaptationFunction", str(exc)) from None
    label = r.text("executionLabel", max_length=256) or r.text("label", max_length=256) or ""
    return PointToPointSpec(
        source, r.required_text("targetDeviceURL"), r.required_text("targetCommandName", 128), adaptation, label
    )


class PointToPointRule(ValueRule):
    sub_type = ExecutionSubType.P2P_COMMAND_REGULATION

    def __init__(self, spec: PointToPointSpec, allow_from_unknown: bool) -> None:
        super().__init__(allow_from_unknown, "forward")
        self.spec = spec
        self.keys = {spec.source.key}
        self.forwarded: Any = None  # the adapted value sent last (or, at start, the current one)

    def initialise(self, lookup: Lookup) -> None:
        super().initialise(lookup)
        current = self.spec.source.read(lookup)
        self.forwarded = None if current is None else self.spec.adaptation(current)

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        previous, current = self._seen(key, lookup)
        if current is None:
            return
        value = self.spec.adaptation(current)
        if value is None or value == self.forwarded:
            return
        self.forwarded = value
        if previous is None and not self.allow_from_unknown:
            return  # a first value after unknown: taken without effect
        self.push(self.spec.effect(value), sink)

    def effect_nodes(self) -> list[EffectNode]:
        return [] if self.forwarded is None else [EffectNode(None, [self.spec.effect(self.forwarded)])]

    def status(self) -> list[dict[str, Any]]:
        return [{"triggerName": "forward", "active": self.forwarded is not None, "executeAlways": False}]
