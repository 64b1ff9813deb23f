"""What each trigger type watches and when its effects run, as Debounced booleans fed by state changes.

- ifThenSetupTrigger: the tree of its condition blocks; the effects run when the root's output rises. Without
  a rootConditionBlock it runs on time only (when its scheduling window opens).
- sensorThreshold: one Debounced per zone (input: the value is in the zone; ``upper`` above upperBound,
  ``lower`` below lowerBound, ``middle`` between them, bounds included), each with its own activation and
  deactivation delay; a zone's effects run when its output rises. With equal bounds the middle zone is the
  bound itself.
- discreteTrigger: one Debounced per key (input: the state equals the key, compared in the state's type);
  its effects run when its output rises. With ``executeAlways`` a report of the same key again (for an
  objectPath selection, a change elsewhere in the object) runs them again.
- genericCommandSchedulingTrigger: nothing to watch; the engine runs its command at each daily time, if every
  stateRestriction holds (the state equals stateValue) at that moment.

``allowFromUnknownValue``: when a watched state goes from unknown (no value yet, or no number for a threshold)
to a value, the outputs take the new value at once and without effects, unless it is true.
"""

from __future__ import annotations

from typing import Any

from hearth.core.operators import Comparison, ConditionOperator
from hearth.core.triggers.blocks import (
    Debounced,
    Lookup,
    Sink,
    StateKey,
    build_tree,
    initialise,
    nodes,
    passes,
    satisfies,
    settle,
)
from hearth.core.triggers.fields import Effect, ExtraSpec
from hearth.core.triggers.model import (
    ZONES,
    CommandSchedulingSpec,
    DiscreteSpec,
    IfThenSpec,
    ThresholdSpec,
    TriggerDefinition,
)
from hearth.core.triggers.rule_base import EffectNode, Rule
from hearth.model.action import ActionGroup
from hearth.model.execution import ExecutionSubType


class IfThenRule(Rule):
    def __init__(self, spec: IfThenSpec, allow_from_unknown: bool) -> None:
        super().__init__(allow_from_unknown)
        self.spec = spec
        self.root = build_tree(spec.root) if spec.root is not None else None
        self.watchers: dict[StateKey, list[Debounced]] = {}
        if self.root is not None:
            for node in nodes(self.root):
                self.by_id[node.node_id] = node
                if node.leaf is not None:
                    for ref in node.leaf.refs:
                        watchers = self.watchers.setdefault(ref.key, [])
                        if node not in watchers:
                            watchers.append(node)
        self.keys = set(self.watchers)

    def initialise(self, lookup: Lookup) -> None:
        super().initialise(lookup)
        if self.root is not None:
            initialise(self.root, lookup)

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        previous, current = self._seen(key, lookup)
        silent = previous is None and current is not None and not self.allow_from_unknown
        watchers = self.watchers.get(key, ())
        if len(watchers) == 1:  # the common case: one condition on this state
            node = watchers[0]
            leaf = node.leaf
            assert leaf is not None
            holds = leaf.holds(lookup)
            if holds and leaf.retriggerable and node.out and not silent and previous != current:
                node.retrigger(now, sink)
            else:
                node.feed(holds, now, sink, silent)
            return
        # Several conditions on this state: move them all, then their blocks once (no passing glitches).
        changed: list[Debounced] = []
        again: list[Debounced] = []
        for node in watchers:
            leaf = node.leaf
            assert leaf is not None
            holds = leaf.holds(lookup)
            if holds and leaf.retriggerable and node.out and not silent and previous != current:
                again.append(node)
                continue
            before = node.out
            node.feed(holds, now, sink, silent, propagate=False)
            if node.out != before:
                changed.append(node)
        settle(changed, now, sink, silent)
        for node in again:
            node.retrigger(now, sink)

    def effect_nodes(self) -> list[EffectNode]:
        return [EffectNode(self.root, self.spec.effects)]

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        return self.spec.effects if node is self.root else None


