"""The delays of the conditions' Debounced outputs (``ActivationDelays``): one task per running delay, and for
an activation delay (one that leads to effects) its row of ``trigger_timers`` ('delay:<blockId>').

The row is queued before the wait starts (DelayedTriggerSetEvent), retired when the delay is dropped
(DelayedTriggerCancelledEvent) or in the same flush as the executions it becomes, so a restart resumes it
(see ``recovery``) and its effects never run twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from hearth.core.triggers.blocks import Debounced
from hearth.core.triggers.runs import to_ms
from hearth.model.events import DelayedTriggerCancelledEvent, DelayedTriggerSetEvent
from hearth.store.triggers import TriggerTimerRow

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine
    from hearth.core.triggers.live import LiveTrigger

log = logging.getLogger(__name__)

DELAY_PREFIX = "delay:"


def delay_key(node: Debounced) -> str:
    """The timer of a node's delay (its key in ``LiveTrigger.timers`` and its row's ``timer``)."""
    return f"{DELAY_PREFIX}{node.node_id}"


class ActivationDelays:
    def __init__(self, engine: TriggerEngine) -> None:
        self._engine = engine

    def arm(self, trigger: LiveTrigger, node: Debounced, due: float) -> None:
        key = delay_key(node)
        if node.pending:  # an activation delay: it leads to effects, so it is kept across a restart
            self._engine.store.queue_timer(TriggerTimerRow.armed(trigger.oid, key, to_ms(due)))
            self._engine.bus.publish(DelayedTriggerSetEvent(trigger_id=trigger.oid))
        self.start(trigger, node, key, due)

    def start(self, trigger: LiveTrigger, node: Debounced, key: str, due: float) -> None:
        old = trigger.timers.pop(key, None)
        if old is not None:
            old.cancel()
        trigger.timers[key] = asyncio.create_task(self._wait(trigger, node, key, due), name=f"trigger-{key}")

    def disarm(self, trigger: LiveTrigger, node: Debounced) -> None:
        key = delay_key(node)
        task = trigger.timers.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if node.pending:  # the activation delay being dropped (pending is still set while it is dropped)
            self._engine.store.queue_timer(TriggerTimerRow.retired(trigger.oid, key, to_ms(node.due)))
            self._engine.bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger.oid))

    async def _wait(self, trigger: LiveTrigger, node: Debounced, key: str, due: float) -> None:
        await self._engine.clock.sleep_until(due)
        try:
            await self._over(trigger, node, key, due)
        except Exception:
            log.exception("setup trigger %s: the end of %s failed", trigger.oid, key)

    async def _over(self, trigger: LiveTrigger, node: Debounced, key: str, due: float) -> None:
        if trigger.timers.get(key) is asyncio.current_task():
            del trigger.timers[key]
        if trigger.removed:
            return
        activation = node.pending is True
        runner = self._engine.runner
        node.expire(self._engine.clock.now(), trigger)
        due_runs = runner.take_pending()
        rows = [TriggerTimerRow.retired(trigger.oid, key, to_ms(due))] if activation else []
        await runner.run(due_runs, rows)
