"""The ConditionIndex: the current truth of every condition group, kept up to date from the bus.

A state change re-tests only the conditions keyed by (that deviceURL, that state) or (that controllableName,
that state), and only for the device that changed, never a scan of the groups; a change of the setup
re-tests the conditions that cover that device. Watchers hear of every change of a group's truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hearth.core.bus import EventBus
from hearth.core.conditions.evaluation import Verdict, device_down, device_verdict, state_verdict
from hearth.core.conditions.model import STATUS_STATE, Condition, ConditionKind
from hearth.model.device import Device
from hearth.model.events import (
    DeviceAvailableEvent,
    DeviceCreatedEvent,
    DeviceDisabledEvent,
    DeviceRemovedEvent,
    DeviceStateChangedEvent,
    DeviceUnavailableEvent,
    DeviceUpdatedEvent,
    Event,
)

log = logging.getLogger(__name__)

_SATISFIED = Verdict.SATISFIED  # a module constant: the hot loops compare with it on every state change


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
            down = device_down(found)
            for tracked in named:
                holds = state_verdict(tracked.state_name, tracked.comparison, found, down) is _SATISFIED
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
        down = device_down(device)
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
                holds = state_verdict(tracked.state_name, tracked.comparison, device, down) is _SATISFIED
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
        down = device is None or device_down(device)
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
                device is not None
                and state_verdict(tracked.state_name, tracked.comparison, device, down) is _SATISFIED,
            )
            return
        if device is None or device.controllable.name not in condition.targets:
            tracked.devices.discard(url)
            tracked.bad.discard(url)
        else:
            tracked.devices.add(url)
            if state_verdict(tracked.state_name, tracked.comparison, device, down) is _SATISFIED:
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
