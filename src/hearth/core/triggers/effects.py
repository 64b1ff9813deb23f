"""Running the effects of setup triggers: each effect one execution through the executor, then a
GroupTriggeredEvent that says why it ran.

Also the effects waiting to run: those of the outputs that rose while a change of states (or the end of a
delay) was handled (``pending``, run once it is handled), and those of the outputs that hold when a trigger
becomes active (``holding``).

Crash safety: the timer rows that a run retires are queued just before its first execution is journaled, so
the journal's commit carries them in the same transaction (an effect never runs twice across a crash).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.executor import Executor
from hearth.core.triggers.blocks import Debounced
from hearth.core.triggers.fields import Effect
from hearth.core.triggers.runs import Due, TriggerSource
from hearth.model.errors import ApiError
from hearth.model.events import GroupTriggeredEvent
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.store.triggers import TriggerRepository, TriggerTimerRow

if TYPE_CHECKING:
    from hearth.core.triggers.live import LiveTrigger

log = logging.getLogger(__name__)

# The owner of the executions of setup triggers (the executor's word for who submitted them).
OWNER = "setup-trigger"


def holding(trigger: LiveTrigger, sub_type: ExecutionSubType, source: TriggerSource) -> list[Due]:
    """The effects of the outputs that hold now (run when the trigger becomes active)."""
    return [
        Due(trigger, effects, sub_type, source)
        for node, effects in trigger.rule.effect_nodes()
        if effects and (node is None or node.out)
    ]


class EffectRunner:
    def __init__(self, store: TriggerRepository, executor: Executor, groups: ActionGroupStore, bus: EventBus) -> None:
        self._store = store
        self._executor = executor
        self._groups = groups
        self._bus = bus
        self.pending: list[Due] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def rose(self, trigger: LiveTrigger, node: Debounced) -> None:
        """An output rose: its effects run once the change that raised it is handled (``take_pending``)."""
        effects = trigger.rule.effects_of(node)
        if not effects:
            return
        if not trigger.active:
            log.debug("setup trigger %s holds but is not active: no effect", trigger.oid)
            return
        self.pending.append(Due(trigger, effects, trigger.rule.sub_type, TriggerSource.STATE))

    def take_pending(self) -> list[Due]:
        due, self.pending = self.pending, []
        return due

    async def run(self, due: Sequence[Due], rows: Sequence[TriggerTimerRow]) -> None:
        # The rows that retire a timer are queued just before the first execution is journaled: the
        # journal's commit carries them in the same transaction.
        for row in rows:
            self._store.queue_timer(row)
        for entry in due:
            for effect in entry.effects:
                await self.submit(
                    entry.trigger.oid, entry.trigger.definition.label, effect, entry.sub_type, entry.source
                )

    async def submit(
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

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run effects without waiting for them (from a bus handler)."""
        task: asyncio.Task[None] = asyncio.create_task(coro, name="trigger-effects")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def settle(self) -> None:
        """Wait until the effects already handed over are registered with the executor."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
