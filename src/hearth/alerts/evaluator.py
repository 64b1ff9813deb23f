"""A rule, evaluated for one target: the AND of its conditions, and the attribute values behind it.

Pure: values come from a ``Resolver`` (the gateway's ``TargetView``, or a table in tests), and the memory
of CHANGE conditions is a dict the caller keeps per rule. Every condition is evaluated (no short cut), so
that a CHANGE condition remembers each value it sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from hearth.alerts.attributes import AttributeName
from hearth.alerts.operators import MISSING, AlertOperator, OperandKind, apply, as_text, changed, is_number
from hearth.alerts.rule import AlertRule, Operand
from hearth.alerts.targets import Observation

ChangeMemory = dict[tuple[int, str], Any]  # (condition index, target deviceURL) -> last value seen


class Resolver(Protocol):
    def url_of(self, target_id: str) -> str: ...

    def observe(self, url: str, name: AttributeName, function: str | None) -> Observation: ...


@dataclass(slots=True)
class Outcome:
    matched: bool
    observed: dict[tuple[str, str], Observation]  # (attribute name, deviceURL) -> what was read

    def attributes(self) -> list[dict[str, Any]]:
        """Seed 001 ``attributes``: ``[{"id", "value", "refTime"}]`` (built only when an alert needs them)."""
        return [
            {"id": {"name": name, "targetId": url}, "value": value_json(observation), "refTime": observation.ref_time}
            for (name, url), observation in self.observed.items()
        ]


def value_json(observation: Observation) -> dict[str, Any]:
    """An attribute value in seed 001's ``value`` form."""
    if observation.aggregate is not None:
        return {"valueAgg": observation.aggregate.to_json()}
    value = observation.value
    if value is MISSING or value is None:
        return {}
    if isinstance(value, bool):
        return {"valueStr": "true" if value else "false"}
    if is_number(value):
        return {"valueNum": value}
    if isinstance(value, str):
        return {"valueStr": value}
    if isinstance(value, list):
        return {"valuesStr": [t if (t := as_text(v)) is not None else json.dumps(v) for v in value]}
    return {"valueStr": json.dumps(value, separators=(",", ":"), default=str)}


def _observe(
    operand: Operand, fixed: str | None, subject: str, resolver: Resolver, observed: dict[tuple[str, str], Observation]
) -> Any:
    ref = operand.attribute
    assert ref is not None
    target_id = ref.target_id if ref.target_id is not None else fixed
    url = resolver.url_of(target_id) if target_id is not None else subject
    observation = resolver.observe(url, ref.name, operand.function)
    observed.setdefault((ref.name.text, url), observation)
    return observation.value


def evaluate(rule: AlertRule, subject: str, resolver: Resolver, memory: ChangeMemory) -> Outcome:
    matched = True
    observed: dict[tuple[str, str], Observation] = {}
    fixed = rule.fixed_target
    for index, condition in enumerate(rule.conditions):
        operands = condition.operands
        a = _observe(operands[0], fixed, subject, resolver, observed)
        if condition.operator is AlertOperator.CHANGE:
            key = (index, subject)
            holds = changed(memory.get(key, MISSING), a)
            if a is not MISSING:
                memory[key] = a
        else:
            rest: list[Any] = []
            for operand in operands[1:]:
                if operand.kind is OperandKind.ATTRIBUTE:
                    rest.append(_observe(operand, fixed, subject, resolver, observed))
                elif operand.shape is not None:
                    rest.append(operand.shape)
                else:
                    rest.append(operand.value)
            holds = apply(condition.operator, a, *rest)
        matched = matched and holds
    return Outcome(matched, observed)
