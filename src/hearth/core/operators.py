"""The comparison operators of condition groups and trigger conditions (End-User API spellings).

Values in conditions arrive as text (``"value": "25"``); they are compared with the state in the state's
own type: numbers as numbers (exactly: an integer state against integer text compares as integers, never
through a float), booleans as booleans, JSON arrays and objects as parsed JSON (equality only), everything
else as text.
"""

from __future__ import annotations

import json
import operator as op
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from typing import Any


class ConditionOperator(StrEnum):
    """The seven operators of the End-User API's conditions (seed 003): condition groups and trigger conditions.

    Not the same thing as hearth.alerts.operators.AlertOperator, though both have EQUALS and GREATER_THAN:
    those are seed 001's 17 alert-rule operators (AirVantage), with other members (LESS_THAN where this has
    LOWER_THAN, no BETWEEN_INCLUSIVE, CHANGE, EXISTS, IN, the geo tests), other operands (attributes and
    typed valueStr/valueNum/valuesStr against a text value here) and other meanings (an alert's EQUALS compares
    numbers or texts; this one compares in the state's own type). One enum would accept in each API operators
    its seed does not define, so each is named for the rules it belongs to.
    """

    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"
    LOWER_THAN = "LOWER_THAN"
    LOWER_THAN_OR_EQUAL = "LOWER_THAN_OR_EQUAL"
    BETWEEN_INCLUSIVE = "BETWEEN_INCLUSIVE"

    @classmethod
    def parse(cls, text: str) -> ConditionOperator:
        """Accept both spellings the End-User API uses: ``GREATER_THAN`` and ``GREATERTHAN``."""
        key = str(text).upper().replace("_", "")
        operator = _BY_KEY.get(key)
        if operator is None:
            raise ValueError(f"unknown operator {text!r} (one of {', '.join(o.value for o in cls)})")
        return operator

    @property
    def needs_second_value(self) -> bool:
        return self is ConditionOperator.BETWEEN_INCLUSIVE

    @property
    def orders(self) -> bool:
        """Whether the operator compares by order (so it needs values that have one)."""
        return self is not ConditionOperator.EQUALS and self is not ConditionOperator.NOT_EQUALS


_BY_KEY = {o.value.replace("_", ""): o for o in ConditionOperator}
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


class Incomparable(ValueError):
    """The condition's value cannot be read in the state's type, or the operator does not apply to it."""


def _as_type_of(state: Any, value: Any) -> Any:
    if value is None:
        raise Incomparable("there is no value to compare with")
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
        number: int | float
        if isinstance(value, int | float):
            number = value
        else:
            text = str(value).strip()
            try:
                number = int(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    raise Incomparable(f"{value!r} is not a number") from None
        if number != number:
            raise Incomparable(f"{value!r} is not a number")
        return number
    if isinstance(state, list | dict):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise Incomparable(f"{value!r} is not JSON") from None
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # JSON's spelling, not Python's "True"
    return value if isinstance(value, str) else str(value)


# state OP value, written value-first so that functools.partial can bind the value: ``a < s`` is ``s > a``.
_REFLECTED: dict[ConditionOperator, Callable[[Any, Any], Any]] = {
    ConditionOperator.EQUALS: op.eq,
    ConditionOperator.NOT_EQUALS: op.ne,
    ConditionOperator.GREATER_THAN: op.lt,
    ConditionOperator.GREATER_THAN_OR_EQUAL: op.le,
    ConditionOperator.LOWER_THAN: op.gt,
    ConditionOperator.LOWER_THAN_OR_EQUAL: op.ge,
}
# The types a state can have (JSON's); anything else gets the slow, guarded test.
_PLAIN = (bool, int, float, str, list, dict)


def _false(_: Any) -> bool:
    return False


class Comparison:
    """An operator and its condition value(s), compiled: ``comparison(state) -> bool``.

    The values are read in the type of the state once per state type, and the test for that type is
    kept, because a condition is tested on every change of its state and reading text again each time
    would be most of the cost. Raises Incomparable as ``compare`` does; a missing state (None) satisfies
    nothing.
    """

    __slots__ = ("operator", "value1", "value2", "tests")

    def __init__(self, operator: ConditionOperator, value1: Any, value2: Any = None) -> None:
        self.operator = operator
        self.value1 = value1
        self.value2 = value2
        # state type -> the compiled test of a state of that type. Hot paths read it directly (and call
        # ``test_for`` on a miss); they must then refuse a NaN state themselves (``state != state``).
        self.tests: dict[type, Callable[[Any], bool]] = {type(None): _false}

    def __call__(self, state: Any) -> bool:
        test = self.tests.get(type(state))
        if test is None:
            test = self.test_for(state)
        if state != state:
            raise Incomparable("the state is not a number (NaN)")
        return test(state)

    def test_for(self, state: Any) -> Callable[[Any], bool]:
        """The test of states of the type of ``state``, compiled and kept."""
        test = self.tests[type(state)] = self._compile(state)
        return test

    def _compile(self, state: Any) -> Callable[[Any], bool]:
        operator = self.operator
        try:
            if operator.orders and isinstance(state, bool):
                raise Incomparable(f"{operator.value} does not apply to a boolean")
            if operator.orders and isinstance(state, list | dict):
                raise Incomparable(f"{operator.value} does not apply to a JSON value")
            a = _as_type_of(state, self.value1)
            if operator.needs_second_value:
                b = _as_type_of(state, self.value2)
                low, high = (a, b) if a <= b else (b, a)  # bounds in either order

                def test(s: Any) -> bool:
                    return bool(low <= s <= high)
            else:
                test = partial(_REFLECTED[operator], a)
        except (Incomparable, TypeError) as exc:
            return _refuse(str(exc))
        if type(state) not in _PLAIN:
            return _guarded(test)
        return test  # on JSON's types the operators give a bool

    def check(self, sample: Any) -> None:
        """Raise Incomparable if the values cannot be read for states like ``sample`` (used to validate)."""
        self(sample)


def _refuse(reason: str) -> Callable[[Any], bool]:
    def test(_: Any) -> bool:
        # A new exception each time: re-raising one instance would grow its traceback forever.
        raise Incomparable(reason)

    return test


def _guarded(test: Callable[[Any], Any]) -> Callable[[Any], bool]:
    def guarded(state: Any) -> bool:
        try:
            return bool(test(state))
        except TypeError as exc:
            raise Incomparable(str(exc)) from None

    return guarded


def compare(operator: ConditionOperator, state: Any, value1: Any, value2: Any = None) -> bool:
    """Whether ``state`` satisfies ``operator`` against the condition's value(s).

    Raises Incomparable when a value cannot be read in the state's type or the operator does not apply
    to it (ordering a boolean or a JSON value); ordering operators on text compare the text (as the
    vendor's box does); BETWEEN_INCLUSIVE takes its bounds in either order; a missing state (None)
    satisfies nothing.
    """
    return Comparison(operator, value1, value2)(state)
