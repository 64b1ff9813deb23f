"""Running the calendar's time triggers: one wait for the next moment some run, kept across restarts.

Write before the act: the next moment and its runs are one row (``calendar_timers``), written before the
wait starts, and replaced by the following one in the same flush as the executions it becomes (the
executor's journal commit carries it). At start, runs due while the gateway was down are run once if they
are late by less than ``missed_grace_s`` (the executor's setting); later ones are not run: they are recorded
in ``calendar_missed_runs``, logged and announced with DelayedTriggerCancelledEvent (its triggerId: the time
trigger's id).

Each run is one execution of type Planning (4) with subType TIME_TRIGGER, DAWN_TRIGGER or DUSK_TRIGGER and
``triggerId`` = the time trigger's id, then a GroupTriggeredEvent with triggerType 3 (time).
"""

from __future__ import annotations

import asyncio
import logging

from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.calendar.model import TimeTriggerType
from hearth.core.calendar.planning import Planning, Run
from hearth.core.clock import Clock
from hearth.core.executor import Executor
from hearth.core.location import LocationStore
from hearth.core.tasks import cancel_all_and_wait
from hearth.model.errors import ApiError
from hearth.model.events import DelayedTriggerCancelledEvent, GroupTriggeredEvent, now_ms
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.store.calendar import CalendarRepository

log = logging.getLogger(__name__)

OWNER = "calendar"
TIME_SOURCE = 3  # GroupTriggeredEvent.triggerType: time (as the setup triggers' TriggerSource.TIME)
_SUB_TYPES = {
    TimeTriggerType.TIME: ExecutionSubType.TIME_TRIGGER,
    TimeTriggerType.DAWN: ExecutionSubType.DAWN_TRIGGER,
    TimeTriggerType.DUSK: ExecutionSubType.DUSK_TRIGGER,
}
MAX_MISSED_RECORDED = 100


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


class CalendarRunner:
    def __init__(
        self,
        planning: Planning,
        repo: CalendarRepository,
        bus: EventBus,
        clock: Clock,
        executor: Executor,
        groups: ActionGroupStore,
        location: LocationStore,
        *,
        missed_grace_s: float = 900.0,
    ) -> None:
        self._planning = planning
        self._repo = repo
        self._bus = bus
        self._clock = clock
        self._executor = executor
        self._groups = groups
        self._location = location
        self.missed_grace_s = missed_grace_s
        self._task: asyncio.Task[None] | None = None
        self.next_due: float | None = None

    async def start(self) -> None:
        """Catch up what fell due while the gateway was down, then wait for the next runs."""
        now = self._clock.now()
        row = await self._repo.timer()
        runs: list[Run] = []
        if row is not None and row.due_ms / 1000 <= now:
            due_runs = self._planning.runs_between(row.due_ms / 1000, now, self._location.sun)
            runs = [r for r in due_runs if now - r.due <= self.missed_grace_s]
            missed = [r for r in due_runs if now - r.due > self.missed_grace_s]
            self._missed(missed)
        await self._run(runs, now)

    def reschedule(self) -> None:
        """The calendar, its switch or the location changed: wait for the new next runs."""
        self._wait(self._clock.now(), persist=True)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_all_and_wait([task])  # its crash not raised: a stop goes on (_sleep logs its own failures)

    def _wait(self, after: float, *, persist: bool) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None
        found = self._planning.next_runs(after, self._location.sun)
        if found is None:
            self.next_due = None
            if persist:
                self._repo.queue_timer(None, {})
            return
        due, runs = found
        self.next_due = due
        if persist:
            self._repo.queue_timer(_ms(due), {"runs": [r.key for r in runs]})
        self._task = asyncio.create_task(self._sleep(due), name="calendar-next-run")

    async def _sleep(self, due: float) -> None:
        await self._clock.sleep_until(due)
        try:
            runs = [r for r in self._planning.runs_between(due, due, self._location.sun)]
            await self._run(runs, due)
        except Exception:
            log.exception("calendar: the runs due at %s failed", due)

    async def _run(self, runs: list[Run], after: float) -> None:
        # The next row is queued before the first execution is journaled: the same commit carries both.
        self._wait(after, persist=True)
        if not runs:
            await self._repo.sync()
        for run in runs:
            await self._submit(run)

    async def _submit(self, run: Run) -> None:
        trigger = run.trigger
        try:
            group = trigger.local_group
            if group is None:
                assert trigger.action_group_oid is not None
                group = self._groups.get(trigger.action_group_oid)
            execution = await self._executor.submit(
                group,
                owner=OWNER,
                type=ExecutionType.PLANNING,
                sub_type=_SUB_TYPES[trigger.type],
                action_group_oid=trigger.action_group_oid,
                trigger_id=trigger.id,
            )
        except ApiError as exc:
            log.warning("calendar: time trigger %s on %s could not run: %s", trigger.id, run.day, exc.message)
            return
        except Exception:
            log.exception("calendar: time trigger %s on %s failed", trigger.id, run.day)
            return
        self._bus.publish(
            GroupTriggeredEvent(
                trigger_id=trigger.id,
                trigger_type=TIME_SOURCE,
                action_group_oid=trigger.action_group_oid,
                exec_id=execution.id,
            )
        )

    def _missed(self, runs: list[Run]) -> None:
        if not runs:
            return
        recorded = now_ms()
        for run in runs[-MAX_MISSED_RECORDED:]:
            self._repo.queue_missed(run.trigger.id, run.day.isoformat(), _ms(run.due), recorded)
        log.warning(
            "calendar: %d time trigger run(s) due while the gateway was down, from %s, missed by more "
            "than %g s: not run",
            len(runs),
            runs[0].day,
            self.missed_grace_s,
        )
        for trigger_id in dict.fromkeys(r.trigger.id for r in runs):
            self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger_id))
