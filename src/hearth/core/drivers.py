"""Driver plug-ins: found under the ``hearth.drivers`` entry points, imported only when enabled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.catalogue import Catalogue
from hearth.core.places import PlaceTree
from hearth.core.registry import DeviceRegistry
from hearth.core.state_updates import StateUpdater
from hearth.core.tasks import cancel_all_and_wait
from hearth.model.definition import Controllable
from hearth.model.device_url import DeviceURL
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import Event
from hearth.sdk.driver import DeviceInfo, DeviceSpec, Driver
from hearth.store.repositories import DriverDataRepository

ENTRY_POINT_GROUP = "hearth.drivers"
log = logging.getLogger(__name__)


class DriverLoadError(RuntimeError):
    """An enabled driver cannot be found, imported or started."""


def available_drivers() -> dict[str, Any]:
    """Name -> entry point, without importing any driver."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


class _Storage:
    def __init__(self, repo: DriverDataRepository, driver: str) -> None:
        self._repo = repo
        self._driver = driver

    async def get(self, key: str) -> Any:
        return await self._repo.get(self._driver, key)

    async def put(self, key: str, value: Any) -> None:
        await self._repo.put(self._driver, key, value)

    async def delete(self, key: str) -> None:
        await self._repo.delete(self._driver, key)

    async def keys(self) -> list[str]:
        return await self._repo.keys(self._driver)


class Context:
    """What one driver sees of Hearth (the ``DriverContext`` of the SDK)."""

    def __init__(
        self,
        name: str,
        protocol: str,
        gateway_id: str,
        config: Mapping[str, Any],
        catalogue: Catalogue,
        registry: DeviceRegistry,
        states: StateUpdater,
        places: PlaceTree,
        storage: DriverDataRepository,
        data_dir: Path | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.name = name
        self.data_dir = data_dir or Path("var") / "drivers" / name
        self.protocol = protocol
        self.gateway_id = gateway_id
        self.config = config
        self.log = logging.getLogger(f"hearth.driver.{name}")
        self.storage = _Storage(storage, name)
        self._catalogue = catalogue
        self._registry = registry
        self._states = states
        self._places = places
        self._bus = bus
        self._tasks: set[asyncio.Task[Any]] = set()

    def device_url(self, address: str, subsystem: int | None = None) -> DeviceURL:
        return DeviceURL(self.protocol, self.gateway_id, address, subsystem)

    def controllable(self, name: str) -> Controllable | None:
        return self._catalogue.get(name)

    def _own(self, url: DeviceURL) -> str:
        if url.protocol != self.protocol:
            raise ValueError(f"driver {self.name} does not own {url}")
        return str(url)

    async def add_device(self, spec: DeviceSpec) -> DeviceURL:
        url = DeviceURL.parse(str(self.device_url(spec.address, spec.subsystem)))
        place = self._places.find_by_label(spec.place_label) if spec.place_label else None
        device, _ = await self._registry.add(
            url,
            spec.controllable_name,
            spec.label,
            attributes=dict(spec.attributes),
            place_oid=place.oid if place else None,
        )
        missing = {k: v for k, v in spec.states.items() if k not in device.states}
        if missing:
            self._states.report(device, missing, strict=False)
        return url

    async def update_device(self, url: DeviceURL, *, label: str | None = None) -> None:
        device = self._registry.get(self._own(url))
        if device is not None:
            await self._registry.update(device, label=label)

    async def remove_device(self, url: DeviceURL) -> None:
        device = self._registry.get(self._own(url))
        if device is not None:
            await self._registry.remove(device)

    def devices(self) -> list[DeviceInfo]:
        return [
            DeviceInfo(d.url, d.controllable.name, d.label, d.available)
            for d in self._registry.all()
            if d.url.protocol == self.protocol
        ]

    def report_states(self, url: DeviceURL, values: Mapping[str, Any]) -> None:
        device = self._registry.get(str(url))
        if device is None:
            self.log.warning("report for unknown device %s ignored", url)
            return
        # A radio's report is never trusted: a bad value is logged and dropped, the others applied.
        self._states.report(device, values, strict=False)

    def set_available(self, url: DeviceURL, available: bool) -> None:
        device = self._registry.get(str(url))
        if device is not None:
            self._states.set_available(device, available)

    def state(self, url: DeviceURL, name: str) -> Any:
        device = self._registry.get(str(url))
        if device is None:
            return None
        state = device.states.get(name)
        return state.value if state is not None else None

    def publish(self, event: Event) -> None:
        if self._bus is not None:
            self._bus.publish(event)

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("driver task %s failed", task.get_name(), exc_info=task.exception())

    async def cancel_tasks(self) -> None:
        await cancel_all_and_wait(self._tasks)


class DriverManager:
    def __init__(self) -> None:
        self.by_protocol: dict[str, Driver] = {}
        self._contexts: dict[str, Context] = {}

    def load(self, name: str) -> type[Driver]:
        entry = available_drivers().get(name)
        if entry is None:
            known = ", ".join(sorted(available_drivers())) or "none"
            raise DriverLoadError(f"drivers.{name}: no such driver installed (installed: {known})")
        try:
            cls = entry.load()
        except ImportError as exc:
            raise DriverLoadError(
                f"drivers.{name}: cannot import ({exc}); install its extra: pip install 'hearth[{name}]'"
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, Driver)):
            raise DriverLoadError(f"drivers.{name}: entry point is not a hearth.sdk.Driver")
        return cls

    def check_config(self, name: str, cls: type[Driver], config: Mapping[str, Any]) -> None:
        try:
            cls.check_config({k: v for k, v in config.items() if k != "enabled"})
        except ValueError as exc:
            raise DriverLoadError(f"drivers.{name}.{exc}") from None

    async def start(self, name: str, cls: type[Driver], ctx: Context) -> Driver:
        driver = cls(ctx)
        if cls.protocol in self.by_protocol:
            raise DriverLoadError(f"drivers.{name}: protocol {cls.protocol!r} is taken by another driver")
        await driver.start()
        self.by_protocol[cls.protocol] = driver
        self._contexts[cls.protocol] = ctx
        log.info("driver %s started (protocol %s)", name, cls.protocol)
        return driver

    def driver_for(self, url: DeviceURL) -> Driver:
        driver = self.by_protocol.get(url.protocol)
        if driver is None:
            raise ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, f"No driver is running for {url.protocol}")
        return driver

    async def stop(self) -> None:
        for protocol, driver in reversed(list(self.by_protocol.items())):
            try:
                await driver.stop()
            except Exception:
                log.exception("driver %s did not stop cleanly", protocol)
            await self._contexts[protocol].cancel_tasks()
        self.by_protocol.clear()
