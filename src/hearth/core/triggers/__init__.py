"""Setup triggers (``/triggers``): the model and its validation, scheduling intervals, condition blocks, the
engine that runs them. See ``engine`` for what runs when, the execution subTypes and the restart rules."""

from hearth.core.triggers.engine import TRIGGERS_FUNCTION_TYPE, LiveTrigger, TriggerEngine, TriggerSource
from hearth.core.triggers.model import Mode, TriggerType, parse_trigger

__all__ = ["TRIGGERS_FUNCTION_TYPE", "LiveTrigger", "Mode", "TriggerEngine", "TriggerSource", "TriggerType",
           "parse_trigger"]
