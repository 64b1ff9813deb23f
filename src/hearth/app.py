"""The composition root, read top to bottom in ``Gateway.start``: store -> catalogue -> registry -> drivers ->
executor -> (extensions attach) -> recovery -> schedules, alerts, calendar, triggers, conditions -> extensions
and the API; ``stop`` undoes each step in exact reverse. ``build`` makes the gateway ``hearth run`` starts."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hearth import extensions
from hearth.alerts import AlertEngine
from hearth.config import Settings
from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.calendar import CalendarService
from hearth.core.catalogue import Catalogue
from hearth.core.clock import Clock, SystemClock
from hearth.core.conditions import ConditionGroupStore
from hearth.core.device_removal import DeviceRemoval
from hearth.core.drivers import Context, DriverManager
from hearth.core.executor import Executor
from hearth.core.identity import Identity, load_identity
from hearth.core.location import LocationStore
from hearth.core.places import PlaceTree
from hearth.core.registry import DeviceRegistry
from hearth.core.schedule import DelayedRunScheduler
from hearth.core.state_updates import StateUpdater
from hearth.core.sun import system_timezone
from hearth.core.tasks import cancel_and_wait
from hearth.core.triggers import TriggerEngine
from hearth.core.zones import ZoneStore
from hearth.extensions import CoreParts, Extension, ExtensionRegistry, GatewayParts
from hearth.ops import Monitoring
from hearth.store.calendar import CalendarRepository
from hearth.store.database import Database
from hearth.store.history import StateRecorder
from hearth.store.journal import ExecutionJournal
from hearth.store.repositories import (
    DeviceRepository,
    DriverDataRepository,
    PlaceRepository,
    SettingsRepository,
)
from hearth.store.tokens import Scope, TokenStore
from hearth.store.writer import BatchWriter

if TYPE_CHECKING:
    from hearth.api.server import ApiServer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StartReport:
    """What the first lines of ``hearth run`` tell the user."""

    gateway_id: str
    first_start: bool
    first_admin_token: str | None
    devices: int
    drivers: list[str]
    start_seconds: float


def build(settings: Settings) -> Gateway:
    """``hearth run``'s gateway: the core, the API when enabled, the extensions the configuration enables (each
    imported now: a missing extra is said in words before anything starts)."""
    from hearth.api.server import ApiServer

    return Gateway(
        settings,
        before_api=extensions.make(settings, extensions.BEFORE_API),
        api=ApiServer() if settings.api.enabled else None,
        after_api=extensions.make(settings, extensions.AFTER_API),
    )


class Gateway:
    """The composition root: each part made from the typed parts it needs, in the order below; ``stop`` undoes
    exactly what ``start`` did, in reverse (a part that was not started is not in the list to stop)."""

    CHECKPOINT_S = 5.0

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        before_api: Sequence[Extension] = (),
        api: ApiServer | None = None,
        after_api: Sequence[Extension] = (),
    ) -> None:
        """Extensions in start order around the API (see ``build`` and hearth.extensions for that order)."""
        self.settings = settings
        # Wall-clock time for schedules, dawn and dusk; tests inject a ManualClock.
        self.clock: Clock = clock or SystemClock()
        self.bus = EventBus()
        self.states = StateUpdater(self.bus)
        self.db = Database(settings.data_dir() / "hearth.db", settings.store.synchronous)
        self.writer = BatchWriter(self.db, settings.store.batch_window_ms, settings.store.batch_max_rows)
        hs = settings.history
        self.recorder = StateRecorder(
            self.db,
            self.writer,
            retention_days=hs.retention_days,
            per_state_days=hs.per_state,
            max_rows_per_state=hs.max_rows_per_state,
            hourly_days=hs.hourly_days,
            daily_days=hs.daily_days,
            monthly_days=hs.monthly_days,
            timezone=self._timezone,
        )
        self.tokens = TokenStore(self.db)
        self.drivers = DriverManager()
        self.journal = ExecutionJournal(self.db, self.writer)
        self.ops = Monitoring(self.bus)  # metrics, device health, recent logs: listening from the first event
        self.api = api
        self._before_api = list(before_api)
        self._after_api = list(after_api)
        self.extensions = ExtensionRegistry([*self._before_api, *self._after_api])
        # Made by start(), in this order:
        self.catalogue: Catalogue
        self.identity: Identity
        self.registry: DeviceRegistry
        self.places: PlaceTree
        self.executor: Executor
        self.action_groups: ActionGroupStore
        self.device_removal: DeviceRemoval
        self.zones: ZoneStore
        self.scheduler: DelayedRunScheduler
        self.alerts: AlertEngine
        self.location: LocationStore
        self.calendar: CalendarService
        self.triggers: TriggerEngine
        self.conditions: ConditionGroupStore
        self._located: LocationStore | None = None  # the history's days follow it once loaded
        # What start() did that stop() must undo, in start order.
        self._undo: list[tuple[str, Callable[[], Awaitable[None] | None]]] = []

    def _started(self, what: str, undo: Callable[[], Awaitable[None] | None]) -> None:
        self._undo.append((what, undo))

    async def start(self) -> StartReport:
        started = time.perf_counter()
        settings = self.settings
        self.ops.start(self)
        self._started("monitoring", self.ops.stop)
        # The database thread binds rows holding the GIL; a 1 ms switch interval (default 5 ms) keeps the
        # event loop from waiting that long for it. One gateway per process, so this is ours to set.
        sys.setswitchinterval(0.001)
        self.catalogue = Catalogue.load(settings.catalogue_dir())
        await self.db.open()
        self._started("database", self.db.close)
        self.identity = await load_identity(SettingsRepository(self.db), settings.gateway.id)
        self.registry = DeviceRegistry(self.catalogue, self.bus, DeviceRepository(self.db))
        orphans = self.registry.load(await DeviceRepository(self.db).all())
        for url in orphans:
            log.warning("device %s: its controllable is no longer in the catalogue; it is not loaded", url)
        saved_states = await DeviceRepository(self.db).states()
        for device in self.registry.all():
            self.states.restore(device, saved_states.get(device.url_text, []))
        self.places = PlaceTree(PlaceRepository(self.db), self.bus)
        await self.places.load(settings.gateway.home_label, [p.model_dump() for p in settings.places])
        await self.recorder.load()
        self.recorder.attach(self.bus)
        self._started("state history", self.recorder.close)
        self.writer.start()
        self._started("batch writer", self.writer.close)
        first_token = None
        if await self.tokens.count() == 0:
            first_token, _ = await self.tokens.create(Scope.ADMIN, "first admin token")
        self._started("drivers", self.drivers.stop)  # each driver started is stopped, even if a later one fails
        await self._start_drivers()
        ex = settings.executor
        self.executor = Executor(
            self.registry,
            self.drivers,
            self.bus,
            self.journal,
            states=self.states,
            lock_hold_s=ex.lock_hold_s,
            missed_grace_s=ex.missed_grace_s,
        )
        self._started("executor", self.executor.stop)
        self.action_groups = ActionGroupStore(self.db, self.bus, self.executor)
        await self.action_groups.load()
        self.device_removal = DeviceRemoval(self.registry, self.drivers, self.action_groups, self.bus)
        self.zones = ZoneStore(self.db, self.bus, self.registry)
        await self.zones.load()
        # The extensions' subscribers (the cloud syncs' recorders) on the bus before recovery publishes the
        # executions it closes (COMMAND_INTERRUPTED, TIMED_OUT): else no cloud would ever hear of them.
        core = CoreParts(settings, self.bus, self.db, self.identity)
        for extension in self.extensions:
            extension.attach(core)
        await self.executor.recover()
        self.scheduler = DelayedRunScheduler(
            self.db, self.writer, self.bus, self.executor, self.action_groups, missed_grace_s=ex.missed_grace_s
        )
        self._started("delayed runs", self.scheduler.stop)
        await self.scheduler.load()
        self.alerts = AlertEngine(
            self.db,
            self.writer,
            self.bus,
            self.registry,
            self.places,
            self.executor,
            self.action_groups,
            clock=self.clock,
            gateway_id=self.identity.gateway_id,
            missed_grace_s=ex.missed_grace_s,
        )
        self._started("alerts", self.alerts.stop)
        await self.alerts.load()
        self.location = LocationStore(self.db, self.writer, self.bus, self.clock)
        await self.location.load()
        self._located = self.location
        self.calendar = CalendarService(
            CalendarRepository(self.db, self.writer),
            self.bus,
            self.clock,
            self.executor,
            self.action_groups,
            self.location,
            self.identity.gateway_id,
            missed_grace_s=ex.missed_grace_s,
        )
        self._started("calendar", self.calendar.stop)
        await self.calendar.load()
        self.triggers = TriggerEngine(
            self.db,
            self.writer,
            self.bus,
            self.clock,
            self.registry,
            self.executor,
            self.action_groups,
            self.location,
            self.identity.gateway_id,
            missed_grace_s=ex.missed_grace_s,
            calendar=self.calendar.planning,
        )
        self._started("triggers", self.triggers.stop)
        await self.triggers.load()
        self.conditions = ConditionGroupStore(self.db, self.bus, self.registry, self.catalogue)
        self._started("condition groups", self.conditions.close)
        await self.conditions.load()
        self._started("maintenance", self._background(self._maintain(), "retention"))
        self._started("checkpoints", self._background(self._checkpoint(), "wal-checkpoint"))
        parts = GatewayParts(
            settings,
            self.bus,
            self.db,
            self.identity,
            self.registry,
            self.places,
            self.journal,
            self.executor,
            self.action_groups,
            self.alerts,
            self.triggers,
            self.conditions,
        )
        for extension in self._before_api:
            await self._start_extension(extension, parts)
        if self.api is not None:
            self._started("API server", self.api.stop)  # closes its socket even if it fails while starting
            await self.api.start(self)
        for extension in self._after_api:
            await self._start_extension(extension, parts)
        return StartReport(
            self.identity.gateway_id,
            self.identity.first_start,
            first_token,
            len(self.registry),
            sorted(settings.enabled_drivers()),
            time.perf_counter() - started,
        )

    async def _start_extension(self, extension: Extension, parts: GatewayParts) -> None:
        # Stopped even if its start fails half-way (its stop undoes what it did).
        self._started(extension.name, extension.stop)
        await extension.start(parts)

    @staticmethod
    def _background(work: Coroutine[Any, Any, None], name: str) -> Callable[[], Awaitable[None]]:
        """A task of the gateway's own, running until stop; what cancels it."""
        task = asyncio.create_task(work, name=name)
        return lambda: cancel_and_wait(task)

    async def _start_drivers(self) -> None:
        data = DriverDataRepository(self.db)
        for name, config in self.settings.enabled_drivers().items():
            cls = self.drivers.load(name)
            self.drivers.check_config(name, cls, config)
            ctx = Context(
                name,
                cls.protocol,
                self.identity.gateway_id,
                config,
                self.catalogue,
                self.registry,
                self.states,
                self.places,
                data,
                self.settings.data_dir() / "drivers" / name,
                self.bus,
            )
            await self.drivers.start(name, cls, ctx)

    def _timezone(self) -> tzinfo:
        """The setup's timezone (the host's until the location is loaded): history buckets are local days."""
        location = self._located
        return location.sun.tz if location is not None else ZoneInfo(system_timezone())

    async def _maintain(self) -> None:
        """Retention, so that the database cannot grow without bound on an SD card. Not at start: the first
        command must not wait behind a sweep (each sweep is bounded anyway; see store/retention.py)."""
        ex = self.settings.executor
        await asyncio.sleep(self.settings.history.sweep_start_delay_s)
        while True:
            try:
                await self.recorder.sweep()
                await self.journal.sweep(int(time.time() * 1000 - ex.history_days * 86_400_000), ex.history_keep_last)
            except Exception:
                log.exception("retention sweep failed")
            await asyncio.sleep(self.settings.history.sweep_interval_s)

    async def _checkpoint(self) -> None:
        """Keep the WAL short (see Database.checkpoint), every few seconds."""
        while True:
            await asyncio.sleep(self.CHECKPOINT_S)
            try:
                await self.db.checkpoint()
            except Exception:
                log.exception("WAL checkpoint failed")

    async def stop(self) -> None:
        """Undo what start did, in exact reverse; a part that does not stop cleanly does not keep the rest."""
        while self._undo:
            what, undo = self._undo.pop()
            try:
                result = undo()
                if result is not None:
                    await result
            except Exception:
                log.exception("%s did not stop cleanly", what)
