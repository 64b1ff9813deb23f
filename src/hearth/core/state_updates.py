"""Current device states: validated, deduplicated, time-stamped, announced once per report."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hearth.core.bus import EventBus
from hearth.model.datatype import DataType, InvalidValue, infer_datatype
from hearth.model.device import Device, State
from hearth.model.events import DeviceAvailableEvent, DeviceStateChangedEvent, DeviceUnavailableEvent, now_ms

log = logging.getLogger(__name__)


class InvalidStateValue(ValueError):
    """A reported value does not fit its state; names the device, the state and the reason."""


class StateUpdater:
    """Applies state reports to the devices' states (held on each Device) and announces what changed.

    It keeps no states of its own (the registry's devices do; the SQLite history records them from the events),
    hence the name: it was called StateStore, which it never was.
    """

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    def report(self, device: Device, values: Mapping[str, Any], *, strict: bool = True) -> list[State]:
        """Apply reported values; publish one DeviceStateChangedEvent with those that changed.

        With ``strict`` a value that does not fit its state raises InvalidStateValue and nothing is applied;
        without it (a radio's report) the bad value is logged and the others are applied.
        """
        now = now_ms()
        accepted: list[tuple[str, DataType, Any]] = []
        specs = device.controllable.states
        for name, value in values.items():
            spec = specs.get(name)
            if spec is not None:
                try:
                    value = spec.check(value)
                except InvalidValue as exc:
                    message = f"{device.url_text} state {name}: {exc}"
                    if strict:
                        raise InvalidStateValue(message) from None
                    log.warning("ignored a report: %s", message)
                    continue
                dtype = spec.type
            else:
                dtype = infer_datatype(value)
            accepted.append((name, dtype, value))
        changed: list[State] = []
        states = device.states
        for name, dtype, value in accepted:
            current = states.get(name)
            if current is None:
                current = states[name] = State(name, dtype, value, now)
            elif current.value == value and current.type is dtype and type(current.value) is type(value):
                continue
            else:
                current.value = value
                current.type = dtype
                current.last_update_time = now
            changed.append(current)
        if changed:
            self._bus.publish(
                DeviceStateChangedEvent(
                    device.url_text, [{"name": s.name, "type": int(s.type), "value": s.value} for s in changed], now
                )
            )
        return changed

    def restore(self, device: Device, states: list[State]) -> None:
        """Put back states read from the store at start, without announcing them."""
        for state in states:
            device.states[state.name] = state

    def set_available(self, device: Device, available: bool) -> bool:
        """Mark reachability; announce and return True only when it changed."""
        if device.available == available:
            return False
        device.available = available
        if "core:StatusState" in device.controllable.states:
            self.report(device, {"core:StatusState": "available" if available else "unavailable"}, strict=False)
        event = DeviceAvailableEvent if available else DeviceUnavailableEvent
        self._bus.publish(event(device_url=device.url_text))
        return True
