"""Strict request models: a field the seed does not define where it is sent is refused, not dropped.

A body model derives from ``StrictModel``: an unknown key is a validation error of type ``extra_forbidden``
naming it (the API answers 400 with the field's path), floats must be finite, and text may be bounded with the
``Label`` / ``Name`` types, which refuse control characters. Hand-written parsers of bodies that are not
pydantic models use ``refuse_unknown`` and ``check_text`` for the same rules.

Why refuse rather than ignore: a client that puts ``delay`` on an action instead of on its commands means "in an
hour"; dropping the field runs the command at once, which is the wrong act.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

# RFC 8259 section 6: integers in [-(2**53)+1, 2**53-1] are the ones every JSON implementation agrees on.
# No number of the End-User API is larger (epoch milliseconds are ~1.8e12), so a larger one is refused.
MAX_JSON_NUMBER = 2**53 - 1

# C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators: none belongs in a label or
# a name (they break log lines, CSV exports, displays and the protocols a name is sent over).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class UnknownField(ValueError):
    """A key the seed does not define at this place of the body."""

    def __init__(self, where: str) -> None:
        super().__init__(f"Unknown field {where}: not defined here")
        self.where = where


def control_character(text: str) -> int | None:
    """The index of the first control character in ``text``, or None."""
    found = _CONTROL.search(text)
    return found.start() if found else None


def lone_surrogate(text: str) -> bool:
    """JSON's ``\\ud800`` escapes make text that cannot be written as UTF-8 (nor stored, nor sent)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _no_control(text: str) -> str:
    index = control_character(text)
    if index is not None:
        raise ValueError(
            f"control character U+{ord(text[index]):04X} at position {index} (not allowed in a label or a name)"
        )
    return text


def check_text(where: str, text: str) -> None:
    """For hand-written parsers: a label or a name holds no control character."""
    try:
        _no_control(text)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


# A label or a name: printable text only. Length bounds stay with each field (Field(max_length=...)).
Label = Annotated[str, AfterValidator(_no_control)]
Name = Label


def refuse_unknown(body: Mapping[str, Any], allowed: Iterable[str], where: str = "") -> None:
    """For hand-written parsers: raise UnknownField for the first key of ``body`` not in ``allowed``."""
    known = allowed if isinstance(allowed, set | frozenset) else set(allowed)
    for key in body:
        if key not in known:
            raise UnknownField(f"{where}.{key}" if where else str(key))


def finite_json(value: Any, where: str = "") -> Any:
    """``value`` with every number finite and within MAX_JSON_NUMBER, -0.0 made 0.0; ValueError otherwise.

    For fields typed ``Any`` (command parameters), which pydantic passes through unchecked.
    """
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_JSON_NUMBER:
            raise ValueError(f"{where or 'value'}: {value!r} is not a finite number within +-(2**53-1)")
        return 0.0 if value == 0 else value  # -0.0 == 0: the sign of zero is dropped
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_JSON_NUMBER:
            raise ValueError(f"{where or 'value'}: {value} is out of the range +-(2**53-1)")
        return value
    if isinstance(value, list):
        return [finite_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: finite_json(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    return value


class StrictModel(BaseModel):
    """The base of every request body model: unknown fields refused, floats finite, text bounded."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", allow_inf_nan=False, str_max_length=4096)
