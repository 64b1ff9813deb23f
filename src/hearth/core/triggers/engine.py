"""The trigger engine: setup triggers kept, watched, timed and run on the gateway.

State changes: the engine listens to DeviceStateChangedEvent and looks up, by (deviceURL, stateName), only
the triggers that watch that state (an index kept on create/update/delete, never a scan of every trigger).

Effects: each effect runs as one execution through the executor, type ``Raw trigger (Gateway)`` (5) and a
subType that says what fired it:

  what fired                                             executionSubType
  ifThen condition, sensorThreshold zone                 IFT_CONDITION (7)
  discreteTrigger key                                    DISCRETE_TRIGGER (6)
  PUT /triggers/test/discrete/{oid}                      DISCRETE_TRIGGER_USER (10)
  a scheduling window opening at a TIME / DAWN / DUSK    TIME_TRIGGER (3) / DAWN_TRIGGER (4) / DUSK_TRIGGER (5)
  a genericCommandSchedulingTrigger time                 GENERIC_COMMAND_SCHEDULING (9)

with ``triggerId`` = the trigger's OID, then a GroupTriggeredEvent whose ``triggerType`` says why it ran
(``TriggerSource``): 1 a device state (condition, threshold, discrete key), 2 a delayed run of
``/exec/schedule`` (core.schedule), 3 time (a scheduling window opening, a command schedule), 4 a test
(``/triggers/test...``), 5 the trigger being enabled while its condition holds (mode change, global switch,
``allowExecuteOnCreate``/``allowExecuteOnUpdate``); and 100 is used by the edge alert rules' operation
triggers (hearth.alerts).

When effects run: only while the trigger is active: the global switch (``/triggers/status``) is on, and its
mode is 1, or 3 with a scheduling window open (mode 2: off). Outputs keep following the states meanwhile,
so when a trigger becomes active with ``allowExecuteOnEnabled`` (the default) and its condition holds, its
effects run then (for a window opening: with the TIME/DAWN/DUSK subType of the window's start). An
ifThenSetupTrigger without rootConditionBlock runs on time only: at each opening of its window (mode 1 or
3), whatever ``allowExecuteOnEnabled``.

Restarts (``write before the act``): a running activation delay, the next opening of a scheduling window
that would run effects, and the next time of every command schedule are rows of ``trigger_timers``, written
through the batch writer (one upsert statement, so their order holds) before the wait starts, and set
inactive in the same flush as the execution they become (so an effect never runs twice; of a list of
several effects, a kill within those milliseconds can skip the later ones). A graceful stop keeps them
too. At start:
- a running delay whose condition no longer holds (states are restored from the store) is cancelled
  (DelayedTriggerCancelledEvent); one still due resumes and fires at its due time;
- a delay or run that fell due while the gateway was down runs at start if it is late by less than
  ``missed_grace_s`` (the executor's setting), once, even if several occurrences were missed; a window
  opening is caught up only if the window is still open. Anything later is not run: it is recorded in
  ``trigger_missed_runs``, logged as a warning and announced with DelayedTriggerCancelledEvent.
Outputs of conditions are not stored: at start they are set from the restored states, without effects.

Where each part is: this module is the service (the definitions of the API, the index of watched states,
start and stop); ``live`` a trigger at run time; ``delays`` the activation delays; ``windows`` the scheduling
windows; ``command_schedules`` the times of genericCommandSchedulingTrigger; ``timed_kinds`` the timers and
events of the types kept in their own modules; ``recovery`` the missed-run rule at start; ``effects`` the
running of effects; ``validation`` the checks against the gateway; ``trial_runs`` the API's tests. Their rows
are read and written through ``hearth.store.triggers``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.clock import Clock
from hearth.core.executor import Executor
from hearth.core.location import LocationStore
from hearth.core.registry import DeviceRegistry
from hearth.core.tasks import cancel_all_and_wait
from hearth.core.triggers.blocks import StateKey
from hearth.core.triggers.command_schedules import CommandSchedules
from hearth.core.triggers.delays import ActivationDelays
from hearth.core.triggers.effects import EffectRunner, holding
from hearth.core.triggers.fields import EFFECT_LISTS, shown_body
from hearth.core.triggers.intervals import DayTypes
from hearth.core.triggers.live import LiveTrigger
from hearth.core.triggers.model import (
    CommandSchedulingSpec,
    IfThenSpec,
    Mode,
    TriggerDefinition,
    TriggerType,
    parse_trigger,
    parse_type,
)
from hearth.core.triggers.recovery import TimerRecovery
from hearth.core.triggers.runs import Due, TriggerSource
from hearth.core.triggers.timed_kinds import TimedKinds
from hearth.core.triggers.trial_runs import TrialRuns
from hearth.core.triggers.validation import check_definition
from hearth.core.triggers.windows import WINDOW, SchedulingWindows
from hearth.model.calendar_events import CALENDAR_EVENTS, CALENDAR_FUNCTION_TYPE
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import (
    DeviceStateChangedEvent,
    Event,
    GatewayFunctionChangedEvent,
    LocationUpdatedEvent,
    SetupTriggerCreatedEvent,
    SetupTriggerCreationFailedEvent,
    SetupTriggerDeletedEvent,
    SetupTriggerModeChangedEvent,
    SetupTriggerModeChangeFailedEvent,
    SetupTriggerUpdatedEvent,
    now_ms,
)
from hearth.store.database import Database
from hearth.store.triggers import TriggerRepository, TriggerTimerRow
from hearth.store.writer import BatchWriter

__all__ = ["MAX_TRIGGERS", "TRIGGERS_FUNCTION_TYPE", "LiveTrigger", "TriggerEngine"]

log = logging.getLogger(__name__)

# functionType of GatewayFunctionChangedEvent for the global switch of setup triggers.
TRIGGERS_FUNCTION_TYPE = 1
MAX_TRIGGERS = 5000


class TriggerEngine:
    """The service: keeps the setup triggers (the API's definitions, in the store), routes state changes to
    the triggers that watch them, and ties their timers (delays, windows, command schedules, the types of
    ``timed_kinds``), their recovery at start and the running of their effects."""

    def __init__(
        self,
        db: Database,
        writer: BatchWriter,
        bus: EventBus,
        clock: Clock,
        registry: DeviceRegistry,
        executor: Executor,
        groups: ActionGroupStore,
        location: LocationStore,
        gateway_id: str,
        *,
        missed_grace_s: float = 900.0,
        calendar: DayTypes | None = None,
    ) -> None:
        self.store = TriggerRepository(db, writer)
        self.calendar = calendar  # day types, for scheduling intervals of kind dayType
        self.bus = bus
        self.clock = clock
        self.registry = registry
        self._executor = executor
        self._groups = groups
        self.location = location
        self._gateway_id = gateway_id
        self.missed_grace_s = missed_grace_s
        self.enabled = True
        self._triggers: dict[str, LiveTrigger] = {}
        # (deviceURL, stateName) -> the triggers that watch it
        self._index: dict[StateKey, list[LiveTrigger]] = {}
        self._unsubscribe: list[Any] = []
        self._next_id = 1
        self.runner = EffectRunner(self.store, executor, groups, bus)
        self.delays = ActivationDelays(self)
        self.windows = SchedulingWindows(self)
        self.commands = CommandSchedules(self)
        self.kinds = TimedKinds(self)  # timers and events of the types kept in their own modules
        self.recovery = TimerRecovery(self)
        self._trials = TrialRuns(self)

    # ------------------------------------------------------------------ start and stop

    async def load(self) -> None:
        self.enabled = await self.store.enabled()
        await self.store.drop_retired_timers()
        for stored in await self.store.triggers():
            try:
                definition = parse_trigger({stored.type: stored.body})
            except ApiError as exc:
                log.error("setup trigger %s could not be read back (%s): it is not run", stored.oid, exc.message)
                continue
            definition.mode = Mode(stored.mode)
            setup_id = stored.setup_id
            trigger = LiveTrigger(self, definition, stored.oid, setup_id, stored.created, stored.updated)
            self._triggers[stored.oid] = trigger
            self._next_id = max(self._next_id, int(setup_id) + 1 if setup_id.isascii() and setup_id.isdigit() else 0)
            trigger.rule.initialise(self.lookup)
            self._index_add(trigger)
            trigger.window = self.windows.current(trigger)
        now = self.clock.now()
        due: list[Due] = []
        rows: list[TriggerTimerRow] = []
        for timer in await self.store.active_timers():
            live = self._triggers.get(timer.trigger_oid)
            if live is None:
                continue
            self.recovery.restore(live, timer, now, due, rows)
        for trigger in self._triggers.values():
            if WINDOW not in trigger.timers:
                self.windows.schedule(trigger)
            self.commands.schedule(trigger, skip_armed=True)
            self.kinds.install(trigger, initial=False)
        self._unsubscribe.append(self.bus.subscribe(self._on_states, DeviceStateChangedEvent))
        self._unsubscribe.append(self.bus.subscribe(self._on_location, LocationUpdatedEvent))
        # Day types change with the calendar: its objects and its switch (GatewayFunctionChangedEvent).
        self._unsubscribe.append(self.bus.subscribe(self._on_location, *CALENDAR_EVENTS, GatewayFunctionChangedEvent))
        if due or rows:
            self.runner.spawn(self.runner.run(due, rows))
        log.info("%d setup triggers loaded%s", len(self._triggers), "" if self.enabled else " (switched off)")

    async def stop(self) -> None:
        """Stop waiting. Running delays and scheduled runs stay in the store and resume at the next start."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.kinds.close()
        running = list(self.runner.tasks)  # the runs already started are not cancelled: they finish
        await cancel_all_and_wait([task for t in self._triggers.values() for task in t.timers.values()])
        await asyncio.gather(*running, return_exceptions=True)
        for trigger in self._triggers.values():
            trigger.timers.clear()

    # ------------------------------------------------------------------ states

    def lookup(self, device_url: str, state_name: str) -> Any:
        device = self.registry.get(device_url)
        if device is None:
            return None
        state = device.states.get(state_name)
        return state.value if state is not None else None

    def _index_add(self, trigger: LiveTrigger) -> None:
        for key in trigger.rule.keys:
            self._index.setdefault(key, []).append(trigger)

    def _index_remove(self, trigger: LiveTrigger) -> None:
        for key in trigger.rule.keys:
            watchers = self._index.get(key)
            if watchers is not None and trigger in watchers:
                watchers.remove(trigger)
                if not watchers:
                    del self._index[key]

    def watching(self, device_url: str, state_name: str) -> list[LiveTrigger]:
        """The triggers that a change of this state concerns (the index)."""
        return list(self._index.get((device_url, state_name), ()))

    def _on_states(self, event: DeviceStateChangedEvent) -> None:
        index = self._index
        url = event.device_url
        now: float | None = None
        for state in event.device_states:
            key = (url, state["name"])
            watchers = index.get(key)
            if not watchers:
                continue
            if now is None:
                now = self.clock.now()
            for trigger in watchers:
                try:
                    trigger.rule.on_state(key, self.lookup, now, trigger)
                except Exception:  # one broken trigger must not keep the others from their states
                    log.exception("setup trigger %s failed on a change of %s", trigger.oid, key)
        runner = self.runner
        if runner.pending:
            runner.spawn(runner.run(runner.take_pending(), []))

    def _on_location(self, event: Event) -> None:
        """The location or the calendar changed: dawn, dusk and day types move the windows."""
        if isinstance(event, GatewayFunctionChangedEvent) and event.function_type != CALENDAR_FUNCTION_TYPE:
            return
        for trigger in self._triggers.values():
            try:
                self._reschedule(trigger)
            except Exception:
                log.exception("setup trigger %s could not be rescheduled for the new location", trigger.oid)

    # ------------------------------------------------------------------ definitions (the API)

    def all(self, trigger_type: TriggerType | None = None) -> list[LiveTrigger]:
        return [t for t in self._triggers.values() if trigger_type is None or t.type is trigger_type]

    def find(self, oid: str) -> LiveTrigger | None:
        return self._triggers.get(oid)

    def get(self, type_text: str, oid: str) -> LiveTrigger:
        trigger_type = parse_type(type_text)
        trigger = self._triggers.get(oid)
        if trigger is None or trigger.type is not trigger_type:
            raise ApiError.not_found(f"No such setup trigger : {type_text}/{oid}")
        return trigger

    def check(self, definition: TriggerDefinition, *, creating: bool = False) -> None:
        """What the shape cannot say: devices and states exist, action groups exist and fit their devices."""
        check_definition(definition, self.registry, self._executor, self._groups, self.kinds, creating=creating)

    def _parse(self, body: Any) -> TriggerDefinition:
        try:
            definition = parse_trigger(body)
            self.check(definition, creating=True)
        except ApiError as exc:
            type_text = next(iter(body), "") if isinstance(body, dict) else ""
            try:
                code = TriggerType(type_text).code
            except ValueError:
                code = 0
            inner = body.get(type_text) if isinstance(body, dict) else None
            label = inner.get("label") if isinstance(inner, dict) else None
            self.bus.publish(
                SetupTriggerCreationFailedEvent(
                    setup_trigger_type=code, label=label if isinstance(label, str) else "", failure_type=str(exc.code)
                )
            )
            raise
        return definition

    def _install(self, trigger: LiveTrigger) -> None:
        self._triggers[trigger.oid] = trigger
        trigger.rule.initialise(self.lookup)
        self._index_add(trigger)
        trigger.window = self.windows.current(trigger)
        self.windows.schedule(trigger)
        self.commands.schedule(trigger)
        self.kinds.install(trigger, initial=True)

    def _uninstall(self, trigger: LiveTrigger) -> None:
        trigger.removed = True
        self._index_remove(trigger)
        self.kinds.remove(trigger)
        self._triggers.pop(trigger.oid, None)
        for key, task in list(trigger.timers.items()):
            task.cancel()
            self.store.queue_timer(TriggerTimerRow.retired(trigger.oid, key))
        trigger.timers.clear()
        if trigger.window_row:
            self.store.queue_timer(TriggerTimerRow.retired(trigger.oid, WINDOW))

    def _event_fields(self, trigger: LiveTrigger) -> dict[str, Any]:
        d = trigger.definition
        root = d.body.get("rootConditionBlock") if isinstance(d.spec, IfThenSpec) else None
        body = shown_body(d.body, trigger.created, trigger.updated)
        effects = [e for name in EFFECT_LISTS for e in body.get(name, []) or []]
        for entry in body.get("effectsList", []) or []:
            effects.extend(entry.get("effects", []) or [])
        return {
            "setup_trigger_type": trigger.type.code,
            "setup_trigger_oid": trigger.oid,
            "setup_trigger_id": trigger.setup_id,
            "label": d.label,
            "metadata": d.metadata,
            "mode": int(trigger.mode),
            "source_device_urls": d.source_device_urls,
            "effects": effects,
            "root_condition_block": root,
            "scheduling_intervals": d.body.get("schedulingIntervals", []),
        }

    async def create(self, body: Any, *, allow_execute: bool = False, oid: str | None = None) -> LiveTrigger:
        """A new trigger; ``oid`` when another system chose it (the cloud)."""
        if len(self._triggers) >= MAX_TRIGGERS:
            raise ApiError.bad_request(f"Too many setup triggers (at most {MAX_TRIGGERS})")
        if oid is not None and oid in self._triggers:
            raise ApiError.bad_request(f"Setup trigger {oid} exists already")
        definition = self._parse(body)
        now = now_ms()
        setup_id = str(self._next_id)
        self._next_id += 1
        trigger = LiveTrigger(self, definition, oid or str(uuid.uuid4()), setup_id, now, now)
        await self.store.save(trigger.stored())
        self._install(trigger)
        await self.store.sync()  # its timer rows are on disk before the answer (write before the wait)
        self.bus.publish(SetupTriggerCreatedEvent(**self._event_fields(trigger)))
        if allow_execute and trigger.active:
            await self.runner.run(holding(trigger, trigger.rule.sub_type, TriggerSource.ENABLED), [])
        return trigger

    async def update(self, body: Any, *, allow_execute: bool = False) -> LiveTrigger:
        definition = self._parse(body)
        old = self._triggers.get(definition.oid or "")
        if old is None:
            raise ApiError.not_found(f"No such setup trigger : {definition.oid}")
        if old.type is not definition.type:
            raise ApiError.bad_request(
                f"Setup trigger {old.oid} is a {old.type.value}, not a {definition.type.value}",
                ErrorCode.INVALID_FIELD_VALUE,
            )
        trigger = LiveTrigger(self, definition, old.oid, old.setup_id, old.created, now_ms())
        await self.store.save(trigger.stored())
        self._uninstall(old)
        self._install(trigger)
        await self.store.sync()
        self.bus.publish(SetupTriggerUpdatedEvent(**self._event_fields(trigger)))
        if allow_execute and trigger.active:
            await self.runner.run(holding(trigger, trigger.rule.sub_type, TriggerSource.ENABLED), [])
        return trigger

    async def delete(self, type_text: str, oid: str) -> None:
        trigger = self.get(type_text, oid)
        await self.store.delete(oid)
        self._uninstall(trigger)
        self.bus.publish(
            SetupTriggerDeletedEvent(
                setup_trigger_type=trigger.type.code, setup_trigger_oid=oid, setup_trigger_id=trigger.setup_id
            )
        )

    async def set_mode(self, type_text: str, oid: str, mode_number: int, *, allow_execute: bool = False) -> None:
        trigger = self.get(type_text, oid)
        failure = None
        if mode_number not in (1, 2, 3):
            failure = f"Invalid activation mode : {mode_number} (1 always on, 2 off, 3 scheduled)"
        elif mode_number == Mode.SCHEDULED and not trigger.definition.intervals:
            failure = "Mode 3 (scheduled) needs schedulingIntervals: this trigger has none"
        if failure is not None:
            self.bus.publish(
                SetupTriggerModeChangeFailedEvent(
                    setup_trigger_oid=oid,
                    failure_type=ErrorCode.INVALID_FIELD_VALUE.value,
                    setup_trigger_type=trigger.type.code,
                )
            )
            raise ApiError.bad_request(failure, ErrorCode.INVALID_FIELD_VALUE)
        was_active = trigger.active
        trigger.mode = Mode(mode_number)
        trigger.definition.body["mode"] = mode_number
        trigger.updated = now_ms()
        await self.store.save(trigger.stored())
        self._reschedule(trigger)
        await self.store.sync()
        self.bus.publish(
            SetupTriggerModeChangedEvent(
                setup_trigger_oid=oid, new_mode=mode_number, setup_trigger_type=trigger.type.code
            )
        )
        if not was_active and trigger.active and (allow_execute or trigger.definition.allow_execute_on_enabled):
            await self.runner.run(holding(trigger, trigger.rule.sub_type, TriggerSource.ENABLED), [])

    def _reschedule(self, trigger: LiveTrigger) -> None:
        trigger.window = self.windows.current(trigger)
        self.windows.schedule(trigger)
        if isinstance(trigger.definition.spec, CommandSchedulingSpec):
            self.commands.schedule(trigger)
        self.kinds.reschedule(trigger)

    async def set_enabled(self, enabled: bool) -> None:
        before = {oid: t.active for oid, t in self._triggers.items()}
        await self.store.set_enabled(enabled)
        changed = enabled != self.enabled
        self.enabled = enabled
        if changed:
            self.bus.publish(
                GatewayFunctionChangedEvent(
                    gateway_id=self._gateway_id, function_type=TRIGGERS_FUNCTION_TYPE, enabled=enabled
                )
            )
        due = [
            d
            for t in self._triggers.values()
            if not before[t.oid] and t.active and t.definition.allow_execute_on_enabled
            for d in holding(t, t.rule.sub_type, TriggerSource.ENABLED)
        ]
        await self.runner.run(due, [])

    # ------------------------------------------------------------------ tests (the API's)

    async def test(self, body: Any) -> list[str]:
        """Run the effects of a definition now, whatever the mode (see ``trial_runs``)."""
        return await self._trials.test(body)

    async def test_discrete(self, oid: str, target_value: Any) -> list[str]:
        return await self._trials.test_discrete(oid, target_value)

    # ------------------------------------------------------------------ for tests and benchmarks

    async def settle(self) -> None:
        """Wait until the effects already handed over are registered with the executor."""
        await self.runner.settle()
