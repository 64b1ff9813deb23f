"""A setup trigger at run time (``LiveTrigger``): its definition and rule, its mode, its open scheduling
window and its running timers; and how the API shows it (``to_json``, ``status``).

It is the Sink of its Debounced outputs: their delays go to the engine's activation delays, their rises to
its effect runner.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hearth.core.triggers.blocks import Debounced
from hearth.core.triggers.fields import shown_body
from hearth.core.triggers.intervals import Window
from hearth.core.triggers.model import IfThenSpec, Mode, TriggerDefinition, TriggerType
from hearth.core.triggers.rule_base import Rule
from hearth.core.triggers.rules import make_rule
from hearth.store.triggers import StoredTrigger

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine


class LiveTrigger:
    """A setup trigger at run time: its definition, rule, mode, window and timers. It is the Sink of its
    Debounced outputs."""

    def __init__(
        self, engine: TriggerEngine, definition: TriggerDefinition, oid: str, setup_id: str, created: int, updated: int
    ) -> None:
        self.engine = engine
        self.definition = definition
        self.oid = oid
        self.setup_id = setup_id
        self.created = created
        self.updated = updated
        self.mode = definition.mode
        self.rule: Rule = make_rule(definition)
        self.window: Window | None = None
        self.timers: dict[str, asyncio.Task[None]] = {}
        self.window_row = False  # its 'window' row of trigger_timers is active
        self.removed = False

    @property
    def type(self) -> TriggerType:
        return self.definition.type

    @property
    def time_only(self) -> bool:
        """An ifThen without a condition: its schedule is what fires it, at each opening (mode 1 or 3)."""
        spec = self.definition.spec
        return isinstance(spec, IfThenSpec) and spec.root is None

    @property
    def active(self) -> bool:
        if not self.engine.enabled:
            return False
        return self.mode is Mode.ON or (self.mode is Mode.SCHEDULED and self.window is not None)

    # Sink of the Debounced outputs
    def arm(self, node: Debounced, due: float) -> None:
        self.engine.delays.arm(self, node, due)

    def disarm(self, node: Debounced) -> None:
        self.engine.delays.disarm(self, node)

    def rose(self, node: Debounced) -> None:
        self.engine.runner.rose(self, node)

    def stored(self) -> StoredTrigger:
        """Its row of ``setup_triggers``."""
        return StoredTrigger(
            self.oid, self.setup_id, self.type.value, int(self.mode), self.definition.body, self.created, self.updated
        )

    def to_json(self) -> dict[str, Any]:
        inner = shown_body(self.definition.body, self.created, self.updated)
        inner.update(
            {
                "mode": int(self.mode),
                "oid": self.oid,
                "id": self.setup_id,
                "creationTime": self.created,
                "lastUpdateTime": self.updated,
            }
        )
        return {self.type.value: inner}

    def status(self) -> dict[str, Any]:
        sun, now = self.engine.location.sun, self.engine.clock.now()
        return {
            "triggerOID": self.oid,
            "mode": int(self.mode),
            "schedulingIntervalsStatus": [
                i.active_window(sun, now, self.engine.calendar) is not None for i in self.definition.intervals
            ],
            "subTriggersStatus": self.rule.status(),
        }
