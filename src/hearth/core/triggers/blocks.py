"""Condition blocks of ifThenSetupTrigger, and the debounced booleans every trigger is made of.

A condition compares device states with the operators of ``core.operators``:
- ``staticDeviceStateCondition``: one state against ``value1`` (and ``value2`` for BETWEEN_INCLUSIVE);
- ``dualDeviceStateCondition``: the state of one device against the state of another;
- ``atLeastOneDeviceStateCondition`` / ``allDevicesStateCondition``: one state of several devices, any / all.
A value that is unknown (no such device or state, or nothing at ``objectPath``) or cannot be read in the
state's type satisfies nothing. ``objectPath`` selects inside a JSON state: keys and list indexes separated
by ``.`` or ``/`` (``"a.b.0"``, ``"/a/b/0"``, a leading ``$.`` is allowed).

``andBlock`` / ``orBlock`` combine their sub-blocks. Every block and condition has an ``activationDelay``
and a ``deactivationDelay`` (seconds): its output follows its input only once the input has held that long
(a ``Debounced``). A trigger's effects run when the output of its root rises.

Condition ``type``: ``EVENT_BASED`` (the default) runs on the rise of the condition only;
``RETRIGGERABLE_ON_STATE_TRANSITION`` also counts each change of a watched state that keeps the condition
true as the condition ending and beginning again (so the effects run again), unless a deactivation delay on
the way up absorbs the short drop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from hearth.core.operators import Comparison, ConditionOperator, Incomparable, compare

StateKey = tuple[str, str]  # (deviceURL, stateName)
Lookup = Callable[[str, str], Any]  # the current value of a state, None when unknown


def select(value: Any, path: str | None) -> Any:
    """The part of a JSON state at ``path``; None when there is nothing there."""
    if not path:
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    text = path[2:] if path.startswith("$.") else path
    for part in text.replace("/", ".").split("."):
        if not part:
            continue
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
        if value is None:
            return None
    return value


def satisfies(operator: ConditionOperator, state: Any, value1: Any, value2: Any = None) -> bool:
    """``compare``, with what cannot be compared counted as false."""
    try:
        return compare(operator, state, value1, value2)
    except Incomparable:
        return False


def passes(comparison: Comparison, state: Any) -> bool:
    """A compiled comparison, with what cannot be compared counted as false."""
    try:
        return comparison(state)
    except Incomparable:
        return False


@dataclass(frozen=True, slots=True)
class StateRef:
    device_url: str
    state_name: str
    object_path: str | None = None

    @property
    def key(self) -> StateKey:
        return (self.device_url, self.state_name)

    def read(self, lookup: Lookup) -> Any:
        return select(lookup(self.device_url, self.state_name), self.object_path)


class LeafKind(StrEnum):
    STATIC = "staticDeviceStateCondition"
    DUAL = "dualDeviceStateCondition"
    AT_LEAST_ONE = "atLeastOneDeviceStateCondition"
    ALL_DEVICES = "allDevicesStateCondition"


@dataclass(frozen=True, slots=True)
class Leaf:
    block_id: str
    kind: LeafKind
    refs: tuple[StateRef, ...]
    operator: ConditionOperator
    value1: Any = None
    value2: Any = None
    retriggerable: bool = False
    activation_s: float = 0
    deactivation_s: float = 0
    # The operator and values compiled once (a condition is tested on every change of its states).
    comparison: Comparison = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "comparison", Comparison(self.operator, self.value1, self.value2))

    def holds(self, lookup: Lookup) -> bool:
        kind = self.kind
        if kind is LeafKind.STATIC:
            return passes(self.comparison, self.refs[0].read(lookup))
        if kind is LeafKind.DUAL:
            other = self.refs[1].read(lookup)
            return other is not None and satisfies(self.operator, self.refs[0].read(lookup), other)
        comparison = self.comparison
        results = (passes(comparison, ref.read(lookup)) for ref in self.refs)
        if kind is LeafKind.ALL_DEVICES:
            return all(results)
        return any(results)


@dataclass(frozen=True, slots=True)
class Block:
    block_id: str
    conjunction: bool  # andBlock (True) or orBlock (False)
    children: tuple[Block | Leaf, ...]
    activation_s: float = 0
    deactivation_s: float = 0

    def holds(self, lookup: Lookup) -> bool:
        """Whether the block holds now, delays aside."""
        results = (child.holds(lookup) for child in self.children)
        return all(results) if self.conjunction else any(results)


ConditionBlock = Block | Leaf


def walk(node: ConditionBlock) -> Iterator[ConditionBlock]:
    yield node
    if isinstance(node, Block):
        for child in node.children:
            yield from walk(child)


# ----------------------------------------------------------------------------- the debounced booleans


class Sink(Protocol):
    """What a Debounced tells the engine: a delay to start or drop, an output that rose."""

    def arm(self, node: Debounced, due: float) -> None: ...

    def disarm(self, node: Debounced) -> None: ...

    def rose(self, node: Debounced) -> None: ...


@dataclass(slots=True, eq=False)
class Debounced:
    """A boolean that follows its input once the input has held for the activation (or deactivation) delay.

    Inner nodes take as input the conjunction or disjunction of their children's outputs.
    """

    node_id: str
    activation_s: float = 0
    deactivation_s: float = 0
    conjunction: bool | None = None  # None: a leaf, fed by the engine
    children: list[Debounced] = field(default_factory=list)
    parent: Debounced | None = None
    leaf: Leaf | None = None
    raw: bool = False
    out: bool = False
    pending: bool | None = None  # the output a running delay leads to
    due: float = 0.0
    depth: int = 0

    def combined(self) -> bool:
        outs = (child.out for child in self.children)
        return all(outs) if self.conjunction else any(outs)

    def feed(self, raw: bool, now: float, sink: Sink, silent: bool = False, propagate: bool = True) -> None:
        """A new input. ``silent`` sets the output at once, without delays or effects (initial values);
        without ``propagate`` the parent is left to ``settle``."""
        self.raw = raw
        if silent or raw == self.out:
            self._drop(sink)
            if raw != self.out:
                self._set(raw, now, sink, True, propagate)
            return
        delay = self.activation_s if raw else self.deactivation_s
        if delay <= 0:
            self._drop(sink)
            self._set(raw, now, sink, False, propagate)
            return
        if self.pending is raw:
            return  # already waiting for this
        self._drop(sink)
        self.pending, self.due = raw, now + delay
        sink.arm(self, self.due)

    def expire(self, now: float, sink: Sink) -> None:
        """The running delay is over: the output takes the value it led to."""
        target = self.pending
        if target is None:
            return
        self.pending = None
        if target != self.out:
            self._set(target, now, sink, False)

    def retrigger(self, now: float, sink: Sink) -> None:
        """The condition is seen to end and begin again (a transition of a retriggerable condition)."""
        self._drop(sink)
        if self.out:
            self._set(False, now, sink, False)
        self.feed(True, now, sink)

    def resume(self, due: float, sink: Sink) -> None:
        """Put back a delay that was running before a restart: output off, waiting until ``due``."""
        self._drop(sink)
        if self.out:
            self._set(False, due, sink, True)
        self.raw, self.pending, self.due = True, True, due

    def _drop(self, sink: Sink) -> None:
        if self.pending is not None:
            sink.disarm(self)  # sees ``pending``: what the dropped delay led to
            self.pending = None

    def _set(self, value: bool, now: float, sink: Sink, silent: bool, propagate: bool = True) -> None:
        self.out = value
        if value and not silent:
            sink.rose(self)
        parent = self.parent
        if parent is not None and propagate:
            parent.feed(parent.combined(), now, sink, silent)


def settle(changed: list[Debounced], now: float, sink: Sink, silent: bool = False) -> None:
    """Carry the new outputs of several nodes (changed by one state change) up the tree at once.

    Parents are fed deepest first, once, after all their children moved: feeding them after each child
    would show passing combinations that never existed (with ``x`` from 1 to -1, ``x > 0 or x < 0`` would
    seem to end and begin again, and run its effects).
    """
    waiting: dict[int, Debounced] = {}
    for node in changed:
        if node.parent is not None:
            waiting[id(node.parent)] = node.parent
    while waiting:
        parent = max(waiting.values(), key=lambda n: n.depth)
        del waiting[id(parent)]
        before = parent.out
        parent.feed(parent.combined(), now, sink, silent, propagate=False)
        if parent.out != before and parent.parent is not None:
            waiting[id(parent.parent)] = parent.parent


def build_tree(block: ConditionBlock, parent: Debounced | None = None) -> Debounced:
    """The Debounced tree of a condition block (outputs all off until ``initialise``)."""
    depth = parent.depth + 1 if parent is not None else 0
    if isinstance(block, Leaf):
        return Debounced(
            block.block_id, block.activation_s, block.deactivation_s, parent=parent, leaf=block, depth=depth
        )
    node = Debounced(
        block.block_id,
        block.activation_s,
        block.deactivation_s,
        conjunction=block.conjunction,
        parent=parent,
        depth=depth,
    )
    node.children = [build_tree(child, node) for child in block.children]
    return node


def initialise(node: Debounced, lookup: Lookup) -> None:
    """Outputs from the states as they are now, bottom-up, without delays or effects."""
    if node.leaf is not None:
        node.raw = node.out = node.leaf.holds(lookup)
    else:
        for child in node.children:
            initialise(child, lookup)
        node.raw = node.out = node.combined()
    node.pending = None


def nodes(node: Debounced) -> Iterator[Debounced]:
    yield node
    for child in node.children:
        yield from nodes(child)
