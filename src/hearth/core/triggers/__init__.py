"""Setup triggers (``/triggers``): the model and its validation, scheduling intervals, condition blocks, the
engine that runs them. See ``engine`` for what runs when, the execution subTypes and the restart rules, and
the modules of the types that have their own (``regulation``, ``point_to_point``, ``delayed_commands``,
``event_trigger``)."""

from hearth.core.triggers.engine import TRIGGERS_FUNCTION_TYPE, TriggerEngine
from hearth.core.triggers.live import LiveTrigger
from hearth.core.triggers.model import Mode, TriggerType, parse_trigger
from hearth.core.triggers.runs import TriggerSource

__all__ = [
    "TRIGGERS_FUNCTION_TYPE",
    "LiveTrigger",
    "Mode",
    "TriggerEngine",
    "TriggerSource",
    "TriggerType",
    "parse_trigger",
]
