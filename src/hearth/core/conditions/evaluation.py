"""Evaluating conditions on devices: the verdict of one device, and a fresh evaluation of a whole group.

A device is *failed* when it cannot be evaluated (missing, disabled, unavailable unless the condition is on
``core:StatusState`` itself, state missing or not comparable), else *invalidating* when its state makes the
condition false, else it satisfies the condition. ``evaluate`` applies the rule of the package's docstring
afresh and says which devices and controllables decided it (the API's evaluation); the ConditionIndex uses
``device_down`` and ``state_verdict`` to keep the same truth on every state change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from hearth.core.conditions.model import STATUS_STATE, Condition, ConditionKind
from hearth.core.operators import Comparison, Incomparable
from hearth.model.device import Device
from hearth.model.events import now_ms


class Verdict(IntEnum):
    SATISFIED = 0
    INVALIDATING = 1  # the device's state makes the condition false
    FAILED = 2  # the device cannot be evaluated


_SATISFIED, _INVALIDATING, _FAILED = Verdict.SATISFIED, Verdict.INVALIDATING, Verdict.FAILED


def device_verdict(condition: Condition, device: Device | None) -> Verdict:
    """FAILED for a device that is missing, disabled, unavailable (unless the condition is on its status),
    or whose state is missing or not comparable; else SATISFIED or INVALIDATING."""
    if device is None:
        return _FAILED
    return state_verdict(condition.state_name, condition.comparison, device, device_down(device))


def device_down(device: Device) -> bool:
    """Whether the device's states cannot be trusted: disabled, unavailable, or reporting itself so."""
    if not device.available or not device.enabled:
        return True
    status = device.states.get(STATUS_STATE)
    return status is not None and status.value == "unavailable"


def state_verdict(name: str, comparison: Comparison, device: Device, down: bool) -> Verdict:
    # On the path of every state change (``down`` is worked out once per device): plain reads, the
    # compiled test looked up directly, verdicts as module constants.
    if down and name != STATUS_STATE:
        return _FAILED
    state = device.states.get(name)
    if state is None:
        return _FAILED
    value = state.value
    if value is None or value != value:  # missing, or NaN
        return _FAILED
    test = comparison.tests.get(type(value)) or comparison.test_for(value)
    try:
        return _SATISFIED if test(value) else _INVALIDATING
    except Incomparable:
        return _FAILED


@dataclass(frozen=True, slots=True)
class Evaluation:
    holds: bool
    evaluation_time: int
    failed_devices: list[str] = field(default_factory=list)
    invalidating_devices: list[str] = field(default_factory=list)
    ignored_controllables: list[str] = field(default_factory=list)
    # indexes of the conditions that cover no device at all (not on the wire; said in refusals)
    without_devices: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluationStatus": "SUCCESS" if self.holds else "FAILED",
            "evaluationTime": self.evaluation_time,
            "failedDevices": self.failed_devices,
            "invalidatingDevices": self.invalidating_devices,
            "ignoredControllables": self.ignored_controllables,
        }

    def reason(self) -> str:
        """Why the group does not hold, in words for an error message."""
        parts = []
        if self.invalidating_devices:
            parts.append("invalidating devices: " + ", ".join(self.invalidating_devices))
        if self.failed_devices:
            parts.append(
                "devices that could not be evaluated (unavailable, state missing or value not "
                "comparable): " + ", ".join(self.failed_devices)
            )
        if self.without_devices:
            where = ", ".join(f"conditions[{i}]" for i in self.without_devices)
            parts.append(f"no device in the setup for {where}")
        if self.ignored_controllables:
            parts.append("ignored controllables: " + ", ".join(self.ignored_controllables))
        return "; ".join(parts) if parts else "it holds"


def evaluate(
    conditions: Sequence[Condition],
    device: Callable[[str], Device | None],
    urls_of: Mapping[str, Collection[str]],
    now: int | None = None,
) -> Evaluation:
    """Evaluate conditions afresh: ``device(url)`` looks a device up, ``urls_of`` lists a controllable's."""
    failed: set[str] = set()
    invalidating: set[str] = set()
    ignored: dict[str, None] = {}
    without: list[int] = []
    holds = True
    for index, condition in enumerate(conditions):
        if condition.kind is ConditionKind.DEVICE:
            urls: Iterable[str] = condition.targets
        else:
            covered: list[str] = []
            for name in condition.targets:
                found = urls_of.get(name)
                if found:
                    covered.extend(found)
                else:
                    ignored[name] = None
            urls = covered
            if not covered:
                without.append(index)
                holds = False
        for url in urls:
            verdict = device_verdict(condition, device(url))
            if verdict is Verdict.FAILED:
                failed.add(url)
                holds = False
            elif verdict is Verdict.INVALIDATING:
                invalidating.add(url)
                holds = False
    return Evaluation(
        holds, now_ms() if now is None else now, sorted(failed), sorted(invalidating), list(ignored), without
    )
