"""Which way a moving cover goes, for Home Assistant's ``opening`` / ``closing``.

The End-User API says *that* a closure moves (``core:MovingState``) but not which way. The bridge works it out
from what the device reports, best first: its target against its position (``core:TargetClosureState``), then
how its position changed since the last message, then where it was at rest before it started (a closed door
that moves is opening). The result travels in the device's state object as ``MOTION_KEY`` (``"opening"``,
``"closing"``, or absent when it is not moving or the way is not known), which the cover's state template reads.
The key has no ``<prefix>:`` so that it can never be taken for one of the API's states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

MOTION_KEY = "motion"
OPENING, CLOSING = "opening", "closing"

# The position state and the value at its open end: ClosureState is 0 open, DeploymentState 100 out (open).
POSITIONS = (("core:ClosureState", 0), ("core:DeploymentState", 100))
REST_STATES = ("core:OpenClosedState", "core:OpenClosedUnknownState")


@dataclass(slots=True)
class _Memory:
    position: float | None = None  # at the last message
    rest: str | None = None  # open/closed when last seen not moving
    way: str | None = None  # of the current move, once known


class MotionTracker:
    """Remembers, per device, what the way of its current move is worked out from."""

    def __init__(self) -> None:
        self._memory: dict[str, _Memory] = {}

    def forget(self, url: str) -> None:
        self._memory.pop(url, None)

    def way(self, url: str, states: Mapping[str, Any]) -> str | None:
        """``opening``, ``closing`` or None, given the device's states now; updates what is remembered."""
        memory = self._memory.setdefault(url, _Memory())
        position, open_end = _position(states)
        rest = next((states[s] for s in REST_STATES if isinstance(states.get(s), str)), None)
        if states.get("core:MovingState") is not True:
            memory.position, memory.way = position, None
            if rest in ("open", "closed"):
                memory.rest = rest
            return None
        way = memory.way
        target = states.get("core:TargetClosureState")
        if _number(target) and position is not None and target != position:
            way = OPENING if abs(target - open_end) < abs(position - open_end) else CLOSING
        elif way is None and position is not None and memory.position is not None and position != memory.position:
            way = OPENING if abs(position - open_end) < abs(memory.position - open_end) else CLOSING
        elif way is None and memory.rest is not None:
            way = OPENING if memory.rest == "closed" else CLOSING
        memory.position, memory.way = position, way
        return way


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _position(states: Mapping[str, Any]) -> tuple[float | None, int]:
    for name, open_end in POSITIONS:
        if _number(states.get(name)):
            return float(states[name]), open_end
    return None, 0
