"""The comparison operators of condition groups and trigger conditions (End-User API spellings).

Values in conditions arrive as text (``"value": "25"``); they are compared with the state in the state's
own type: numbers as numbers, booleans as booleans, everything else as text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Operator(StrEnum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"
    LOWER_THAN = "LOWER_THAN"
    LOWER_THAN_OR_EQUAL = "LOWER_THAN_OR_EQUAL"
    BETWEEN_INCLUSIVE = "BETWEEN_INCLUSIVE"

    @classmethod
    def parse(cls, text: str) -> Operator:
        """Accept both spellings the End-User API uses: ``GREATER_THAN`` and ``GREATERTHAN``."""
        key = str(text).upper().replace("_", "")
        operator = _BY_KEY.get(key)
        if operator is None:
            raise ValueError(f"unknown operator {text!r} (one of {', '.join(o.value for o in cls)})")
        return operator

    @property
    def needs_second_value(self) -> bool:
        return self is Operator.BETWEEN_INCLUSIVE


_BY_KEY = {o.value.replace("_", ""): o for o in Operator}
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


class Incomparable(ValueError):
    """The condition's value cannot be read in the state's type."""


def _as_type_of(state: Any, value: Any) -> Any:
    if isinstance(state, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise Incomparable(f"{value!r} is not a boolean")
    if isinstance(state, int | float):
        if isinstance(value, bool):
            raise Incomparable(f"{value!r} is not a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise Incomparable(f"{value!r} is not a number") from None
    return value if isinstance(value, str) else str(value)


def compare(operator: Operator, state: Any, value1: Any, value2: Any = None) -> bool:
    """Whether ``state`` satisfies ``operator`` against the condition's value(s).

    Raises Incomparable when a value cannot be read in the state's type; ordering operators on text
    compare the text (as the vendor's box does), and a missing state (None) satisfies nothing.
    """
    if state is None:
        return False
    a = _as_type_of(state, value1)
    s: Any = float(state) if isinstance(state, int | float) and not isinstance(state, bool) else state
    if operator is Operator.EQUALS:
        return bool(s == a)
    if operator is Operator.NOT_EQUALS:
        return bool(s != a)
    if isinstance(s, bool):
        raise Incomparable(f"{operator.value} does not apply to a boolean")
    if operator is Operator.GREATER_THAN:
        return bool(s > a)
    if operator is Operator.GREATER_THAN_OR_EQUAL:
        return bool(s >= a)
    if operator is Operator.LOWER_THAN:
        return bool(s < a)
    if operator is Operator.LOWER_THAN_OR_EQUAL:
        return bool(s <= a)
    b = _as_type_of(state, value2)
    low, high = (a, b) if a <= b else (b, a)
    return bool(low <= s <= high)
