"""eventTrigger: effects run when the gateway publishes an event.

The End-User API lists the type and gives no example. Here: ``eventName`` (one name) or ``eventNames`` (a
list) among the events of the End-User API this gateway publishes (e.g. DeviceUnavailableEvent,
ZoneUpdatedEvent, CalendarRuleCreatedEvent), ``deviceURL`` (optional: only events about that device),
``effects`` (as every trigger's), plus the common fields. Events about executions and triggers themselves
(Execution*, CommandExecution*, GroupTriggered*, DelayedTrigger*, SetupTrigger*) are refused: an effect
would fire its own trigger again. Runs at most once a second per trigger (``minimumIntervalSeconds``, 1 to
86400, default 1), so that a burst of events cannot flood the radios. Executions: subType IFT_CONDITION,
GroupTriggeredEvent triggerType 6 (an event).

Restarts: an event is a moment; its run is an execution, journaled before it is sent, and nothing waits.
Events published while the gateway was down do not exist, so nothing is replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.triggers.blocks import Debounced, Lookup, Sink, StateKey
from hearth.core.triggers.fields import Effect, ExtraSpec, Reader, parse_effects
from hearth.core.triggers.rule_base import Rule
from hearth.model.events import Event

REFUSED_PREFIXES = ("Execution", "CommandExecution", "GroupTriggered", "DelayedTrigger", "SetupTrigger")


def event_classes() -> dict[str, type[Event]]:
    """Every event class loaded, by name (the bus publishes instances of these)."""
    found: dict[str, type[Event]] = {}
    todo: list[type[Event]] = [Event]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if not sub.__name__.startswith("_"):
                found[sub.__name__] = sub
    return found


@dataclass(frozen=True, slots=True)
class EventSpec(ExtraSpec):
    event_names: frozenset[str]
    device_url: str | None
    effect_list: list[Effect]
    min_interval_s: float

    @property
    def effects(self) -> list[Effect]:
        return list(self.effect_list)

    @property
    def device_urls(self) -> list[str]:
        return [self.device_url] if self.device_url else []

    def matches(self, event: Event) -> bool:
        if event.name not in self.event_names:
            return False
        return self.device_url is None or getattr(event, "device_url", None) == self.device_url

    def make_rule(self, allow_from_unknown: bool, label: str) -> Rule:
        return EventRule(self)


def parse_event_trigger(r: Reader) -> EventSpec:
    names: list[Any] = r.items("eventNames", max_items=20)
    if r.has("eventName"):
        names = [r.required_text("eventName", 128), *names]
    if not names:
        raise r.error("eventName", "is required (the name of an event, e.g. DeviceUnavailableEvent)")
    known = event_classes()
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise r.error("eventName", f"{name!r} is not an event this gateway publishes")
        if name.startswith(REFUSED_PREFIXES):
            raise r.error("eventName", f"{name} is about executions or triggers: an effect would fire it again")
    effects = parse_effects(r, "effects")
    if not effects:
        raise r.error("effects", "needs at least one effect")
    return EventSpec(
        frozenset(names),
        r.text("deviceURL", max_length=512) or None,
        effects,
        float(r.integer("minimumIntervalSeconds", 1, 1, 86_400)),
    )


class EventRule(Rule):
    def __init__(self, spec: EventSpec) -> None:
        super().__init__(True)
        self.spec = spec
        self.last_run: float | None = None

    def on_state(self, key: StateKey, lookup: Lookup, now: float, sink: Sink) -> None:
        return None

    def fires(self, event: Event, now: float) -> bool:
        """Whether ``event`` runs the effects now (and if so, counts it against the minimum interval)."""
        if not self.spec.matches(event):
            return False
        if self.last_run is not None and now - self.last_run < self.spec.min_interval_s:
            return False
        self.last_run = now
        return True

    def effects_of(self, node: Debounced) -> list[Effect] | None:
        return None

    def status(self) -> list[dict[str, Any]]:
        return [{"triggerName": name, "active": True, "executeAlways": False} for name in sorted(self.spec.event_names)]


Handler = Callable[[Any, Event], None]


class EventWatch:
    """The bus subscriptions of event triggers: one per event class named, only while a trigger names it."""

    def __init__(self, bus: EventBus, handler: Handler) -> None:
        self._bus = bus
        self._handler = handler
        self._watchers: dict[str, list[Any]] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}

    def add(self, trigger: Any, names: frozenset[str]) -> None:
        classes = event_classes()
        for name in names:
            watchers = self._watchers.setdefault(name, [])
            watchers.append(trigger)
            if name not in self._unsubscribe and name in classes:
                self._unsubscribe[name] = self._bus.subscribe(self._dispatch, classes[name])

    def remove(self, trigger: Any) -> None:
        for name in list(self._watchers):
            watchers = self._watchers[name]
            if trigger in watchers:
                watchers.remove(trigger)
            if not watchers:
                del self._watchers[name]
                unsubscribe = self._unsubscribe.pop(name, None)
                if unsubscribe is not None:
                    unsubscribe()

    def _dispatch(self, event: Event) -> None:
        for trigger in list(self._watchers.get(event.name, ())):
            self._handler(trigger, event)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()
        self._watchers.clear()
