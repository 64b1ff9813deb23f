"""The condition group model: a condition, a group of them, a validated body, and the error of a bad one.

A condition (one of the group's, all of which must hold) covers either every device of some controllables
(``ConditionKind.CONTROLLABLE``, the End-User API's only kind) or one device (``ConditionKind.DEVICE``, our
extension); it keeps its operator compiled into a ``Comparison`` and its wire form as the client sent it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hearth.core.operators import Comparison, ConditionOperator
from hearth.model.errors import ApiError, ErrorCode

STATUS_STATE = "core:StatusState"
MAX_GROUPS = 5000
MAX_CONDITIONS = 50
MAX_NAMES = 100
MAX_LABEL = 256
MAX_METADATA = 4096
MAX_TEXT = 1024


class ConditionKind(StrEnum):
    CONTROLLABLE = "controllable"  # the End-User API's only kind: every device of some controllables
    DEVICE = "device"  # our extension: one device


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    kind: ConditionKind
    targets: tuple[str, ...]  # controllableNames, or the one deviceURL (canonical form)
    state_name: str
    operator: ConditionOperator
    comparison: Comparison
    wire: dict[str, Any]  # the condition as stored and shown: what the client sent, known keys only


@dataclass(slots=True)
class ConditionGroup:
    oid: str
    label: str
    metadata: str | None
    conditions: tuple[Condition, ...]
    creation_time: int
    last_update_time: int

    def wire_conditions(self) -> list[dict[str, Any]]:
        return [c.wire for c in self.conditions]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "creationTime": self.creation_time,
            "lastUpdateTime": self.last_update_time,
            "label": self.label,
        }
        if self.metadata is not None:
            out["metadata"] = self.metadata
        out["conditions"] = self.wire_conditions()
        out["oid"] = self.oid
        return out


class ConditionError(ValueError):
    """A condition group that does not validate; ``field`` is where, as the client wrote it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def to_api(self) -> ApiError:
        return ApiError.bad_request(str(self), ErrorCode.INVALID_FIELD_VALUE)


@dataclass(frozen=True, slots=True)
class GroupDefinition:
    """A validated body: what a create or update needs, before it has an oid."""

    label: str
    metadata: str | None
    conditions: tuple[Condition, ...]
