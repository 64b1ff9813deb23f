"""What the engine runs and why: ``Due`` effects and the ``TriggerSource`` of GroupTriggeredEvent; and the
moments of its timers in the store's unit (epoch ms)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from hearth.core.triggers.fields import Effect
from hearth.model.execution import ExecutionSubType

if TYPE_CHECKING:
    from hearth.core.triggers.live import LiveTrigger


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


def to_ms(seconds: float) -> int:
    """A moment of the clock (epoch seconds) as the rows of ``trigger_timers`` keep it."""
    return int(round(seconds * 1000))
