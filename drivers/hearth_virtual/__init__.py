"""The virtual driver: simulated devices that behave like real ones.

It is the embedded default of ``make run`` (a demo house) and the peer of tests and benchmarks. Any state
of a virtual device can be set from outside to play the physical world (someone opens a door, the sun
comes out): ``PUT /setup/devices/{deviceURL}/states/{name}/{type}/{value}``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any, ClassVar

from hearth.sdk import CommandCall, CommandFailed, DeviceSpec, DeviceURL, Driver, DriverContext, FailureType, JsonValue
from hearth_virtual.house import DEMO_DEVICES
from hearth_virtual.settings import parse_settings
from hearth_virtual.simulation import SimulatedDevice

# Storage key: addresses of devices the user deleted (of the demo house or the configured ones).
DELETED = "deleted"

__all__ = ["VirtualDriver"]


class VirtualDriver(Driver):
    # Not a vendor protocol name (pyoverkiz reads it as "unknown" and warns): none of them is a simulation, and
    # "internal" is the box's own modules. Kept, so that a demo device is never taken for a real one.
    protocol: ClassVar[str] = "virtual"
    max_concurrency: ClassVar[int] = 64

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.settings = parse_settings(ctx.config)
        self.travel_time_s = self.settings.travel_time_s
        self.drift_interval_s = self.settings.drift_interval_s
        self.rng = random.Random(self.settings.seed)
        self.devices: dict[str, SimulatedDevice] = {}

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    async def start(self) -> None:
        settings = self.settings
        wanted: list[tuple[str, str, str, str | None]] = []
        if settings.house == "demo":
            wanted.extend(DEMO_DEVICES)
        for entry in settings.devices:
            wanted.append((str(entry.address), entry.controllable, entry.label or entry.controllable, entry.place))
        if settings.generated_devices:
            wanted.extend(self._generated(settings.generated_devices))
        deleted = set(await self.ctx.storage.get(DELETED) or [])
        for address, controllable_name, label, place in wanted:
            if address not in deleted:
                await self.add(address, controllable_name, label, place)
        if self.drift_interval_s > 0:
            self.ctx.create_task(self._drift_forever(), "drift")

    async def add(self, address: str, controllable_name: str, label: str, place: str | None = None) -> DeviceURL:
        controllable = self.ctx.controllable(controllable_name)
        if controllable is None:
            raise ValueError(f"drivers.virtual: controllable {controllable_name!r} is not in the catalogue")
        sim = SimulatedDevice(self.ctx, self.ctx.device_url(address), controllable, self.travel_time_s)
        url = await self.ctx.add_device(
            DeviceSpec(
                address=address,
                controllable_name=controllable_name,
                label=label,
                place_label=place,
                states=sim.initial_states(self.rng),
            )
        )
        self.devices[str(url)] = sim
        return url

    async def delete_device(self, url: DeviceURL) -> None:
        """A deleted simulated device stays deleted: the house is not rebuilt around it at the next start."""
        self.devices.pop(str(url), None)
        deleted = set(await self.ctx.storage.get(DELETED) or [])
        await self.ctx.storage.put(DELETED, sorted(deleted | {url.address}))

    def _generated(self, count: int) -> list[tuple[str, str, str, str | None]]:
        """Many devices for benchmarks: sensors and lights in turn, addresses from 1000 up."""
        kinds = [
            "zigbee:TemperatureSensorComponent",
            "zigbee:DimmableLightComponent",
            "zigbee:RollerShutterGenericComponent",
            "zigbee:SmartPlugComponent",
        ]
        return [(str(1000 + i), kinds[i % len(kinds)], f"Generated {i}", None) for i in range(count)]

    async def _drift_forever(self) -> None:
        while True:
            await asyncio.sleep(self.drift_interval_s)
            for sim in list(self.devices.values()):
                if self.ctx.state(sim.url, "core:StatusState") != "unavailable":
                    sim.drift(self.rng, self.drift_interval_s)

    async def execute(self, call: CommandCall) -> None:
        sim = self.devices.get(str(call.device_url))
        if sim is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{call.device_url} is not simulated")
        if self.ctx.state(sim.url, "core:StatusState") == "unavailable":
            # An unreachable device does not answer: the radio's timeout, shortened for the simulation.
            await asyncio.sleep(0.2)
            raise CommandFailed(FailureType.DEVICE_NO_ANSWER, f"{call.device_url} does not answer")
        await sim.execute(call)

    async def read_back(self, url: DeviceURL) -> bool:
        """A simulated device says where it stands: one that was moving when the gateway died stopped there."""
        sim = self.devices.get(str(url))
        if sim is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{url} is not simulated")
        sim.settle()
        return True

    async def set_state(self, url: DeviceURL, name: str, value: JsonValue) -> bool:
        sim = self.devices.get(str(url))
        if sim is None:
            return False
        if name == "core:StatusState":
            self.ctx.set_available(url, value == "available")
        self.ctx.report_states(url, {name: value})
        return True
