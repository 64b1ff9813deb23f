"""Operation triggers of seed 004: when a rule raises an alert or flips its state, run an action group.

``{"uid", "type", "filter": "<alertRuleId>", "operationType", "parameters", "email", "notify", "callback"}``,
at most 50. Types:

- ``ON_ALERT``: every alert raised (a stateful rule's conditions met, or a stateless rule's alert);
- ``ON_ALERT_STATE_CHANGE``: every AlertState flip, true or false;
- ``ON_ALERT_STATE_CHANGE_TRUE``: flips false to true.

``operationType`` ``RUN_ACTION_GROUP`` (Hearth's local operation) with ``parameters: {"actionGroupOID"}``
runs that persisted action group on the gateway, as an execution of type ``RAW_TRIGGER_GATEWAY`` (5) and
subType ``IFT_CONDITION`` (7) whose ``triggerId`` is the trigger's uid, followed by a GroupTriggeredEvent
(``triggerType`` 100). The operation types of the cloud (``SYSTEM_SEND_COMMAND``, ``SYSTEM_SUSPEND`` ...)
are accepted and kept for the cloud: they do nothing here. ``email``, ``notify`` and ``callback`` are kept
and returned, not acted on locally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hearth.alerts import errors

MAX_TRIGGERS = 50
RUN_ACTION_GROUP = "RUN_ACTION_GROUP"
CLOUD_OPERATION_TYPES = frozenset(
    {
        "SYSTEM_ACTIVATE",
        "SYSTEM_SYNCHRONIZE",
        "SYSTEM_IMPORT",
        "SUBSCRIPTION_ACTIVATE",
        "GATEWAY_IMPORT",
        "SYSTEM_APPLY_SETTINGS",
        "SYSTEM_RETRIEVE_DATA",
        "SYSTEM_SEND_COMMAND",
        "SYSTEM_SUSPEND",
    }
)


class TriggerType(StrEnum):
    ON_ALERT = "ON_ALERT"
    ON_ALERT_STATE_CHANGE = "ON_ALERT_STATE_CHANGE"
    ON_ALERT_STATE_CHANGE_TRUE = "ON_ALERT_STATE_CHANGE_TRUE"


@dataclass(slots=True)
class OperationTrigger:
    uid: str
    type: TriggerType
    rule_id: str
    operation_type: str
    parameters: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    notify: bool = False
    callback: str | None = None

    @property
    def action_group_oid(self) -> str | None:
        """The group to run here; None for an operation of the cloud."""
        if self.operation_type != RUN_ACTION_GROUP:
            return None
        return str(self.parameters["actionGroupOID"])

    def fires(self, raised: bool, flipped_to: bool | None) -> bool:
        if self.type is TriggerType.ON_ALERT:
            return raised
        if self.type is TriggerType.ON_ALERT_STATE_CHANGE:
            return flipped_to is not None
        return flipped_to is True

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "type": str(self.type),
            "filter": self.rule_id,
            "operationType": self.operation_type,
            "email": self.email,
            "notify": self.notify,
            "callback": self.callback,
            "parameters": self.parameters,
        }


def parse_trigger(
    body: Any, uid: str, rule_exists: Callable[[str], bool], group_exists: Callable[[str], bool]
) -> OperationTrigger:
    if not isinstance(body, dict):
        raise errors.refuse(errors.TRIGGER_PARAMETERS_INVALID, "the body must be a JSON object: an operation trigger")
    try:
        trigger_type = TriggerType(str(body.get("type")))
    except ValueError:
        raise errors.refuse(
            errors.TRIGGER_TYPE_UNKNOWN, f"type: {body.get('type')!r} is not one of {', '.join(TriggerType)}"
        ) from None
    rule_id = body.get("filter")
    if not rule_id or not isinstance(rule_id, str):
        raise errors.refuse(errors.MISSING_ID, "filter: the id of the alert rule is required")
    if not rule_exists(rule_id):
        raise errors.refuse(errors.UNKNOWN_ID, f"filter: no alert rule {rule_id!r}")
    operation_type = body.get("operationType")
    if operation_type != RUN_ACTION_GROUP and operation_type not in CLOUD_OPERATION_TYPES:
        raise errors.refuse(
            errors.TRIGGER_OPERATION_TYPE_UNKNOWN,
            f"operationType: {operation_type!r} is not {RUN_ACTION_GROUP} (run an action group here) "
            "nor an operation type of the cloud",
        )
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise errors.refuse(errors.TRIGGER_PARAMETERS_INVALID, "parameters: must be an object")
    if operation_type == RUN_ACTION_GROUP:
        oid = parameters.get("actionGroupOID")
        if not isinstance(oid, str) or not group_exists(oid):
            raise errors.refuse(
                errors.TRIGGER_PARAMETERS_INVALID, f"parameters.actionGroupOID: {oid!r} is not a persisted action group"
            )
    email, callback, notify = body.get("email"), body.get("callback"), body.get("notify", False)
    if email is not None and not isinstance(email, str):
        raise errors.refuse(errors.TRIGGER_PARAMETERS_INVALID, "email: must be a string")
    if callback is not None and not isinstance(callback, str):
        raise errors.refuse(errors.TRIGGER_PARAMETERS_INVALID, "callback: must be a string")
    if not isinstance(notify, bool):
        raise errors.refuse(errors.TRIGGER_PARAMETERS_INVALID, "notify: must be true or false")
    return OperationTrigger(uid, trigger_type, rule_id, str(operation_type), parameters, email, notify, callback)


@dataclass(frozen=True, slots=True)
class TriggerRun:
    """An action group a trigger owes: on disk from the flip until its execution is journaled."""

    id: str
    trigger_uid: str
    action_group_oid: str
    rule_id: str
    target_id: str
    created: int  # ms