class ThresholdRule(Rule):
    def __init__(self, spec: ThresholdSpec, allow_from_unknown: bool) -> None:
        super().__init__(allow_from_unknown)
        self.spec = spec
        self.zones = {
            name: Debounced(name, spec.zones[name].activation_s, spec.zones[name].deactivation_s) for name in ZONES
        }
        self.by_id = dict(self.zones)
        self.keys = {spec.ref.key}

    def _zone(self, lookup: Lookup) -> str | None:
        return self.spec.zone_of(self.spec.ref.read(lookup))

    def initialise(self, lookup: Lookup) -> None:
        super().initialise(lookup)
        zone = self._zone(lookup)
        for name, node in self.zones.items():
            node.raw = node.out = name == zone
            node.pending = None

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        previous, _ = self._seen(key, lookup)
        zone = self._zone(lookup)
        silent = (
            self.spec.zone_of(self.spec.ref.read(lambda *_: previous)) is None
            and zone is not None
            and not self.allow_from_unknown
        )
        # Leave the old zone first, so that a zone's rise is never seen beside another zone's output.
        for name, node in self.zones.items():
            if name != zone:
                node.feed(False, now, sink, silent)
        if zone is not None:
            self.zones[zone].feed(True, now, sink, silent)

    def effect_nodes(self) -> list[EffectNode]:
        return [EffectNode(self.zones[name], self.spec.zones[name].effects) for name in ZONES]

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        zone = self.spec.zones.get(node.node_id)
        return zone.effects if zone is not None and self.zones.get(node.node_id) is node else None


class DiscreteRule(Rule):
    sub_type = ExecutionSubType.DISCRETE_TRIGGER

    def __init__(self, spec: DiscreteSpec, allow_from_unknown: bool) -> None:
        super().__init__(allow_from_unknown)
        self.spec = spec
        self.key_nodes = {k.key: Debounced(f"key:{k.key}", k.activation_s, k.deactivation_s) for k in spec.keys}
        self.tests = {k.key: Comparison(ConditionOperator.EQUALS, k.key) for k in spec.keys}
        self.effects = {f"key:{k.key}": k.effects for k in spec.keys}
        self.by_id = {node.node_id: node for node in self.key_nodes.values()}
        self.keys = {spec.ref.key}

    def match(self, value: Any) -> str | None:
        if value is None:
            return None
        for key, test in self.tests.items():
            if passes(test, value):
                return key
        return None

    def initialise(self, lookup: Lookup) -> None:
        super().initialise(lookup)
        matched = self.match(self.spec.ref.read(lookup))
        for key, node in self.key_nodes.items():
            node.raw = node.out = key == matched
            node.pending = None

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        previous, _ = self._seen(key, lookup)
        value = self.spec.ref.read(lookup)
        matched = self.match(value)
        silent = self.spec.ref.read(lambda *_: previous) is None and value is not None and not self.allow_from_unknown
        for k, node in self.key_nodes.items():
            if k != matched:
                node.feed(False, now, sink, silent)
        if matched is not None:
            node = self.key_nodes[matched]
            if node.out and self.spec.execute_always and not silent:
                sink.rose(node)
            else:
                node.feed(True, now, sink, silent)

    def effect_nodes(self) -> list[EffectNode]:
        return [EffectNode(node, self.effects[node.node_id]) for node in self.key_nodes.values()]

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        return self.effects.get(node.node_id) if self.by_id.get(node.node_id) is node else None

    def status(self) -> list[dict[str, Any]]:
        return [
            {"triggerName": key, "active": node.out, "executeAlways": self.spec.execute_always}
            for key, node in self.key_nodes.items()
        ]


class CommandRule(Rule):
    sub_type = ExecutionSubType.GENERIC_COMMAND_SCHEDULING

    def __init__(self, spec: CommandSchedulingSpec, label: str) -> None:
        super().__init__(True)
        self.spec = spec
        # One ad-hoc action group per schedule: the command with that schedule's parameters.
        self.schedule_effects = [
            Effect(
                f"command:{i}",
                "command",
                None,
                ActionGroup.model_validate(
                    {
                        "label": s.label or label or spec.command,
                        "actions": [
                            {
                                "deviceURL": spec.device_url,
                                "commands": [{"name": spec.command, "parameters": s.parameters}],
                            }
                        ],
                    }
                ),
            )
            for i, s in enumerate(spec.schedules)
        ]

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        return None

    def restrictions_hold(self, lookup: Lookup) -> bool:
        return all(
            satisfies(ConditionOperator.EQUALS, lookup(self.spec.device_url, name), value)
            for name, value in self.spec.restrictions
        )

    def status(self) -> list[dict[str, Any]]:
        return [
            {"triggerName": s.label or f"schedule {i}", "active": s.enabled, "executeAlways": False}
            for i, s in enumerate(self.spec.schedules)
        ]


def make_rule(definition: TriggerDefinition) -> Rule:
    spec = definition.spec
    if isinstance(spec, ExtraSpec):
        return spec.make_rule(definition.allow_from_unknown, definition.label)
    if isinstance(spec, IfThenSpec):
        return IfThenRule(spec, definition.allow_from_unknown)
    if isinstance(spec, ThresholdSpec):
        return ThresholdRule(spec, definition.allow_from_unknown)
    if isinstance(spec, DiscreteSpec):
        return DiscreteRule(spec, definition.allow_from_unknown)
    return CommandRule(spec, definition.label)
