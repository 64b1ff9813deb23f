"""The AlertRule of seed 001, in memory, and its wire JSON.

A rule is the AND of at most 10 conditions; each condition is an operator and its operands, the first of
which names an attribute (see ``hearth.alerts.attributes`` for the naming rule). ``validation`` builds a
rule from a request body; this module only holds it and writes it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hearth.alerts.attributes import AttributeName, Kind
from hearth.alerts.geo import Shape
from hearth.alerts.operators import AlertOperator, OperandKind

MAX_RULES = 50
MAX_CONDITIONS = 10
FUNCTIONS = ("MIN", "MAX", "MEAN", "SUM", "CNT")


class TargetType(StrEnum):
    SYSTEM = "SYSTEM"
    COMPANY = "COMPANY"  # cloud-only: a gateway has no company-wide data


class NotifMode(StrEnum):
    EVERY_TIME = "EVERY_TIME"
    WHEN_STATE_CHANGES = "WHEN_STATE_CHANGES"
    WHEN_STATE_TRUE = "WHEN_STATE_TRUE"
    WHEN_STATE_FALSE = "WHEN_STATE_FALSE"
    IN_ALL_CASES = "IN_ALL_CASES"


@dataclass(frozen=True, slots=True)
class AttributeRef:
    """``attributeId``: an attribute of a target; ``target_id`` None is "the target being evaluated"."""

    target_id: str | None
    name: AttributeName

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name.text}
        if self.target_id is not None:
            out["targetId"] = self.target_id
        return out


@dataclass(slots=True)
class Operand:
    kind: OperandKind
    attribute: AttributeRef | None = None
    value: Any = None  # the valueStr, valueNum or valuesStr
    function: str | None = None
    function_param: Any = None
    shape: Shape | None = None  # a geo operator's WKT, read once

    def to_json(self) -> dict[str, Any]:
        if self.attribute is not None:
            out: dict[str, Any] = {"attributeId": self.attribute.to_json()}
            if self.function is not None:
                out["function"] = self.function
            if self.function_param is not None:
                out["functionParam"] = self.function_param
            return out
        return {str(self.kind): self.value}


@dataclass(slots=True)
class Condition:
    operator: AlertOperator
    operands: list[Operand]

    @property
    def subject(self) -> AttributeRef:
        attribute = self.operands[0].attribute
        assert attribute is not None  # validation makes the first operand an attributeId
        return attribute

    def attributes(self) -> list[AttributeRef]:
        return [o.attribute for o in self.operands if o.attribute is not None]

    def to_json(self) -> dict[str, Any]:
        return {"operator": str(self.operator), "operands": [o.to_json() for o in self.operands]}


@dataclass(slots=True)
class AlertRule:
    id: str
    target_type: TargetType
    name: str
    message: str
    conditions: list[Condition]
    stateful: bool = True
    active: bool = True
    emails: list[str] = field(default_factory=list)
    notif_mode: NotifMode = NotifMode.WHEN_STATE_CHANGES
    # Read on every evaluation: worked out once.
    cloud_only: bool = field(init=False)
    fixed_target: str | None = field(init=False)

    def __post_init__(self) -> None:
        # Evaluated by the cloud, never here: COMPANY targets, carrier usage, platform bookkeeping.
        self.cloud_only = self.target_type is TargetType.COMPANY or any(
            a.name.kind is Kind.CLOUD_ONLY for c in self.conditions for a in c.attributes()
        )
        # The targetId the rule is bound to (the first condition naming one), or None: every device.
        self.fixed_target = next(
            (c.subject.target_id for c in self.conditions if c.subject.target_id is not None), None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "targetType": str(self.target_type),
            "name": self.name,
            "message": self.message,
            "stateful": self.stateful,
            "active": self.active,
            "emails": list(self.emails),
            "notifMode": str(self.notif_mode),
            "conditions": [c.to_json() for c in self.conditions],
            "cloudOnly": self.cloud_only,
        }
