"""The times of genericCommandSchedulingTrigger (``CommandSchedules``): one task per (schedule, time of day),
each sending that schedule's command at its local time if the trigger is active, the schedule enabled and
every state restriction holds.

Each next time is a row 'command:<i>.<j>' of ``trigger_timers``, queued before the wait starts and replaced
by the following day's in the same flush as the execution it becomes (so a command never goes twice, and a
restart catches up or records what fell due while down; see ``recovery``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hearth.core.triggers.intervals import local_time
from hearth.core.triggers.model import CommandSchedulingSpec
from hearth.core.triggers.rules import CommandRule
from hearth.core.triggers.runs import Due, TriggerSource, to_ms
from hearth.store.triggers import TriggerTimerRow

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine
    from hearth.core.triggers.live import LiveTrigger

log = logging.getLogger(__name__)

COMMAND_PREFIX = "command:"


def command_key(schedule: int, time: int) -> str:
    """The timer of a schedule's time (``schedule``: its index in the list, ``time``: in its times)."""
    return f"{COMMAND_PREFIX}{schedule}.{time}"


class CommandSchedules:
    def __init__(self, engine: TriggerEngine) -> None:
        self._engine = engine

    def next_daily(self, minutes: int, after: float) -> float:
        """The first moment after ``after`` at ``minutes`` of a local day."""
        tz = self._engine.location.sun.tz
        day = datetime.fromtimestamp(after, tz).date()
        for offset in range(0, 3):
            moment = local_time(day + timedelta(days=offset), minutes, tz)
            if moment > after:
                return moment
        return after + 86_400

    def daily_times(self, minutes: int, first: float, until: float) -> list[float]:
        """The moments at ``minutes`` of each local day from ``first`` (itself one) up to ``until``."""
        found = [first]
        moment = first
        while len(found) < 10_000:
            moment = self.next_daily(minutes, moment)
            if moment > until:
                break
            found.append(moment)
        return found

    def schedule(self, trigger: LiveTrigger, *, skip_armed: bool = False) -> None:
        """Wait for every time of every schedule (``skip_armed``: not those a restart resumed already)."""
        spec = trigger.definition.spec
        if not isinstance(spec, CommandSchedulingSpec):
            return
        now = self._engine.clock.now()
        for i, schedule in enumerate(spec.schedules):
            for j, minutes in enumerate(schedule.times):
                key = command_key(i, j)
                if skip_armed and key in trigger.timers:
                    continue
                due = self.next_daily(minutes, now)
                self._engine.store.queue_timer(TriggerTimerRow.armed(trigger.oid, key, to_ms(due)))
                self.start(trigger, i, j, due)

    def start(self, trigger: LiveTrigger, i: int, j: int, due: float) -> None:
        key = command_key(i, j)
        old = trigger.timers.pop(key, None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        trigger.timers[key] = asyncio.create_task(self._wait(trigger, i, j, due), name=f"trigger-{key}")

    async def _wait(self, trigger: LiveTrigger, i: int, j: int, due: float) -> None:
        await self._engine.clock.sleep_until(due)
        try:
            await self._due(trigger, i, j, due)
        except Exception:
            log.exception("setup trigger %s: command schedule %d.%d failed", trigger.oid, i, j)

    async def _due(self, trigger: LiveTrigger, i: int, j: int, due: float) -> None:
        key = command_key(i, j)
        if trigger.timers.get(key) is asyncio.current_task():
            del trigger.timers[key]
        if trigger.removed:
            return
        engine = self._engine
        rule, spec = trigger.rule, trigger.definition.spec
        assert isinstance(rule, CommandRule) and isinstance(spec, CommandSchedulingSpec)
        nxt = self.next_daily(spec.schedules[i].times[j], max(due, engine.clock.now()))
        due_runs = []
        if trigger.active and spec.schedules[i].enabled:
            if rule.restrictions_hold(engine.lookup):
                due_runs.append(Due(trigger, [rule.schedule_effects[i]], rule.sub_type, TriggerSource.TIME))
            else:
                log.info("setup trigger %s: %s not sent, a state restriction does not hold", trigger.oid, key)
        self.start(trigger, i, j, nxt)
        await engine.runner.run(due_runs, [TriggerTimerRow.armed(trigger.oid, key, to_ms(nxt))])
