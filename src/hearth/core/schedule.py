"""Runs of an action group at a given time (``POST /exec/schedule/{oid}/{utcTimestamp}``).

Each run is written to the store before its ``triggerId`` is returned, and removed in the same
transaction that journals the execution it becomes: a run fires exactly once, even across a crash.
A run that fell due while the gateway was down fires at start if it is late by less than
``missed_grace_s``; later than that it is dropped with DelayedTriggerCancelledEvent and a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import astuple, dataclass
from typing import Any

from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.executor import Executor
from hearth.model.errors import ApiError
from hearth.model.events import DelayedTriggerCancelledEvent, DelayedTriggerSetEvent, GroupTriggeredEvent
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.store.database import Database
from hearth.store.schedules import ScheduledRunRepository, ScheduledRunRow
from hearth.store.writer import BatchWriter

log = logging.getLogger(__name__)
# The triggerType of GroupTriggeredEvent for a delayed run (its own code: the End-User API gives none).
DELAYED_TRIGGER_TYPE = 2


@dataclass(frozen=True, slots=True)
class ScheduledRun(ScheduledRunRow):
    """A run as the API shows it (``GET /exec/schedule``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "triggerId": self.trigger_id,
            "label": self.label,
            "utcTime": self.utc_time,
            "actionGroupOID": self.action_group_oid,
            "randomTimeRange": 0,
            "serverSideManaged": False,
            "executionType": ExecutionType.DELAYED.label,
            "executionSubType": ExecutionSubType.TIME_TRIGGER.label,
        }


class DelayedRunScheduler:
    def __init__(
        self,
        db: Database,
        writer: BatchWriter,
        bus: EventBus,
        executor: Executor,
        groups: ActionGroupStore,
        missed_grace_s: float = 900.0,
    ) -> None:
        self._store = ScheduledRunRepository(db, writer)
        self._bus = bus
        self._executor = executor
        self._groups = groups
        self.missed_grace_s = missed_grace_s
        self._runs: dict[str, ScheduledRun] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._firing: set[asyncio.Task[None]] = set()

    async def load(self) -> None:
        now = time.time() * 1000
        for row in await self._store.runs():
            run = ScheduledRun(*astuple(row))
            if run.utc_time < now - self.missed_grace_s * 1000:
                log.warning(
                    "scheduled run %s of %s was due at %d, missed by too long while down: dropped",
                    run.trigger_id,
                    run.action_group_oid,
                    run.utc_time,
                )
                await self._store.drop_at_start(run.trigger_id)
                self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=run.trigger_id))
                continue
            self._arm(run)

    def list(self, action_group_oid: str | None = None) -> list[ScheduledRun]:
        runs = sorted(self._runs.values(), key=lambda r: r.utc_time)
        return [r for r in runs if action_group_oid is None or r.action_group_oid == action_group_oid]

    def get(self, trigger_id: str) -> ScheduledRun:
        run = self._runs.get(trigger_id)
        if run is None:
            raise ApiError.not_found(f"No such delayed trigger : {trigger_id}")
        return run

    async def schedule(self, action_group_oid: str, utc_time: int) -> ScheduledRun:
        group = self._groups.get(action_group_oid)
        run = ScheduledRun(str(uuid.uuid4()), action_group_oid, group.label, utc_time, int(time.time() * 1000))
        await self._store.add(run)
        self._arm(run)
        self._bus.publish(DelayedTriggerSetEvent(trigger_id=run.trigger_id))
        return run

    async def cancel(self, trigger_id: str) -> None:
        self.get(trigger_id)
        await self._store.remove(trigger_id)
        self._runs.pop(trigger_id, None)
        timer = self._timers.pop(trigger_id, None)
        if timer is not None:
            timer.cancel()
        self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger_id))

    def _arm(self, run: ScheduledRun) -> None:
        self._runs[run.trigger_id] = run
        delay = max(0.0, run.utc_time / 1000 - time.time())
        loop = asyncio.get_running_loop()
        self._timers[run.trigger_id] = loop.call_later(delay, self._fire_soon, run.trigger_id)

    def _fire_soon(self, trigger_id: str) -> None:
        task = asyncio.create_task(self._fire(trigger_id), name=f"scheduled-{trigger_id}")
        self._firing.add(task)
        task.add_done_callback(self._firing.discard)

    async def _fire(self, trigger_id: str) -> None:
        run = self._runs.pop(trigger_id, None)
        self._timers.pop(trigger_id, None)
        if run is None:
            return
        # Removed with the journal rows of the execution it becomes (one flush, one transaction).
        self._store.remove_later(trigger_id)
        try:
            group = self._groups.get(run.action_group_oid)
            execution = await self._executor.submit(
                group,
                owner="scheduler",
                type=ExecutionType.DELAYED,
                sub_type=ExecutionSubType.TIME_TRIGGER,
                action_group_oid=run.action_group_oid,
                trigger_id=trigger_id,
            )
        except ApiError as exc:
            log.warning("scheduled run %s of %s could not start: %s", trigger_id, run.action_group_oid, exc.message)
            self._bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger_id))
            return
        self._bus.publish(
            GroupTriggeredEvent(
                trigger_id=trigger_id,
                trigger_type=DELAYED_TRIGGER_TYPE,
                action_group_oid=run.action_group_oid,
                exec_id=execution.id,
            )
        )

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await asyncio.gather(*self._firing, return_exceptions=True)
