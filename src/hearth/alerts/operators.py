"""The 17 operators of alert rules: their operand signatures (seed 001) and what they mean here.

``A`` is the value of the first operand (an attribute, or its aggregate component when ``function`` is
set), ``B`` and ``C`` the next ones. A value is unknown when the device, state or aggregate is absent
(``MISSING``) or when it is JSON ``null``. The semantics, which the seed leaves open apart from geo:

- A number is an int or float (never a boolean), or a text that is entirely a decimal number ("21.5").
  The text of a value is the string itself, ``true``/``false`` for booleans, ``25`` for 25 and 25.0,
  ``2.5`` for 2.5; lists, objects and unknowns have no text.
- ``EQUALS``: numeric equality when ``B`` is a number (``valueNum``, or an attribute holding a number),
  else equality of texts. ``NOT_EQUALS``: comparable that way, and not equal.
- ``GREATER_THAN``/``LESS_THAN``: strict, both numbers, else false.
- ``EXISTS``: ``A`` is known; ``NOT_EXISTS`` its negation.
- ``IN``/``NOT_IN``: the text of ``A`` is (is not) one of ``valuesStr`` (or of the texts of a list attribute,
  or equal to a scalar attribute's text).
- ``CONTAINS``: a list ``A`` has an element whose text is ``B``; a text ``A`` has ``B`` as a substring.
  ``STARTS_WITH``/``ENDS_WITH``: text prefix/suffix.
- ``GEO_WITHIN``: the position ``A`` is inside the POLYGON (edge included); ``GEO_DISTANCE_TOO_FAR``/
  ``TOO_CLOSE``: the great-circle distance from ``A`` to ``B`` (a WKT POINT or another ``DATA._LON_LAT``)
  is more (less) than ``C`` km.
- ``CHANGE``: ``A`` differs from the value this condition saw last time for the same target; a first
  observation does not fire, ``null`` to a value does.
- Every negative operator (NOT_EQUALS, NOT_IN, NOT_CONTAINS, GEO_NOT_WITHIN) is false when a side is
  unknown or of no comparable kind: a sensor that never reported raises no alert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final

from hearth.alerts.geo import Point, Polygon, as_position, haversine_km


class AlertOperator(StrEnum):
    """The 17 operators of an alert rule's conditions (seed 001, AirVantage), as the rules spell them.

    Not hearth.core.operators.ConditionOperator, the End-User API's seven condition operators (seed 003):
    the sets differ (LESS_THAN here, LOWER_THAN there; no BETWEEN_INCLUSIVE here; CHANGE, EXISTS, IN, CONTAINS
    and the geo tests only here), and so do the operands and the meaning of the members both have (see this
    module's docstring). Merged, each API would accept operators its seed does not define.
    """

    CHANGE = "CHANGE"
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    EXISTS = "EXISTS"
    NOT_EXISTS = "NOT_EXISTS"
    IN = "IN"
    NOT_IN = "NOT_IN"
    CONTAINS = "CONTAINS"
    NOT_CONTAINS = "NOT_CONTAINS"
    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    GEO_WITHIN = "GEO_WITHIN"
    GEO_NOT_WITHIN = "GEO_NOT_WITHIN"
    GEO_DISTANCE_TOO_FAR = "GEO_DISTANCE_TOO_FAR"
    GEO_DISTANCE_TOO_CLOSE = "GEO_DISTANCE_TOO_CLOSE"


class OperandKind(StrEnum):
    """The one field an operand uses."""

    ATTRIBUTE = "attributeId"
    STR = "valueStr"
    NUM = "valueNum"
    STRS = "valuesStr"


Op, K = AlertOperator, OperandKind
_COMPARABLE = frozenset({K.ATTRIBUTE, K.STR, K.NUM})
_NUMERIC = frozenset({K.ATTRIBUTE, K.NUM})
_LIST = frozenset({K.ATTRIBUTE, K.STRS})
_TEXT = frozenset({K.ATTRIBUTE, K.STR})

# The kinds allowed for operands 2, 3 ... (operand 1 is always an attributeId).
SIGNATURES: Final[dict[AlertOperator, tuple[frozenset[OperandKind], ...]]] = {
    Op.CHANGE: (),
    Op.EXISTS: (),
    Op.NOT_EXISTS: (),
    Op.EQUALS: (_COMPARABLE,),
    Op.NOT_EQUALS: (_COMPARABLE,),
    Op.GREATER_THAN: (_NUMERIC,),
    Op.LESS_THAN: (_NUMERIC,),
    Op.IN: (_LIST,),
    Op.NOT_IN: (_LIST,),
    Op.CONTAINS: (_TEXT,),
    Op.NOT_CONTAINS: (_TEXT,),
    Op.STARTS_WITH: (_TEXT,),
    Op.ENDS_WITH: (_TEXT,),
    Op.GEO_WITHIN: (frozenset({K.STR}),),
    Op.GEO_NOT_WITHIN: (frozenset({K.STR}),),
    Op.GEO_DISTANCE_TOO_FAR: (_TEXT, frozenset({K.NUM})),
    Op.GEO_DISTANCE_TOO_CLOSE: (_TEXT, frozenset({K.NUM})),
}
GEO_OPERATORS: Final = frozenset({Op.GEO_WITHIN, Op.GEO_NOT_WITHIN, Op.GEO_DISTANCE_TOO_FAR, Op.GEO_DISTANCE_TOO_CLOSE})


class _Missing:
    """An attribute with no value at all: no such device, state or data yet."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
_NUMBER_TYPES: Final = (int, float)  # exact types, as JSON gives them: a bool (an int subclass) is no number
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def known(value: Any) -> bool:
    return value is not MISSING and value is not None


def is_number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


def as_number(value: Any) -> float | None:
    kind = type(value)
    try:
        if kind in _NUMBER_TYPES:
            number = float(value)
        elif isinstance(value, str) and _DECIMAL.match(value.strip()):
            number = float(value.strip())
        else:
            return None
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return None


def _texts(value: Any) -> set[str] | None:
    if isinstance(value, list):
        return {t for t in map(as_text, value) if t is not None}
    text = as_text(value)
    return None if text is None else {text}


def same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (1 and 1.0 are the same number; True is not 1)."""
    if is_number(a) and is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def changed(previous: Any, current: Any) -> bool:
    return previous is not MISSING and current is not MISSING and not same(previous, current)


def _equals(a: Any, b: Any) -> bool | None:
    """None: not comparable (B a number and A none; or one side without a text)."""
    if is_number(b):
        x, y = as_number(a), as_number(b)
        return None if x is None or y is None else x == y
    ta, tb = as_text(a), as_text(b)
    return None if ta is None or tb is None else ta == tb


def _contains(a: Any, b: Any) -> bool | None:
    """None: not comparable."""
    tb = as_text(b)
    if tb is None:
        return None
    if isinstance(a, list):
        return any(as_text(e) == tb for e in a)
    ta = as_text(a)
    return None if ta is None else tb in ta


def _distance(a: Any, b: Any, c: Any) -> float | None:
    p = as_position(a)
    q = b if isinstance(b, tuple) else as_position(b)
    km = as_number(c)
    if p is None or q is None or km is None:
        return None
    return haversine_km(p, q) - km


def _exists(a: Any, b: Any, c: Any) -> bool:
    return a is not MISSING and a is not None


def _not_exists(a: Any, b: Any, c: Any) -> bool:
    return a is MISSING or a is None


def _equality(expected: bool) -> _Test:
    def test(a: Any, b: Any, c: Any) -> bool:
        equal = _equals(a, b)
        return equal is not None and equal == expected

    return test


def _greater(a: Any, b: Any, c: Any) -> bool:
    x, y = as_number(a), as_number(b)
    return x is not None and y is not None and x > y


def _less(a: Any, b: Any, c: Any) -> bool:
    x, y = as_number(a), as_number(b)
    return x is not None and y is not None and x < y


def _membership(expected: bool) -> _Test:
    def test(a: Any, b: Any, c: Any) -> bool:
        ta, options = as_text(a), _texts(b)
        return ta is not None and options is not None and (ta in options) == expected

    return test


def _containment(expected: bool) -> _Test:
    def test(a: Any, b: Any, c: Any) -> bool:
        found = _contains(a, b)
        return found is not None and found == expected

    return test


def _starts(a: Any, b: Any, c: Any) -> bool:
    ta, tb = as_text(a), as_text(b)
    return ta is not None and tb is not None and ta.startswith(tb)


def _ends(a: Any, b: Any, c: Any) -> bool:
    ta, tb = as_text(a), as_text(b)
    return ta is not None and tb is not None and ta.endswith(tb)


def _within(expected: bool) -> _Test:
    def test(a: Any, b: Any, c: Any) -> bool:
        point: Point | None = as_position(a)
        return point is not None and isinstance(b, Polygon) and b.contains(point) == expected

    return test


def _too_far(a: Any, b: Any, c: Any) -> bool:
    delta = _distance(a, b, c)
    return delta is not None and delta > 0


def _too_close(a: Any, b: Any, c: Any) -> bool:
    delta = _distance(a, b, c)
    return delta is not None and delta < 0


def _change(a: Any, b: Any, c: Any) -> bool:
    raise ValueError("CHANGE compares with the previous value: use changed()")


_Test = Callable[[Any, Any, Any], bool]
_TESTS: Final[dict[AlertOperator, _Test]] = {
    Op.CHANGE: _change,
    Op.EXISTS: _exists,
    Op.NOT_EXISTS: _not_exists,
    Op.EQUALS: _equality(True),
    Op.NOT_EQUALS: _equality(False),
    Op.GREATER_THAN: _greater,
    Op.LESS_THAN: _less,
    Op.IN: _membership(True),
    Op.NOT_IN: _membership(False),
    Op.CONTAINS: _containment(True),
    Op.NOT_CONTAINS: _containment(False),
    Op.STARTS_WITH: _starts,
    Op.ENDS_WITH: _ends,
    Op.GEO_WITHIN: _within(True),
    Op.GEO_NOT_WITHIN: _within(False),
    Op.GEO_DISTANCE_TOO_FAR: _too_far,
    Op.GEO_DISTANCE_TOO_CLOSE: _too_close,
}
# Operators that hold for an unknown A (the others are false on one), and those needing a known B.
_ON_UNKNOWN: Final = frozenset({Op.EXISTS, Op.NOT_EXISTS})
_NEEDS_B: Final = frozenset(SIGNATURES) - _ON_UNKNOWN - GEO_OPERATORS - {Op.CHANGE}


def apply(op: AlertOperator, a: Any, b: Any = MISSING, c: Any = MISSING) -> bool:
    """Whether ``op`` holds for ``A``, ``B``, ``C`` (CHANGE is decided by ``changed``, not here).

    For GEO_WITHIN/NOT_WITHIN ``b`` is a parsed Polygon; for the distances a parsed POINT or a raw
    attribute value.
    """
    if op not in _ON_UNKNOWN:
        if a is MISSING or a is None:
            return False
        if op in _NEEDS_B and (b is MISSING or b is None):
            return False
    return _TESTS[op](a, b, c)
