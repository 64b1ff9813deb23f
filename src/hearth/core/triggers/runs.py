"""What the engine runs and why: ``Due`` effects, the ``TriggerSource`` of GroupTriggeredEvent, and the
statement of the ``trigger_timers`` rows (written before every wait)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from hearth.core.triggers.fields import Effect
from hearth.model.execution import ExecutionSubType

if TYPE_CHECKING:
    from hearth.core.triggers.engine import LiveTrigger

UPSERT_TIMER = (
    "INSERT INTO trigger_timers (trigger_oid, timer, due_time, active, payload) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (trigger_oid, timer) DO UPDATE SET due_time = excluded.due_time, active = excluded.active, "
    "payload = excluded.payload"
)


class TriggerSource(IntEnum):
    """``triggerType`` of GroupTriggeredEvent: why an action group ran."""

    STATE = 1
    DELAYED_RUN = 2  # core.schedule's runs of POST /exec/schedule
    TIME = 3
    TEST = 4
    ENABLED = 5
    EVENT = 6  # an eventTrigger's event


@dataclass(slots=True)
class Due:
    """Effects to run now, and why."""

    trigger: LiveTrigger
    effects: list[Effect]
    sub_type: ExecutionSubType
    source: TriggerSource
