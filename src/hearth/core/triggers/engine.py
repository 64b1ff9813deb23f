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
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.clock import Clock
from hearth.core.executor import Executor
from hearth.core.location import LocationStore
from hearth.core.registry import DeviceRegistry
from hearth.core.triggers.blocks import Debounced, StateKey
from hearth.core.triggers.fields import EFFECT_LISTS, Effect, ExtraSpec, invalid, shown_body
from hearth.core.triggers.intervals import BoundType, DayTypes, Window, active_window, local_time, next_change
from hearth.core.triggers.model import (
    CommandSchedulingSpec,
    DiscreteSpec,
    IfThenSpec,
    Mode,
    ThresholdSpec,
    TriggerDefinition,
    TriggerType,
    parse_trigger,
    parse_type,
)
from hearth.core.triggers.rule_base import Rule
from hearth.core.triggers.rules import CommandRule, DiscreteRule, make_rule
from hearth.core.triggers.runs import UPSERT_TIMER, Due, TriggerSource
from hearth.core.triggers.timed_kinds import TimedKinds
from hearth.model.calendar_events import CALENDAR_EVENTS, CALENDAR_FUNCTION_TYPE
from hearth.model.datatype import DataType
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import (
    DelayedTriggerCancelledEvent,
    DelayedTriggerSetEvent,
    DeviceStateChangedEvent,
    Event,
    GatewayFunctionChangedEvent,
    GroupTriggeredEvent,
    LocationUpdatedEvent,
    SetupTriggerCreatedEvent,
    SetupTriggerCreationFailedEvent,
    SetupTriggerDeletedEvent,
    SetupTriggerModeChangedEvent,
    SetupTriggerModeChangeFailedEvent,
    SetupTriggerUpdatedEvent,
    now_ms,
)
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.store.database import Database
from hearth.store.writer import BatchWriter

log = logging.getLogger(__name__)

# functionType of GatewayFunctionChangedEvent for the global switch of setup triggers.
TRIGGERS_FUNCTION_TYPE = 1
ENABLED_KEY = "triggers.enabled"
OWNER = "setup-trigger"

