"""The JSON of ``GET /setup`` and ``GET /setup/devices``, cached per device and streamed when it is big.

Building the whole body at each request cost 16 ms of event loop at 1,000 devices, and 488 ms with a 305 MB
peak at 20,000. Here each device's JSON is kept as text in two parts:
- its states, dropped when a ``DeviceStateChangedEvent`` names the device (StateUpdater publishes one for every
  change; a dict pop is all a state change costs here) or when the number of its states changes;
- the rest, rebuilt from ``Device.to_json`` when its fingerprint (the fields that ``to_json`` reads) differs;
- its controllable's ``definition``, shared by every device of that controllable (the catalogue does not
  change while the gateway runs).
A field added to ``Device.to_json`` from something else than these must be added to ``_fingerprint``.

A body of more than ``STREAM_ABOVE`` devices is streamed, ``CHUNK`` devices at a time, yielding to the loop
between chunks, so that a big setup never holds the loop for long nor sits in memory whole.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.responses import Response, StreamingResponse

from hearth.core.bus import EventBus
from hearth.model.definition import Controllable
from hearth.model.device import Device
from hearth.model.events import DeviceRemovedEvent, DeviceStateChangedEvent

STREAM_ABOVE = 2000
CHUNK = 250


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _fingerprint(device: Device) -> tuple[Any, ...]:
    return (
        device.label,
        device.place_oid,
        device.metadata,
        device.enabled,
        device.available,
        device.creation_time,
        device.last_update_time,
        device.oid,
        id(device.controllable),
        [(a.name, a.type, a.value) for a in device.attributes.values()],
    )


class SetupJson:
    """Per-device JSON text of one gateway's devices."""

    _of: weakref.WeakKeyDictionary[EventBus, SetupJson] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, bus: EventBus) -> SetupJson:
        """The one cache of a gateway (keyed by its bus, so that routes built twice share it)."""
        cache = cls._of.get(bus)
        if cache is None:
            cache = cls._of[bus] = cls(bus)
        return cache

    def __init__(self, bus: EventBus) -> None:
        # url -> (number of states, their JSON): dropped on the device's DeviceStateChangedEvent
        self._states: dict[str, tuple[int, str]] = {}
        # url -> (id(device), fingerprint, the JSON but definition and states, without the closing brace)
        self._rest: dict[str, tuple[int, tuple[Any, ...], str]] = {}
        self._definitions: dict[int, tuple[Controllable, str]] = {}
        bus.subscribe(self._on_states, DeviceStateChangedEvent)
        bus.subscribe(self._on_removed, DeviceRemovedEvent)

    def _on_states(self, event: DeviceStateChangedEvent) -> None:
        self._states.pop(event.device_url, None)

    def _on_removed(self, event: DeviceRemovedEvent) -> None:
        self._states.pop(event.device_url, None)
        self._rest.pop(event.device_url, None)

    # ------------------------------------------------------------------ one device

    def _parts(self, device: Device) -> tuple[str, str, str]:
        """(the device's JSON but ``definition`` and ``states``, without its closing brace; its definition;
        its states): kept apart so that the definition is held once per controllable, not once per device."""
        url = device.url_text
        fingerprint = _fingerprint(device)
        rest = self._rest.get(url)
        if rest is None or rest[0] != id(device) or rest[1] != fingerprint:
            out = device.to_json()
            out.pop("states", None)
            out.pop("definition", None)
            rest = self._rest[url] = (id(device), fingerprint, _dumps(out)[:-1])
        states = self._states.get(url)
        if states is None or states[0] != len(device.states):
            states = self._states[url] = (len(device.states), _dumps([s.to_json() for s in device.states.values()]))
        return rest[2], self._definition(device.controllable), states[1]

    def device(self, device: Device) -> str:
        """``Device.to_json()`` as text (same fields; ``definition`` and ``states`` come last)."""
        rest, definition, states = self._parts(device)
        return f'{rest},"definition":{definition},"states":{states}}}'

    def _array(self, devices: list[Device]) -> str:
        """The devices' JSON objects, comma-separated, joined once (no text per device is made)."""
        out: list[str] = []
        for device in devices:
            rest, definition, states = self._parts(device)
            out += (rest, ',"definition":', definition, ',"states":', states, "},")
        if out:
            out[-1] = "}"
        return "".join(out)

    def _definition(self, controllable: Controllable) -> str:
        cached = self._definitions.get(id(controllable))
        if cached is None or cached[0] is not controllable:
            cached = self._definitions[id(controllable)] = (controllable, _dumps(controllable.definition_json()))
        return cached[1]

    # ------------------------------------------------------------------ bodies

    def response(self, devices: list[Device], head: str = "", tail: str = "") -> Response:
        """``head`` + the devices as a JSON array + ``tail``; streamed when there are many devices."""
        if len(devices) <= STREAM_ABOVE:
            body = head + "[" + self._array(devices) + "]" + tail
            return Response(body, media_type="application/json")
        return StreamingResponse(self._stream(devices, head, tail), media_type="application/json")

    async def _stream(self, devices: Iterable[Device], head: str, tail: str) -> AsyncIterator[bytes]:
        devices = list(devices)
        for start in range(0, len(devices), CHUNK):
            part = self._array(devices[start : start + CHUNK])
            yield ((head + "[" if start == 0 else ",") + part).encode()
            await asyncio.sleep(0)  # the loop serves others between chunks
        yield ("]" + tail).encode()

    def setup_response(self, fields: dict[str, Any], devices: list[Device]) -> Response:
        """``GET /setup``: ``fields`` in order, with ``"devices"`` (any value) replaced by the devices."""
        keys = list(fields)
        at = keys.index("devices")
        before = _dumps({k: fields[k] for k in keys[:at]})
        after = _dumps({k: fields[k] for k in keys[at + 1 :]})
        head = (before[:-1] + ("," if at else "")) + '"devices":'
        tail = ("," + after[1:]) if len(keys) > at + 1 else "}"
        return self.response(devices, head, tail)
