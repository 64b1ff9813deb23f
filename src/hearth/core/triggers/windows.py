"""Scheduling windows (``schedulingIntervals``) of setup triggers at run time (``SchedulingWindows``): which
window is open now, one task per trigger waiting for the next change (an opening or a closing), and what an
opening runs.

An opening runs effects when the trigger becomes active then (mode 3, ``allowExecuteOnEnabled``, with the
TIME / DAWN / DUSK subType of the window's start), or at every opening for an ifThen without a condition
(mode 1 or 3). Such an opening is kept across a restart: its row 'window' of ``trigger_timers`` is queued
before the wait starts, and replaced by the next one in the same flush as the executions of the opening.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, NamedTuple

from hearth.core.triggers.effects import holding
from hearth.core.triggers.intervals import BoundType, Window, active_window, next_change
from hearth.core.triggers.model import Mode
from hearth.core.triggers.runs import Due, TriggerSource, to_ms
from hearth.model.execution import ExecutionSubType
from hearth.store.triggers import TriggerTimerRow

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine
    from hearth.core.triggers.live import LiveTrigger

log = logging.getLogger(__name__)

WINDOW = "window"  # the timer of the next change of a trigger's window

BOUND_SUB_TYPES = {
    BoundType.TIME: ExecutionSubType.TIME_TRIGGER,
    BoundType.DAWN: ExecutionSubType.DAWN_TRIGGER,
    BoundType.DUSK: ExecutionSubType.DUSK_TRIGGER,
}


class NextChange(NamedTuple):
    """The next change of a trigger's window: when (None: never), and the row that keeps it across a restart
    (None: that change runs nothing, so it is not kept)."""

    row: TriggerTimerRow | None
    at: float | None


class SchedulingWindows:
    def __init__(self, engine: TriggerEngine) -> None:
        self._engine = engine

    def current(self, trigger: LiveTrigger) -> Window | None:
        intervals = trigger.definition.intervals
        if not intervals:
            return None
        engine = self._engine
        return active_window(intervals, engine.location.sun, engine.clock.now(), engine.calendar)

    def _persisted(self, trigger: LiveTrigger) -> bool:
        """Whether the next opening of the window may run effects (and is kept across a restart)."""
        if trigger.time_only:
            return trigger.mode is not Mode.OFF
        return (
            trigger.mode is Mode.SCHEDULED
            and trigger.definition.allow_execute_on_enabled
            and bool(trigger.definition.effects)
        )

    def next_change(self, trigger: LiveTrigger, now: float) -> NextChange:
        engine = self._engine
        change = next_change(trigger.definition.intervals, engine.location.sun, now, calendar=engine.calendar)
        if change is None:
            return NextChange(None, None)
        at, window = change
        if window is not None and self._persisted(trigger):
            payload = {"startType": window.start_type.value}
            return NextChange(TriggerTimerRow.armed(trigger.oid, WINDOW, to_ms(at), payload), at)
        return NextChange(None, at)

    def schedule(self, trigger: LiveTrigger, *, persist: bool = True, at: float | None = None) -> None:
        """Wait for the next change (``at``: a moment already known, whose row is in the store)."""
        old = trigger.timers.pop(WINDOW, None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        if not trigger.definition.intervals:
            return
        if at is None:
            row, at = self.next_change(trigger, self._engine.clock.now())
            if persist:
                if row is not None:
                    self._engine.store.queue_timer(row)
                    trigger.window_row = True
                elif trigger.window_row:
                    self._engine.store.queue_timer(TriggerTimerRow.retired(trigger.oid, WINDOW))
                    trigger.window_row = False
            if at is None:
                return
        trigger.timers[WINDOW] = asyncio.create_task(self._boundary(trigger, at), name="trigger-window")

    async def _boundary(self, trigger: LiveTrigger, at: float) -> None:
        await self._engine.clock.sleep_until(at)
        try:
            await self._changed(trigger, at)
        except Exception:
            log.exception("setup trigger %s: its scheduling window failed", trigger.oid)

    async def _changed(self, trigger: LiveTrigger, at: float) -> None:
        if trigger.timers.get(WINDOW) is asyncio.current_task():
            del trigger.timers[WINDOW]
        if trigger.removed:
            return
        was_active, was_open = trigger.active, trigger.window is not None
        trigger.window = window = self.current(trigger)
        now = self._engine.clock.now()
        due: list[Due] = []
        if (
            window is not None
            and trigger.active
            and (
                (trigger.time_only and not was_open) or (not was_active and trigger.definition.allow_execute_on_enabled)
            )
        ):
            due = holding(trigger, BOUND_SUB_TYPES[window.start_type], TriggerSource.TIME)
        row, nxt = self.next_change(trigger, now)
        rows: list[TriggerTimerRow] = []
        if row is not None:
            rows.append(row)
            trigger.window_row = True
        elif trigger.window_row:
            rows.append(TriggerTimerRow.retired(trigger.oid, WINDOW, to_ms(at)))
            trigger.window_row = False
        if nxt is not None:
            trigger.timers[WINDOW] = asyncio.create_task(self._boundary(trigger, nxt), name="trigger-window")
        await self._engine.runner.run(due, rows)

    def openings(self, trigger: LiveTrigger, first: float, until: float) -> list[float]:
        """Window openings from ``first`` (itself one) up to ``until``."""
        engine = self._engine
        found = [first]
        moment = first
        for _ in range(1000):
            change = next_change(trigger.definition.intervals, engine.location.sun, moment, calendar=engine.calendar)
            if change is None or change.at > until:
                break
            moment = change.at
            if change.window is not None:
                found.append(moment)
        return found
