"""The event bus, the state store and the priority gate, on their own."""

from __future__ import annotations

import asyncio

import pytest

from hearth.config import REPO_CONFIG_DIR
from hearth.core.bus import EventBus
from hearth.core.catalogue import Catalogue
from hearth.core.gates import PriorityGate
from hearth.core.state_updates import InvalidStateValue, StateUpdater
from hearth.model.device import Device
from hearth.model.device_url import DeviceURL
from hearth.model.events import DeviceStateChangedEvent, DeviceUnavailableEvent, Event


def make_device(name: str = "zigbee:DimmableLightComponent") -> Device:
    catalogue = Catalogue.load(REPO_CONFIG_DIR / "controllables")
    return Device(url=DeviceURL.parse("virtual://1234-5678-9012/1"), oid="o", label="l", controllable=catalogue[name])


def test_bus_typed_and_catch_all_listeners() -> None:
    bus = EventBus()
    typed: list[Event] = []
    every: list[Event] = []
    bus.subscribe(typed.append, DeviceStateChangedEvent)
    unsubscribe = bus.subscribe(every.append)
    bus.publish(DeviceStateChangedEvent(device_url="u", device_states=[]))
    bus.publish(DeviceUnavailableEvent(device_url="u"))
    assert len(typed) == 1 and len(every) == 2
    unsubscribe()
    bus.publish(DeviceUnavailableEvent(device_url="u"))
    assert len(every) == 2


def test_bus_survives_a_failing_listener() -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(_: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish(DeviceUnavailableEvent(device_url="u"))
    assert len(seen) == 1 and bus.listener_errors == 1


async def test_slow_async_consumer_drops_oldest_and_never_blocks() -> None:
    bus = EventBus()
    consumer = bus.consumer("slow", maxsize=10)
    for i in range(25):
        bus.publish(DeviceStateChangedEvent(device_url=str(i), device_states=[]))
    assert consumer.dropped == 15 and len(consumer) == 10
    first = await consumer.get()
    assert isinstance(first, DeviceStateChangedEvent) and first.device_url == "15"


def test_state_updater_dedupes_stamps_and_validates() -> None:
    bus = EventBus()
    events: list[DeviceStateChangedEvent] = []
    bus.subscribe(events.append, DeviceStateChangedEvent)
    store = StateUpdater(bus)
    device = make_device()
    store.report(device, {"core:LightIntensityState": 40, "core:OnOffState": "on"})
    store.report(device, {"core:LightIntensityState": 40})  # unchanged: no event
    store.report(device, {"core:LightIntensityState": 41})
    assert [len(e.device_states) for e in events] == [2, 1]
    assert device.states["core:LightIntensityState"].value == 41
    with pytest.raises(InvalidStateValue, match="core:LightIntensityState.*above the maximum"):
        store.report(device, {"core:LightIntensityState": 140})
    # A radio's bad value is dropped, the good ones applied.
    store.report(device, {"core:LightIntensityState": "x", "core:OnOffState": "off"}, strict=False)
    assert device.states["core:OnOffState"].value == "off"
    assert device.states["core:LightIntensityState"].value == 41


def test_state_updater_availability() -> None:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    store = StateUpdater(bus)
    device = make_device()
    assert store.set_available(device, False)
    assert not store.set_available(device, False)
    assert device.states["core:StatusState"].value == "unavailable"
    assert any(isinstance(e, DeviceUnavailableEvent) for e in events)


async def test_priority_gate_orders_waiters() -> None:
    gate = PriorityGate(1)
    await gate.acquire()
    order: list[str] = []

    async def take(name: str, high: bool) -> None:
        await gate.acquire(high)
        order.append(name)
        gate.release()

    tasks = [asyncio.create_task(take("normal-1", False)), asyncio.create_task(take("normal-2", False))]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("high", True)))
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["high", "normal-1", "normal-2"]
    assert gate.in_use == 0


async def test_priority_gate_cancelled_waiter_leaves_no_hole() -> None:
    gate = PriorityGate(1)
    await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    gate.release()
    assert gate.in_use == 0
    await asyncio.wait_for(gate.acquire(), 1)
