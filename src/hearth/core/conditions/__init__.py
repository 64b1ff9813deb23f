"""Condition groups: conditions on device states, kept, indexed and evaluated on the gateway itself.

A condition group is a list of conditions that must all hold. One condition is, on the wire::

    {"controllable": {"controllableNames": ["zigbee:TemperatureSensorComponent"],
                      "stateName": "core:TemperatureState", "operator": "GREATERTHAN", "value": "25"}}

It covers every device of the setup whose controllableName is listed. The End-User API has no other kind
of condition, and no client we know of sends one. As our extension, a condition may name one device
instead (``{"device": {"deviceURL": ..., "stateName", "operator", "value"}}``), because a controllable
condition cannot tell apart two devices of the same kind (the front door's contact from the garage's).
BETWEEN_INCLUSIVE takes its bounds as ``"value": [low, high]`` or as ``"value"`` and ``"value2"``.

When it holds (the rule, for every condition of the group):
- each device the condition covers is tested: it is *failed* when it cannot be evaluated (it is
  unavailable or disabled, the state is missing, the value cannot be compared with the state, or the
  device a deviceURL condition names is no longer in the setup), else
  *invalidating* when its state makes the condition false, else it satisfies the condition;
- a listed controllable with no device in the setup is *ignored*: it neither helps nor hinders;
- the condition holds when it covers at least one device and every device it covers satisfies it. A
  condition whose controllables are all ignored does not hold: nothing shows that it is true.
The group holds (evaluationStatus SUCCESS) when every condition holds, else FAILED. Availability does not
apply to a condition on ``core:StatusState`` itself, so "the sensor is unavailable" can be a condition.

The ConditionIndex keeps the current truth of every group and updates it from the bus: a state change
re-tests only the conditions keyed by (that deviceURL, that state) or (that controllableName, that state),
and only for the device that changed, never a scan of the groups.

The modules, by concept: ``model`` (a condition, a group, a validated body, the error of a bad one),
``parsing`` (the body as a client sends it, checked against the catalogue), ``evaluation`` (the verdict of a
device, a fresh evaluation of a group), ``index`` (the ConditionIndex), ``service`` (ConditionGroupStore, what
the API, the cloud and the triggers use; its rows are in hearth.store.condition_groups). Every name is
importable from ``hearth.core.conditions`` itself.
"""

from hearth.core.conditions.evaluation import Evaluation, Verdict, device_verdict, evaluate
from hearth.core.conditions.index import ConditionIndex, DeviceLookup, TruthListener
from hearth.core.conditions.model import (
    MAX_CONDITIONS,
    MAX_GROUPS,
    MAX_LABEL,
    MAX_METADATA,
    MAX_NAMES,
    MAX_TEXT,
    STATUS_STATE,
    Condition,
    ConditionError,
    ConditionGroup,
    ConditionKind,
    GroupDefinition,
)
from hearth.core.conditions.parsing import misfit, parse_condition, parse_group
from hearth.core.conditions.service import ConditionGroupStore

__all__ = [
    "MAX_CONDITIONS",
    "MAX_GROUPS",
    "MAX_LABEL",
    "MAX_METADATA",
    "MAX_NAMES",
    "MAX_TEXT",
    "STATUS_STATE",
    "Condition",
    "ConditionError",
    "ConditionGroup",
    "ConditionGroupStore",
    "ConditionIndex",
    "ConditionKind",
    "DeviceLookup",
    "Evaluation",
    "GroupDefinition",
    "TruthListener",
    "Verdict",
    "device_verdict",
    "evaluate",
    "misfit",
    "parse_condition",
    "parse_group",
]
