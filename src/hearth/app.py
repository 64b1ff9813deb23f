"""The composition root: store -> catalogue -> registry -> drivers -> executor -> API, and back on stop."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

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
from hearth.core.state_store import StateStore
from hearth.core.sun import system_timezone
from hearth.core.triggers import TriggerEngine
from hearth.core.zones import ZoneStore
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


class Gateway:
    CHECKPOINT_S = 5.0
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        # Wall-clock time for schedules, dawn and dusk; tests inject a ManualClock.
        self.clock: Clock = clock or SystemClock()
        self.bus = EventBus()
        self.states = StateStore(self.bus)
        self.db = Database(settings.data_dir() / "hearth.db", settings.store.synchronous)
        self.writer = BatchWriter(self.db, settings.store.batch_window_ms, settings.store.batch_max_rows)
        hs = settings.history
        self.recorder = StateRecorder(
            self.db, self.writer, retention_days=hs.retention_days, per_state_days=hs.per_state,
            max_rows_per_state=hs.max_rows_per_state, hourly_days=hs.hourly_days, daily_days=hs.daily_days,
            monthly_days=hs.monthly_days, timezone=self._timezone)
        self.tokens = TokenStore(self.db)
        self.drivers = DriverManager()
        self.journal = ExecutionJournal(self.db, self.writer)
        self.catalogue: Catalogue
        self.registry: DeviceRegistry
        self.places: PlaceTree
        self.identity: Identity
        self.executor: Executor
        self.action_groups: ActionGroupStore
        self.device_removal: DeviceRemoval
        self.scheduler: DelayedRunScheduler
        self.location: LocationStore
        self.calendar: CalendarService
        self.triggers: TriggerEngine
        self.zones: ZoneStore
        self.conditions: ConditionGroupStore
        self.api_port: int | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self.extensions: list[Any] = []  # executor, API server...: started in order, stopped in reverse
        self.cloud: Any = None  # the cloud sync, when [cloud] is enabled (it sets itself here)
        self.smartsolar: Any = None  # the SMARTSolar connector, when enabled (its webhooks come through the API)
        self.ops = Monitoring(self.bus)  # metrics, device health, recent logs: listening from the first event

    async def start(self) -> StartReport:
        started = time.perf_counter()
        settings = self.settings
        self.ops.start(self)
        # The database thread binds rows holding the GIL; a 1 ms switch interval (default 5 ms) keeps the
        # event loop from waiting that long for it. One gateway per process, so this is ours to set.
        sys.setswitchinterval(0.001)
        self.catalogue = Catalogue.load(settings.catalogue_dir())
        await self.db.open()
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
        self.writer.start()
        first_token = None
        if await self.tokens.count() == 0:
            first_token, _ = await self.tokens.create(Scope.ADMIN, "first admin token")
        await self._start_drivers()
        ex = settings.executor
        self.executor = Executor(self.registry, self.drivers, self.bus, self.journal, states=self.states,
                                 lock_hold_s=ex.lock_hold_s, missed_grace_s=ex.missed_grace_s)
        self.action_groups = ActionGroupStore(self.db, self.bus, self.executor)
        await self.action_groups.load()
        self.device_removal = DeviceRemoval(self.registry, self.drivers, self.action_groups, self.bus)
        self.zones = ZoneStore(self.db, self.bus, self.registry)
        await self.zones.load()
        # Subscribers of extensions (the cloud syncs' recorders) on the bus before recovery publishes the
        # executions it closes (COMMAND_INTERRUPTED, TIMED_OUT): else no cloud would ever hear of them.
        for extension in self.extensions:
            attach = getattr(extension, "attach", None)
            if attach is not None:
                attach(self)
        await self.executor.recover()
        self.scheduler = DelayedRunScheduler(self.db, self.writer, self.bus, self.executor, self.action_groups,
                                             missed_grace_s=ex.missed_grace_s)
        await self.scheduler.load()
        self.alerts = AlertEngine(self.db, self.writer, self.bus, self.registry, self.places, self.executor,
                                  self.action_groups, clock=self.clock, gateway_id=self.identity.gateway_id,
                                  missed_grace_s=ex.missed_grace_s)
        await self.alerts.load()
        self.location = LocationStore(self.db, self.writer, self.bus, self.clock)
        await self.location.load()
        self.calendar = CalendarService(CalendarRepository(self.db, self.writer), self.bus, self.clock,
                                        self.executor, self.action_groups, self.location, self.identity.gateway_id,
                                        missed_grace_s=ex.missed_grace_s)
        await self.calendar.load()
        self.triggers = TriggerEngine(self.db, self.writer, self.bus, self.clock, self.registry, self.executor,
                                      self.action_groups, self.location, self.identity.gateway_id,
                                      missed_grace_s=ex.missed_grace_s, calendar=self.calendar.planning)
        await self.triggers.load()
        self.conditions = ConditionGroupStore(self.db, self.bus, self.registry, self.catalogue)
        await self.conditions.load()
        self._maintenance = asyncio.create_task(self._maintain(), name="retention")
        self._checkpoints = asyncio.create_task(self._checkpoint(), name="wal-checkpoint")
        for extension in self.extensions:
            await extension.start(self)
        return StartReport(self.identity.gateway_id, self.identity.first_start, first_token, len(self.registry),
                           sorted(settings.enabled_drivers()), time.perf_counter() - started)

    async def _start_drivers(self) -> None:
        data = DriverDataRepository(self.db)
        for name, config in self.settings.enabled_drivers().items():
            cls = self.drivers.load(name)
            self.drivers.check_config(name, cls, config)
            ctx = Context(name, cls.protocol, self.identity.gateway_id, config, self.catalogue, self.registry,
                          self.states, self.places, data, self.settings.data_dir() / "drivers" / name, self.bus)
            await self.drivers.start(name, cls, ctx)

    def _timezone(self) -> tzinfo:
        """The setup's timezone (the host's until the location is loaded): history buckets are local days."""
        location = getattr(self, "location", None)
        return location.sun.tz if location is not None else ZoneInfo(system_timezone())

    async def _maintain(self) -> None:
        """Retention, so that the database cannot grow without bound on an SD card. Not at start: the first
        command must not wait behind a sweep (each sweep is bounded anyway; see store/retention.py)."""
        ex = self.settings.executor
        await asyncio.sleep(self.settings.history.sweep_start_delay_s)
        while True:
            try:
                await self.recorder.sweep()
                await self.journal.sweep(int(time.time() * 1000 - ex.history_days * 86_400_000),
                                         ex.history_keep_last)
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
        for task in (self._maintenance, self._checkpoints):
            if task is not None:
                task.cancel()
        await self.ops.stop()
        for extension in reversed(self.extensions):
            try:
                await extension.stop()
            except Exception:
                log.exception("%s did not stop cleanly", type(extension).__name__)
        if hasattr(self, "scheduler"):
            await self.scheduler.stop()
        if hasattr(self, "triggers"):
            await self.triggers.stop()
        if hasattr(self, "calendar"):
            await self.calendar.stop()
        if hasattr(self, "alerts"):
            await self.alerts.stop()
        if hasattr(self, "executor"):
            await self.executor.stop()
        await self.drivers.stop()
        self.recorder.close()
        await self.writer.close()
        await self.db.close()