UPSERT_TRIGGER = (
    "INSERT INTO setup_triggers (oid, id, type, mode, body, creation_time, last_update_time) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (oid) DO UPDATE SET mode = excluded.mode, body = excluded.body, "
    "last_update_time = excluded.last_update_time"
)
INSERT_MISSED = "INSERT INTO trigger_missed_runs (trigger_oid, timer, due_time, recorded_time) VALUES (?, ?, ?, ?)"
UPSERT_SETTING = (
    "INSERT INTO gateway_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
MAX_MISSED_RECORDED = 100
MAX_TRIGGERS = 5000


_BOUND_SUB_TYPES = {
    BoundType.TIME: ExecutionSubType.TIME_TRIGGER,
    BoundType.DAWN: ExecutionSubType.DAWN_TRIGGER,
    BoundType.DUSK: ExecutionSubType.DUSK_TRIGGER,
}


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


class LiveTrigger:
    """A setup trigger at run time: its definition, rule, mode, window and timers. It is the Sink of its
    Debounced outputs."""

    def __init__(
        self, engine: TriggerEngine, definition: TriggerDefinition, oid: str, setup_id: str, created: int, updated: int
    ) -> None:
        self.engine = engine
        self.definition = definition
        self.oid = oid
        self.setup_id = setup_id
        self.created = created
        self.updated = updated
        self.mode = definition.mode
        self.rule: Rule = make_rule(definition)
        self.window: Window | None = None
        self.timers: dict[str, asyncio.Task[None]] = {}
        self.window_row = False
        self.removed = False

    @property
    def type(self) -> TriggerType:
        return self.definition.type

    @property
    def time_only(self) -> bool:
        """An ifThen without a condition: its schedule is what fires it, at each opening (mode 1 or 3)."""
        spec = self.definition.spec
        return isinstance(spec, IfThenSpec) and spec.root is None

    @property
    def active(self) -> bool:
        if not self.engine.enabled:
            return False
        return self.mode is Mode.ON or (self.mode is Mode.SCHEDULED and self.window is not None)

    # Sink of the Debounced outputs
    def arm(self, node: Debounced, due: float) -> None:
        self.engine.arm_delay(self, node, due)

    def disarm(self, node: Debounced) -> None:
        self.engine.disarm_delay(self, node)

    def rose(self, node: Debounced) -> None:
        self.engine.rose(self, node)

    def to_json(self) -> dict[str, Any]:
        inner = shown_body(self.definition.body, self.created, self.updated)
        inner.update(
            {
                "mode": int(self.mode),
                "oid": self.oid,
                "id": self.setup_id,
                "creationTime": self.created,
                "lastUpdateTime": self.updated,
            }
        )
        return {self.type.value: inner}

    def status(self) -> dict[str, Any]:
        sun, now = self.engine.location.sun, self.engine.clock.now()
        return {
            "triggerOID": self.oid,
            "mode": int(self.mode),
            "schedulingIntervalsStatus": [
                i.active_window(sun, now, self.engine.calendar) is not None for i in self.definition.intervals
            ],
            "subTriggersStatus": self.rule.status(),
        }


class TriggerEngine:
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
        self._db = db
        self.calendar = calendar  # day types, for scheduling intervals of kind dayType
        self._writer = writer
        self._bus = bus
        self.clock = clock
        self._registry = registry
        self._executor = executor
        self._groups = groups
        self.location = location
        self._gateway_id = gateway_id
        self.missed_grace_s = missed_grace_s
        self.enabled = True
        self._triggers: dict[str, LiveTrigger] = {}
        # (deviceURL, stateName) -> the triggers that watch it
        self._index: dict[StateKey, list[LiveTrigger]] = {}
        self._due: list[Due] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: list[Any] = []
        self._next_id = 1
        self._kinds = TimedKinds(self)  # timers and events of the types kept in their own modules

    # ------------------------------------------------------------------ start and stop

    async def load(self) -> None:
        setting = await self._db.fetchone("SELECT value FROM gateway_settings WHERE key = ?", (ENABLED_KEY,))
        self.enabled = setting is None or setting[0] != "false"
        await self._db.execute(
            "DELETE FROM trigger_timers WHERE active = 0 OR trigger_oid NOT IN (SELECT oid FROM setup_triggers)"
        )
        for oid, setup_id, type_text, mode, body, created, updated in await self._db.fetchall(
            "SELECT oid, id, type, mode, body, creation_time, last_update_time FROM setup_triggers"
        ):
            try:
                definition = parse_trigger({type_text: json.loads(body)})
            except ApiError as exc:
                log.error("setup trigger %s could not be read back (%s): it is not run", oid, exc.message)
                continue
            definition.mode = Mode(mode)
            trigger = LiveTrigger(self, definition, oid, setup_id, created, updated)
            self._triggers[oid] = trigger
            self._next_id = max(self._next_id, int(setup_id) + 1 if setup_id.isascii() and setup_id.isdigit() else 0)
            trigger.rule.initialise(self.lookup)
            self._index_add(trigger)
            trigger.window = self._current_window(trigger)
        now = self.clock.now()
        due: list[Due] = []
        rows: list[tuple[Any, ...]] = []
        for oid, timer, due_ms, payload in await self._db.fetchall(
            "SELECT trigger_oid, timer, due_time, payload FROM trigger_timers WHERE active = 1"
        ):
            live = self._triggers.get(oid)
            if live is None:
                continue
            self._restore_timer(live, timer, due_ms / 1000, json.loads(payload or "{}"), now, due, rows)
        for trigger in self._triggers.values():
            if "window" not in trigger.timers:
                self._schedule_window(trigger)
            self._schedule_commands(trigger, skip_armed=True)
            self._kinds.install(trigger, initial=False)
        self._unsubscribe.append(self._bus.subscribe(self._on_states, DeviceStateChangedEvent))
        self._unsubscribe.append(self._bus.subscribe(self._on_location, LocationUpdatedEvent))
        # Day types change with the calendar: its objects and its switch (GatewayFunctionChangedEvent).
        self._unsubscribe.append(self._bus.subscribe(self._on_location, *CALENDAR_EVENTS, GatewayFunctionChangedEvent))
        if due or rows:
            self._spawn(self._run(due, rows))
        log.info("%d setup triggers loaded%s", len(self._triggers), "" if self.enabled else " (switched off)")

    def _restore_timer(
        self,
        trigger: LiveTrigger,
        timer: str,
        due: float,
        payload: dict[str, Any],
        now: float,
        runs: list[Due],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """The missed-run rule, for one row of trigger_timers read at start."""
        if self._kinds.restore(trigger, timer, due, payload, now, runs, rows):
            return
        late = now - due
        if timer.startswith("delay:"):
            node = trigger.rule.node(timer[len("delay:") :])
            if node is None or not node.raw:
                rows.append((trigger.oid, timer, _ms(due), 0, "{}"))
                self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger.oid))
                return
            if late > self.missed_grace_s:
                self._missed(trigger, timer, [due], rows)
                return
            node.resume(due, trigger)
            self._start_delay(trigger, node, timer, due)
            return
        if timer == "window":
            if late < 0:
                trigger.window_row = True
                self._schedule_window(trigger, persist=False, at=due)
                return
            occurrences = self._openings(trigger, due, now)
            caught = [o for o in occurrences if now - o <= self.missed_grace_s]
            missed = [o for o in occurrences if now - o > self.missed_grace_s]
            window = trigger.window
            if (
                caught
                and window is not None
                and trigger.active
                and (trigger.definition.allow_execute_on_enabled or trigger.time_only)
            ):
                runs.extend(self._holding(trigger, _BOUND_SUB_TYPES[window.start_type], TriggerSource.TIME))
            elif caught:
                missed += caught  # the window closed again meanwhile
            self._missed(trigger, timer, missed, rows)
            # The next opening replaces the row in the same flush as the catch-up's executions.
            row, at, _ = self._next_window_row(trigger, now)
            rows.append(row if row is not None else (trigger.oid, "window", _ms(due), 0, "{}"))
            trigger.window_row = row is not None
            if at is not None:
                self._schedule_window(trigger, persist=False, at=at)
            return
        if timer.startswith("command:"):
            rule = trigger.rule
            spec = trigger.definition.spec
            if not isinstance(rule, CommandRule) or not isinstance(spec, CommandSchedulingSpec):
                rows.append((trigger.oid, timer, _ms(due), 0, "{}"))
                return
            try:
                i, j = (int(x) for x in timer[len("command:") :].split("."))
                minutes = spec.schedules[i].times[j]
            except (ValueError, IndexError):
                rows.append((trigger.oid, timer, _ms(due), 0, "{}"))
                return
            if late < 0:
                self._start_command(trigger, i, j, due)
                return
            occurrences = self._daily_times(minutes, due, now)
            caught = [o for o in occurrences if now - o <= self.missed_grace_s]
            missed = [o for o in occurrences if now - o > self.missed_grace_s]
            if caught:
                if trigger.active and spec.schedules[i].enabled and rule.restrictions_hold(self.lookup):
                    runs.append(Due(trigger, [rule.schedule_effects[i]], rule.sub_type, TriggerSource.TIME))
            self._missed(trigger, timer, missed, rows)
            nxt = self._next_daily(minutes, now)
            rows.append((trigger.oid, timer, _ms(nxt), 1, "{}"))
            self._start_command(trigger, i, j, nxt)

    def _missed(self, trigger: LiveTrigger, timer: str, moments: list[float], rows: list[tuple[Any, ...]]) -> None:
        if not moments:
            return
        recorded = now_ms()
        for moment in moments[-MAX_MISSED_RECORDED:]:
            self._writer.commit_later(INSERT_MISSED, (trigger.oid, timer, _ms(moment), recorded))
        if timer.startswith("delay:"):
            rows.append((trigger.oid, timer, _ms(moments[-1]), 0, "{}"))
        first = datetime.fromtimestamp(moments[0], self.location.sun.tz).isoformat(timespec="seconds")
        log.warning(
            "setup trigger %s (%s): %d run(s) of %s due while the gateway was down, from %s, missed by "
            "more than %g s: not run",
            trigger.oid,
            trigger.definition.label,
            len(moments),
            timer,
            first,
            self.missed_grace_s,
        )
        self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger.oid))

    async def stop(self) -> None:
        """Stop waiting. Running delays and scheduled runs stay in the store and resume at the next start."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._kinds.close()
        tasks = [task for t in self._triggers.values() for task in t.timers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._tasks, return_exceptions=True)
        for trigger in self._triggers.values():
            trigger.timers.clear()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name="trigger-effects")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ states

    def lookup(self, device_url: str, state_name: str) -> Any:
        device = self._registry.get(device_url)
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
        if self._due:
            due, self._due = self._due, []
            self._spawn(self._run(due, []))

    def _on_location(self, event: Event) -> None:
        """The location or the calendar changed: dawn, dusk and day types move the windows."""
        if isinstance(event, GatewayFunctionChangedEvent) and event.function_type != CALENDAR_FUNCTION_TYPE:
            return
        for trigger in self._triggers.values():
            try:
                self._reschedule(trigger)
            except Exception:
                log.exception("setup trigger %s could not be rescheduled for the new location", trigger.oid)

    # ------------------------------------------------------------------ delays

    def arm_delay(self, trigger: LiveTrigger, node: Debounced, due: float) -> None:
        key = f"delay:{node.node_id}"
        if node.pending:  # an activation delay: it leads to effects, so it is kept across a restart
            self._writer.commit_later(UPSERT_TIMER, (trigger.oid, key, _ms(due), 1, "{}"))
            self._bus.publish(DelayedTriggerSetEvent(trigger_id=trigger.oid))
        self._start_delay(trigger, node, key, due)

    def _start_delay(self, trigger: LiveTrigger, node: Debounced, key: str, due: float) -> None:
        old = trigger.timers.pop(key, None)
        if old is not None:
            old.cancel()
        trigger.timers[key] = asyncio.create_task(self._delay(trigger, node, key, due), name=f"trigger-{key}")

    def disarm_delay(self, trigger: LiveTrigger, node: Debounced) -> None:
        key = f"delay:{node.node_id}"
        task = trigger.timers.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if node.pending:  # the activation delay being dropped (pending is still set while it is dropped)
            self._writer.commit_later(UPSERT_TIMER, (trigger.oid, key, _ms(node.due), 0, "{}"))
            self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger.oid))

    async def _delay(self, trigger: LiveTrigger, node: Debounced, key: str, due: float) -> None:
        await self.clock.sleep_until(due)
        try:
            await self._delay_over(trigger, node, key, due)
        except Exception:
            log.exception("setup trigger %s: the end of %s failed", trigger.oid, key)

    async def _delay_over(self, trigger: LiveTrigger, node: Debounced, key: str, due: float) -> None:
        if trigger.timers.get(key) is asyncio.current_task():
            del trigger.timers[key]
        if trigger.removed:
            return
        activation = node.pending is True
        node.expire(self.clock.now(), trigger)
        due_runs, self._due = self._due, []
        rows = [(trigger.oid, key, _ms(due), 0, "{}")] if activation else []
        await self._run(due_runs, rows)

    def rose(self, trigger: LiveTrigger, node: Debounced) -> None:
        effects = trigger.rule.effects_of(node)
        if not effects:
            return
        if not trigger.active:
            log.debug("setup trigger %s holds but is not active: no effect", trigger.oid)
            return
        self._due.append(Due(trigger, effects, trigger.rule.sub_type, TriggerSource.STATE))

    def _holding(self, trigger: LiveTrigger, sub_type: ExecutionSubType, source: TriggerSource) -> list[Due]:
        """The effects of the outputs that hold now (run when the trigger becomes active)."""
        return [
            Due(trigger, effects, sub_type, source)
            for node, effects in trigger.rule.effect_nodes()
            if effects and (node is None or node.out)
        ]

    # ------------------------------------------------------------------ running effects

    async def _run(self, due: list[Due], rows: list[tuple[Any, ...]]) -> None:
        # The rows that retire a timer are queued just before the first execution is journaled: the
        # journal's commit carries them in the same transaction.
        for row in rows:
            self._writer.commit_later(UPSERT_TIMER, row)
        for entry in due:
            for effect in entry.effects:
                await self._submit(
                    entry.trigger.oid, entry.trigger.definition.label, effect, entry.sub_type, entry.source
                )

    async def _submit(
        self, trigger_oid: str, label: str, effect: Effect, sub_type: ExecutionSubType, source: TriggerSource
    ) -> str | None:
        if not effect.runs_group:
            log.info("setup trigger %s: %s not sent (alerts need the cloud)", trigger_oid, effect.kind)
            return None
        try:
            group = effect.local_group
            if group is None:
                assert effect.action_group_oid is not None
                group = self._groups.get(effect.action_group_oid)
            if not group.label and label:
                group = group.model_copy(update={"label": label})
            execution = await self._executor.submit(
                group,
                owner=OWNER,
                type=ExecutionType.RAW_TRIGGER_GATEWAY,
                sub_type=sub_type,
                action_group_oid=effect.action_group_oid,
                trigger_id=trigger_oid,
            )
        except ApiError as exc:
            log.warning("setup trigger %s: effect %s could not run: %s", trigger_oid, effect.effect_id, exc.message)
            return None
        except Exception:
            log.exception("setup trigger %s: effect %s failed", trigger_oid, effect.effect_id)
            return None
        self._bus.publish(
            GroupTriggeredEvent(
                trigger_id=trigger_oid,
                trigger_type=int(source),
                action_group_oid=effect.action_group_oid,
                exec_id=execution.id,
            )
        )
        return execution.id

    # ------------------------------------------------------------------ scheduling windows

    def _current_window(self, trigger: LiveTrigger) -> Window | None:
        intervals = trigger.definition.intervals
        if not intervals:
            return None
        return active_window(intervals, self.location.sun, self.clock.now(), self.calendar)

    def _persist_window(self, trigger: LiveTrigger) -> bool:
        """Whether the next opening of the window may run effects (and is kept across a restart)."""
        if trigger.time_only:
            return trigger.mode is not Mode.OFF
        return (
            trigger.mode is Mode.SCHEDULED
            and trigger.definition.allow_execute_on_enabled
            and bool(trigger.definition.effects)
        )

    def _next_window_row(
        self, trigger: LiveTrigger, now: float
    ) -> tuple[tuple[Any, ...] | None, float | None, Window | None]:
        change = next_change(trigger.definition.intervals, self.location.sun, now, calendar=self.calendar)
        if change is None:
            return None, None, None
        at, window = change
        if window is not None and self._persist_window(trigger):
            return (trigger.oid, "window", _ms(at), 1, json.dumps({"startType": window.start_type.value})), at, window
        return None, at, window

    def _schedule_window(self, trigger: LiveTrigger, *, persist: bool = True, at: float | None = None) -> None:
        old = trigger.timers.pop("window", None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        if not trigger.definition.intervals:
            return
        if at is None:
            row, at, _ = self._next_window_row(trigger, self.clock.now())
            if persist:
                if row is not None:
                    self._writer.commit_later(UPSERT_TIMER, row)
                    trigger.window_row = True
                elif trigger.window_row:
                    self._writer.commit_later(UPSERT_TIMER, (trigger.oid, "window", 0, 0, "{}"))
                    trigger.window_row = False
            if at is None:
                return
        trigger.timers["window"] = asyncio.create_task(self._window_boundary(trigger, at), name="trigger-window")

    async def _window_boundary(self, trigger: LiveTrigger, at: float) -> None:
        await self.clock.sleep_until(at)
        try:
            await self._window_changed(trigger, at)
        except Exception:
            log.exception("setup trigger %s: its scheduling window failed", trigger.oid)

    async def _window_changed(self, trigger: LiveTrigger, at: float) -> None:
        if trigger.timers.get("window") is asyncio.current_task():
            del trigger.timers["window"]
        if trigger.removed:
            return
        was_active, was_open = trigger.active, trigger.window is not None
        trigger.window = window = self._current_window(trigger)
        now = self.clock.now()
        due: list[Due] = []
        if (
            window is not None
            and trigger.active
            and (
                (trigger.time_only and not was_open) or (not was_active and trigger.definition.allow_execute_on_enabled)
            )
        ):
            due = self._holding(trigger, _BOUND_SUB_TYPES[window.start_type], TriggerSource.TIME)
        row, nxt, _ = self._next_window_row(trigger, now)
        rows: list[tuple[Any, ...]] = []
        if row is not None:
            rows.append(row)
            trigger.window_row = True
        elif trigger.window_row:
            rows.append((trigger.oid, "window", _ms(at), 0, "{}"))
            trigger.window_row = False
        if nxt is not None:
            trigger.timers["window"] = asyncio.create_task(self._window_boundary(trigger, nxt), name="trigger-window")
        await self._run(due, rows)

    def _openings(self, trigger: LiveTrigger, first: float, until: float) -> list[float]:
        """Window openings from ``first`` (itself one) up to ``until``."""
        found = [first]
        moment = first
        for _ in range(1000):
            change = next_change(trigger.definition.intervals, self.location.sun, moment, calendar=self.calendar)
            if change is None or change[0] > until:
                break
            moment = change[0]
            if change[1] is not None:
                found.append(moment)
        return found

    # ------------------------------------------------------------------ command schedules

    def _next_daily(self, minutes: int, after: float) -> float:
        tz = self.location.sun.tz
        day = datetime.fromtimestamp(after, tz).date()
        for offset in range(0, 3):
            moment = local_time(day + timedelta(days=offset), minutes, tz)
            if moment > after:
                return moment
        return after + 86_400

    def _daily_times(self, minutes: int, first: float, until: float) -> list[float]:
        found = [first]
        moment = first
        while len(found) < 10_000:
            moment = self._next_daily(minutes, moment)
            if moment > until:
                break
            found.append(moment)
        return found

    def _schedule_commands(self, trigger: LiveTrigger, *, skip_armed: bool = False) -> None:
        spec = trigger.definition.spec
        if not isinstance(spec, CommandSchedulingSpec):
            return
        now = self.clock.now()
        for i, schedule in enumerate(spec.schedules):
            for j, minutes in enumerate(schedule.times):
                key = f"command:{i}.{j}"
                if skip_armed and key in trigger.timers:
                    continue
                due = self._next_daily(minutes, now)
                self._writer.commit_later(UPSERT_TIMER, (trigger.oid, key, _ms(due), 1, "{}"))
                self._start_command(trigger, i, j, due)

    def _start_command(self, trigger: LiveTrigger, i: int, j: int, due: float) -> None:
        key = f"command:{i}.{j}"
        old = trigger.timers.pop(key, None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        trigger.timers[key] = asyncio.create_task(self._command_time(trigger, i, j, due), name=f"trigger-{key}")

    async def _command_time(self, trigger: LiveTrigger, i: int, j: int, due: float) -> None:
        await self.clock.sleep_until(due)
        try:
            await self._command_due(trigger, i, j, due)
        except Exception:
            log.exception("setup trigger %s: command schedule %d.%d failed", trigger.oid, i, j)

    async def _command_due(self, trigger: LiveTrigger, i: int, j: int, due: float) -> None:
        key = f"command:{i}.{j}"
        if trigger.timers.get(key) is asyncio.current_task():
            del trigger.timers[key]
        if trigger.removed:
            return
        rule, spec = trigger.rule, trigger.definition.spec
        assert isinstance(rule, CommandRule) and isinstance(spec, CommandSchedulingSpec)
        nxt = self._next_daily(spec.schedules[i].times[j], max(due, self.clock.now()))
        due_runs = []
        if trigger.active and spec.schedules[i].enabled:
            if rule.restrictions_hold(self.lookup):
                due_runs.append(Due(trigger, [rule.schedule_effects[i]], rule.sub_type, TriggerSource.TIME))
            else:
                log.info("setup trigger %s: %s not sent, a state restriction does not hold", trigger.oid, key)
        self._start_command(trigger, i, j, nxt)
        await self._run(due_runs, [(trigger.oid, key, _ms(nxt), 1, "{}")])

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

    def _check(self, definition: TriggerDefinition, *, creating: bool = False) -> None:
        """What the shape cannot say: devices and states exist, action groups exist and fit their devices."""
        where = definition.type.value
        for ref in definition.source_refs:
            device = self._registry.get(ref.device_url)
            if device is None:
                raise ApiError.no_such_device(ref.device_url)
            states = device.controllable.states
            if states and ref.state_name not in states:
                raise invalid(
                    where, f"{ref.device_url} has no state {ref.state_name} (its states: {', '.join(sorted(states))})"
                )
        spec = definition.spec
        if isinstance(spec, ThresholdSpec) and spec.ref.object_path is None:
            device = self._registry.require(spec.ref.device_url)
            state_spec = device.controllable.states.get(spec.ref.state_name)
            if state_spec is not None and state_spec.type not in (DataType.INTEGER, DataType.FLOAT):
                raise invalid(f"{where}.stateName", f"{spec.ref.state_name} is not a number")
        if isinstance(spec, CommandSchedulingSpec):
            self._registry.require(spec.device_url)
            rule = make_rule(definition)
            assert isinstance(rule, CommandRule)
            for effect in rule.schedule_effects:
                assert effect.local_group is not None
                self._executor.plan(effect.local_group, 0)
        for effect in definition.effects:
            if effect.action_group_oid is not None and effect.local_group is None:
                try:
                    self._groups.get(effect.action_group_oid)
                except ApiError:
                    raise invalid(f"{where}.effects", f"no such action group : {effect.action_group_oid}") from None
            if effect.local_group is not None:
                self._executor.plan(effect.local_group, 0)
        self._kinds.check(definition, creating=creating)

    def _parse(self, body: Any) -> TriggerDefinition:
        try:
            definition = parse_trigger(body)
            self._check(definition, creating=True)
        except ApiError as exc:
            type_text = next(iter(body), "") if isinstance(body, dict) else ""
            try:
                code = TriggerType(type_text).code
            except ValueError:
                code = 0
            inner = body.get(type_text) if isinstance(body, dict) else None
            label = inner.get("label") if isinstance(inner, dict) else None
            self._bus.publish(
                SetupTriggerCreationFailedEvent(
                    setup_trigger_type=code, label=label if isinstance(label, str) else "", failure_type=str(exc.code)
                )
            )
            raise
        return definition

    async def _save(self, trigger: LiveTrigger) -> None:
        await self._writer.commit(
            UPSERT_TRIGGER,
            (
                trigger.oid,
                trigger.setup_id,
                trigger.type.value,
                int(trigger.mode),
                json.dumps(trigger.definition.body),
                trigger.created,
                trigger.updated,
            ),
        )

    def _install(self, trigger: LiveTrigger) -> None:
        self._triggers[trigger.oid] = trigger
        trigger.rule.initialise(self.lookup)
        self._index_add(trigger)
        trigger.window = self._current_window(trigger)
        self._schedule_window(trigger)
        self._schedule_commands(trigger)
        self._kinds.install(trigger, initial=True)

    def _uninstall(self, trigger: LiveTrigger) -> None:
        trigger.removed = True
        self._index_remove(trigger)
        self._kinds.remove(trigger)
        self._triggers.pop(trigger.oid, None)
        for key, task in list(trigger.timers.items()):
            task.cancel()
            self._writer.commit_later(UPSERT_TIMER, (trigger.oid, key, 0, 0, "{}"))
        trigger.timers.clear()
        if trigger.window_row:
            self._writer.commit_later(UPSERT_TIMER, (trigger.oid, "window", 0, 0, "{}"))

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
        await self._save(trigger)
        self._install(trigger)
        await self._writer.sync_journal()  # its timer rows are on disk before the answer (write before the wait)
        self._bus.publish(SetupTriggerCreatedEvent(**self._event_fields(trigger)))
        if allow_execute and trigger.active:
            await self._run(self._holding(trigger, trigger.rule.sub_type, TriggerSource.ENABLED), [])
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
        await self._save(trigger)
        self._uninstall(old)
        self._install(trigger)
        await self._writer.sync_journal()
        self._bus.publish(SetupTriggerUpdatedEvent(**self._event_fields(trigger)))
        if allow_execute and trigger.active:
            await self._run(self._holding(trigger, trigger.rule.sub_type, TriggerSource.ENABLED), [])
        return trigger

    async def delete(self, type_text: str, oid: str) -> None:
        trigger = self.get(type_text, oid)
        await self._writer.commit("DELETE FROM setup_triggers WHERE oid = ?", (oid,))
        self._uninstall(trigger)
        self._bus.publish(
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
            self._bus.publish(
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
        await self._save(trigger)
        self._reschedule(trigger)
        await self._writer.sync_journal()
        self._bus.publish(
            SetupTriggerModeChangedEvent(
                setup_trigger_oid=oid, new_mode=mode_number, setup_trigger_type=trigger.type.code
            )
        )
        if not was_active and trigger.active and (allow_execute or trigger.definition.allow_execute_on_enabled):
            await self._run(self._holding(trigger, trigger.rule.sub_type, TriggerSource.ENABLED), [])

    def _reschedule(self, trigger: LiveTrigger) -> None:
        trigger.window = self._current_window(trigger)
        self._schedule_window(trigger)
        if isinstance(trigger.definition.spec, CommandSchedulingSpec):
            self._schedule_commands(trigger)
        self._kinds.reschedule(trigger)

    async def set_enabled(self, enabled: bool) -> None:
        before = {oid: t.active for oid, t in self._triggers.items()}
        await self._writer.commit(UPSERT_SETTING, (ENABLED_KEY, "true" if enabled else "false"))
        changed = enabled != self.enabled
        self.enabled = enabled
        if changed:
            self._bus.publish(
                GatewayFunctionChangedEvent(
                    gateway_id=self._gateway_id, function_type=TRIGGERS_FUNCTION_TYPE, enabled=enabled
                )
            )
        due = [
            d
            for t in self._triggers.values()
            if not before[t.oid] and t.active and t.definition.allow_execute_on_enabled
            for d in self._holding(t, t.rule.sub_type, TriggerSource.ENABLED)
        ]
        await self._run(due, [])

    # ------------------------------------------------------------------ tests

    async def test(self, body: Any) -> list[str]:
        """Run the effects of a definition now (ifThen: its effects; threshold: the current zone's; discrete:
        the current key's; command scheduling: each enabled schedule's command), whatever the mode."""
        definition = parse_trigger(body)
        self._check(definition)
        rule = make_rule(definition)
        rule.initialise(self.lookup)
        label = definition.label or "trigger test"
        effects: list[Effect]
        spec = definition.spec
        if isinstance(spec, IfThenSpec):
            effects = list(spec.effects)
        elif isinstance(spec, ThresholdSpec):
            zone = spec.zone_of(spec.ref.read(self.lookup))
            effects = list(spec.zones[zone].effects) if zone is not None else []
        elif isinstance(spec, DiscreteSpec):
            assert isinstance(rule, DiscreteRule)
            key = rule.match(spec.ref.read(self.lookup))
            effects = [e for k in spec.keys if k.key == key for e in k.effects]
        elif isinstance(spec, ExtraSpec):
            effects = self._kinds.test_effects(definition, rule)
        else:
            assert isinstance(rule, CommandRule)
            effects = [e for e, s in zip(rule.schedule_effects, spec.schedules, strict=True) if s.enabled]
        return await self._run_test(definition.oid or "test", label, effects, rule.sub_type)

    async def test_discrete(self, oid: str, target_value: Any) -> list[str]:
        trigger = self._triggers.get(oid)
        if trigger is None or not isinstance(trigger.definition.spec, DiscreteSpec):
            raise ApiError.not_found(f"No such discrete trigger : {oid}")
        key = str(target_value).lower() if isinstance(target_value, bool) else str(target_value)
        found = [k for k in trigger.definition.spec.keys if k.key == key]
        if not found:
            keys = ", ".join(k.key for k in trigger.definition.spec.keys)
            raise ApiError.bad_request(
                f"Invalid targetValue: {key!r} is not a key of this trigger ({keys})", ErrorCode.INVALID_FIELD_VALUE
            )
        return await self._run_test(
            oid, trigger.definition.label, found[0].effects, ExecutionSubType.DISCRETE_TRIGGER_USER
        )

    async def _run_test(
        self, trigger_id: str, label: str, effects: list[Effect], sub_type: ExecutionSubType
    ) -> list[str]:
        ids = []
        for effect in effects:
            exec_id = await self._submit(trigger_id, label, effect, sub_type, TriggerSource.TEST)
            if exec_id is not None:
                ids.append(exec_id)
        return ids

    # ------------------------------------------------------------------ for tests and benchmarks

    async def settle(self) -> None:
        """Wait until the effects already handed over are registered with the executor."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
