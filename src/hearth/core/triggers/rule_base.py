"""The base of a trigger's runtime (its rule): the states it watches and its Debounced outputs. The rules of
each trigger type derive from it (``rules`` and the modules of the newer types)."""

from __future__ import annotations

from typing import Any, NamedTuple

from hearth.core.triggers.blocks import Debounced, Lookup, Sink, StateKey
from hearth.core.triggers.fields import Effect
from hearth.model.execution import ExecutionSubType


class EffectNode(NamedTuple):
    """An output whose rise runs effects (``node`` None: no condition, it always holds), with those effects."""

    node: Debounced | None
    effects: list[Effect]


class Rule:
    """The runtime of one trigger: the states it watches and its Debounced outputs."""

    sub_type = ExecutionSubType.IFT_CONDITION

    def __init__(self, allow_from_unknown: bool) -> None:
        self.allow_from_unknown = allow_from_unknown
        self.keys: set[StateKey] = set()
        self.last: dict[StateKey, Any] = {}
        self.by_id: dict[str, Debounced] = {}

    def initialise(self, lookup: Lookup) -> None:
        for key in self.keys:
            self.last[key] = lookup(*key)

    def _seen(self, key: StateKey, lookup: Lookup) -> tuple[Any, Any]:
        previous, current = self.last.get(key), lookup(*key)
        self.last[key] = current
        return previous, current

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        raise NotImplementedError

    def effect_nodes(self) -> list[EffectNode]:
        """Each output whose rise runs effects (None: no condition, always holds), with those effects."""
        return []

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        return None

    def node(self, node_id: str) -> Debounced | None:
        return self.by_id.get(node_id)

    def status(self) -> list[dict[str, Any]]:
        return [
            {"triggerName": node_id, "active": node.out, "executeAlways": False} for node_id, node in self.by_id.items()
        ]


class ValueRule(Rule):
    """A rule whose effect is made from a value at the moment it runs (a forwarded state, a target), not a
    fixed list: ``push`` hands it to the engine through the one output's rise."""

    def __init__(self, allow_from_unknown: bool, output_id: str) -> None:
        super().__init__(allow_from_unknown)
        self.output = Debounced(output_id)
        self.by_id = {output_id: self.output}
        self._pending: Effect | None = None

    def push(self, effect: Effect, sink: Sink) -> None:
        self._pending = effect
        self.output.out = True
        sink.rose(self.output)

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        if node is not self.output or self._pending is None:
            return None
        effect, self._pending = self._pending, None
        return [effect]
