"""Executions: their states, failure types with codes, and the type/subType tables."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExecutionState(StrEnum):
    INITIALIZED = "INITIALIZED"
    QUEUED_GATEWAY_SIDE = "QUEUED_GATEWAY_SIDE"
    NOT_TRANSMITTED = "NOT_TRANSMITTED"
    TRANSMITTED = "TRANSMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_final(self) -> bool:
        # A set of the two, made once: read several times per command, and on 3.11 each ExecutionState.X in
        # the method body would go through the enum's class attribute lookup.
        return self in _FINAL_STATES


_FINAL_STATES = frozenset((ExecutionState.COMPLETED, ExecutionState.FAILED))


class FailureType(IntEnum):
    """failureType name and failureTypeCode, as the End-User API's clients know them."""

    UNKNOWN = -1
    NO_FAILURE = 0
    NON_EXECUTING = 11
    ERROR_WHILE_EXECUTING = 12
    ACTUATORUNKNOWN = 101
    ACTUATORNOANSWER = 102
    ERRORREADWRITEACCESS = 103
    ERRORCOMMAND = 104
    CMDUNKNOWN = 105
    CMDCANCELLED = 106
    NOREMOTECONTROL = 107
    BAD_CMD = 111
    BAD_ADDRESS = 114
    BAD_PARAM = 115
    UNKNOWN_ERROR = 126
    INVALID_CHANNEL = 127
    INVALID_COMMAND = 128
    SERIAL_IO_ERROR = 129
    OPERATION_NOT_ALLOWED = 130
    RESTART_STACK = 131
    INTERNAL_ERROR = 136
    BUSY_RADIO_ERROR = 137
    SETUP_REQUIRED = 139
    PRIORITY_LOCK__USER = 168
    ANOTHER_COMMAND_IS_RUNNING = 180
    COMMAND_INTERRUPTED = 185
    NOT_IMPLEMENTED_YET = 300
    TIMED_OUT = 10001
    CANCELLED = 10002
    PEER_DOWN = 10005
    TIME_OUT_ON_TRANSMIT = 20001
    TIME_OUT_ON_TRANSMITTED_COMMAND = 20002
    TIME_OUT_ON_COMMAND_PROGRESS = 20003
    DEVICE_NO_ANSWER = 60004


class ExecutionType(IntEnum):
    """The int in events (``type``) and the string in history (``executionType``)."""

    IMMEDIATE = 1
    DELAYED = 2
    TECHNICAL = 3
    PLANNING = 4
    RAW_TRIGGER_GATEWAY = 5

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    ExecutionType.IMMEDIATE: "Immediate execution",
    ExecutionType.DELAYED: "Delayed execution",
    ExecutionType.TECHNICAL: "Technical execution",
    ExecutionType.PLANNING: "Planning",
    ExecutionType.RAW_TRIGGER_GATEWAY: "Raw trigger (Gateway)",
}


class ExecutionSubType(IntEnum):
    NONE = 0
    MANUAL_CONTROL = 1
    ACTION_GROUP = 2
    TIME_TRIGGER = 3
    DAWN_TRIGGER = 4
    DUSK_TRIGGER = 5
    DISCRETE_TRIGGER = 6
    IFT_CONDITION = 7
    INTERNAL = 8
    GENERIC_COMMAND_SCHEDULING = 9
    DISCRETE_TRIGGER_USER = 10
    P2P_COMMAND_REGULATION = 11  # a genericPointToPointRegulationTrigger forwarding a state

    @property
    def label(self) -> str:
        return "-" if self is ExecutionSubType.NONE else self.name
