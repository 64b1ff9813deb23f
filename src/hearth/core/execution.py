"""An execution at run time: its commands, their states, and its End-User API JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hearth.model.datatype import infer_datatype
from hearth.model.execution import ExecutionState, ExecutionSubType, ExecutionType, FailureType

MASK = "********"

# The order an execution moves through; it never moves back.
_ORDER = {
    s: i
    for i, s in enumerate(
        [
            ExecutionState.INITIALIZED,
            ExecutionState.QUEUED_GATEWAY_SIDE,
            ExecutionState.NOT_TRANSMITTED,
            ExecutionState.TRANSMITTED,
            ExecutionState.IN_PROGRESS,
            ExecutionState.COMPLETED,
            ExecutionState.FAILED,
        ]
    )
}


@dataclass(slots=True, eq=False)
class CommandRun:
    rank: int
    device_url: str
    name: str
    parameters: list[Any]
    sensitive: tuple[int, ...]
    delay: int
    lock_level: int | None
    due_time: int
    state: ExecutionState = ExecutionState.INITIALIZED
    failure: FailureType = FailureType.NO_FAILURE
    message: str | None = None
    # Journaled as TRANSMITTED with the execution itself (it could go at once): no second sync before sending.
    sent_with_registration: bool = False
    _json: list[str | None] = field(default_factory=lambda: [None, None], repr=False)

    def masked_parameters(self) -> list[Any]:
        if not self.sensitive:
            return self.parameters
        return [MASK if i in self.sensitive else p for i, p in enumerate(self.parameters)]

    def parameters_json(self, masked: bool) -> str:
        """The parameters as the journal stores them; made once per command, not once per write."""
        cached = self._json[masked]
        if cached is None:
            cached = self._json[masked] = json.dumps(self.masked_parameters() if masked else self.parameters)
        return cached

    @property
    def is_final(self) -> bool:
        return self.state.is_final

    def history_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "deviceURL": self.device_url,
            "command": self.name,
            "parameters": self.masked_parameters(),
            "rank": self.rank,
            "dynamic": False,
            "delay": self.delay,
            "state": self.state.value,
            "failureType": self.failure.name,
        }
        if self.failure is not FailureType.NO_FAILURE:
            out["detailedStatus"] = {
                "type": "generic-error",
                "message": self.message or self.failure.name,
                "error": True,
            }
        return out


@dataclass(slots=True, eq=False)
class Execution:
    id: str
    label: str
    metadata: str | None
    owner: str
    source: str
    type: ExecutionType
    sub_type: ExecutionSubType
    action_group_oid: str | None
    action_group: dict[str, Any]  # as shown to clients: sensitive parameters masked
    commands: list[CommandRun]
    start_time: int
    trigger_id: str | None = None
    high_priority: bool = False
    internal: bool = False
    state: ExecutionState = ExecutionState.INITIALIZED
    failure: FailureType = FailureType.NO_FAILURE
    effective_start_time: int | None = None
    end_time: int | None = None
    cancelled: bool = False
    devices: list[str] = field(default_factory=list)
    # The journal's copy of ``action_group``, made once: only the row's first write stores it (later writes of the
    # execution's row update its state and times only), so re-encoding it at every transition was wasted.
    action_group_json: str | None = field(default=None, repr=False)

    def advance(self, state: ExecutionState) -> bool:
        """Move forward to ``state``; False if that would be a step back (or nothing new)."""
        if _ORDER[state] <= _ORDER[self.state] or self.state.is_final:
            return False
        self.state = state
        return True

    def description(self) -> str:
        return f"Execution : {self.label}"

    def current_json(self) -> dict[str, Any]:
        """``GET /exec/current[/{execId}]``."""
        return {
            "startTime": self.start_time,
            "owner": self.owner,
            "actionGroup": self.action_group,
            "description": self.description(),
            "id": self.id,
            "state": self.state.value,
            "executionType": self.type.label,
            "executionSubType": self.sub_type.label,
        }

    def history_json(self) -> dict[str, Any]:
        """``GET /history/executions/{execId}`` (inside ``{"execution": ...}``) and ``lastExecutions``."""
        start = self.effective_start_time or self.start_time
        end = self.end_time
        out: dict[str, Any] = {
            "eventTime": self.start_time,
            "owner": self.owner,
            "source": self.source,
            "id": self.id,
            "label": self.label,
            "type": f"{self.type.label} - {self.sub_type.label}",
            "state": self.state.value,
            "failureType": self.failure.name,
            "commands": [c.history_json() for c in self.commands],
            "executionType": self.type.label,
            "executionSubType": self.sub_type.label,
            "effectiveStartTime": start,
            "duration": (end - start) if end is not None else -1,
        }
        if end is not None:
            out["endTime"] = end
        if self.action_group_oid:
            out["actionGroupOID"] = self.action_group_oid
        if self.metadata is not None:
            # The seed has both: the group's metadata, and the execution's (ours is the group's).
            out["actionGroupMetadata"] = out["metaData"] = self.metadata
        return out

    def registered_actions(self) -> list[dict[str, Any]]:
        """Actions of ExecutionRegisteredEvent, with typed parameters ({type, value})."""
        by_device: dict[str, list[dict[str, Any]]] = {}
        for c in self.commands:
            by_device.setdefault(c.device_url, []).append(
                {
                    "name": c.name,
                    "delay": c.delay,
                    "parameters": [{"type": int(infer_datatype(p)), "value": p} for p in c.masked_parameters()],
                }
            )
        return [{"deviceURL": url, "commands": cmds} for url, cmds in by_device.items()]
