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
from enum import StrEnum
from typing import Any, Final

from hearth.alerts.geo import Point, Polygon, as_position, haversine_km


class Operator(StrEnum):
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


O, K = Operator, OperandKind
_COMPARABLE = frozenset({K.ATTRIBUTE, K.STR, K.NUM})
_NUMERIC = frozenset({K.ATTRIBUTE, K.NUM})
_LIST = frozenset({K.ATTRIBUTE, K.STRS})
_TEXT = frozenset({K.ATTRIBUTE, K.STR})

# The kinds allowed for operands 2, 3 ... (operand 1 is always an attributeId).
SIGNATURES: Final[dict[Operator, tuple[frozenset[OperandKind], ...]]] = {
    O.CHANGE: (), O.EXISTS: (), O.NOT_EXISTS: (),
    O.EQUALS: (_COMPARABLE,), O.NOT_EQUALS: (_COMPARABLE,),
    O.GREATER_THAN: (_NUMERIC,), O.LESS_THAN: (_NUMERIC,),
    O.IN: (_LIST,), O.NOT_IN: (_LIST,),
    O.CONTAINS: (_TEXT,), O.NOT_CONTAINS: (_TEXT,), O.STARTS_WITH: (_TEXT,), O.ENDS_WITH: (_TEXT,),
    O.GEO_WITHIN: (frozenset({K.STR}),), O.GEO_NOT_WITHIN: (frozenset({K.STR}),),
    O.GEO_DISTANCE_TOO_FAR: (_TEXT, frozenset({K.NUM})), O.GEO_DISTANCE_TOO_CLOSE: (_TEXT, frozenset({K.NUM})),
}
GEO_OPERATORS: Final = frozenset({O.GEO_WITHIN, O.GEO_NOT_WITHIN, O.GEO_DISTANCE_TOO_FAR, O.GEO_DISTANCE_TOO_CLOSE})


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
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def known(value: Any) -> bool:
    return value is not MISSING and value is not None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
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
        x = as_number(a)
        return None if x is None else x == float(b)
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


def apply(op: Operator, a: Any, b: Any = MISSING, c: Any = MISSING) -> bool:
    """Whether ``op`` holds for ``A``, ``B``, ``C`` (CHANGE is decided by ``changed``, not here).

    For GEO_WITHIN/NOT_WITHIN ``b`` is a parsed Polygon; for the distances a parsed POINT or a raw
    attribute value.
    """
    if op is O.EXISTS:
        return known(a)
    if op is O.NOT_EXISTS:
        return not known(a)
    if not known(a):
        return False
    if op in GEO_OPERATORS:
        if op is O.GEO_WITHIN or op is O.GEO_NOT_WITHIN:
            point: Point | None = as_position(a)
            if point is None or not isinstance(b, Polygon):
                return False
            return b.contains(point) == (op is O.GEO_WITHIN)
        delta = _distance(a, b, c)
        if delta is None:
            return False
        return delta > 0 if op is O.GEO_DISTANCE_TOO_FAR else delta < 0
    if not known(b):
        return False
    if op is O.EQUALS or op is O.NOT_EQUALS:
        equal = _equals(a, b)
        return equal is not None and equal == (op is O.EQUALS)
    if op is O.GREATER_THAN or op is O.LESS_THAN:
        x, y = as_number(a), as_number(b)
        if x is None or y is None:
            return False
        return x > y if op is O.GREATER_THAN else x < y
    if op is O.IN or op is O.NOT_IN:
        ta, options = as_text(a), _texts(b)
        if ta is None or options is None:
            return False
        return (ta in options) == (op is O.IN)
    if op is O.CONTAINS or op is O.NOT_CONTAINS:
        found = _contains(a, b)
        return found is not None and found == (op is O.CONTAINS)
    if op is O.STARTS_WITH or op is O.ENDS_WITH:
        ta, tb = as_text(a), as_text(b)
        if ta is None or tb is None:
            return False
        return ta.startswith(tb) if op is O.STARTS_WITH else ta.endswith(tb)
    if op is O.CHANGE:
        raise ValueError("CHANGE compares with the previous value: use changed()")
    raise ValueError(f"unknown operator {op!r}")
