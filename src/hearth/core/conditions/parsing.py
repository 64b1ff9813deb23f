"""Reading a condition group as a client sends it, and checking its conditions against the catalogue.

``parse_group`` validates the body alone (every error names its field, as the client wrote it);
``misfit`` says why a condition can never be tested on a state of a given type, so a group that could
never hold is refused when it is written rather than failing on every evaluation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from hearth.core.conditions.model import (
    MAX_CONDITIONS,
    MAX_LABEL,
    MAX_METADATA,
    MAX_NAMES,
    MAX_TEXT,
    Condition,
    ConditionError,
    ConditionKind,
    GroupDefinition,
)
from hearth.core.operators import Comparison, ConditionOperator, Incomparable
from hearth.model.datatype import DataType
from hearth.model.definition import StateSpec
from hearth.model.device_url import DeviceURL, InvalidDeviceURL
from hearth.model.strict import UnknownField, refuse_unknown

_KINDS = tuple(ConditionKind)  # iterating the enum class itself is slow

# Seed 003's condition group and condition (section "Condition groups"), plus our "device" condition and the
# "value2" bound of BETWEEN_INCLUSIVE. GET gives back creationTime, lastUpdateTime and oid: a PUT may carry them.
_GROUP_FIELDS = frozenset({"label", "metadata", "conditions", "oid", "creationTime", "lastUpdateTime"})
_CONDITION_FIELDS = {
    ConditionKind.CONTROLLABLE: frozenset({"controllableNames", "stateName", "operator", "value", "value2"}),
    ConditionKind.DEVICE: frozenset({"deviceURL", "stateName", "operator", "value", "value2"}),
}


def _refuse_unknown(body: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    try:
        refuse_unknown(body, allowed, where)
    except UnknownField as exc:
        raise ConditionError(exc.where, "unknown field: not defined here") from None


def parse_group(body: Any) -> GroupDefinition:
    """Validate a condition group as a client sends it; every error names its field."""
    if not isinstance(body, Mapping):
        raise ConditionError("body", "must be a JSON object")
    _refuse_unknown(body, _GROUP_FIELDS, "")
    label = body.get("label")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise ConditionError("label", f"must be a text of at most {MAX_LABEL} characters")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > MAX_METADATA):
        raise ConditionError("metadata", f"must be a text of at most {MAX_METADATA} characters, or null")
    entries = body.get("conditions")
    if entries is None:
        raise ConditionError("conditions", "missing (a condition group is composed of one or more conditions)")
    if not isinstance(entries, list) or not entries:
        raise ConditionError("conditions", "must be a list of one or more conditions")
    if len(entries) > MAX_CONDITIONS:
        raise ConditionError("conditions", f"at most {MAX_CONDITIONS} conditions in a group")
    return GroupDefinition(
        label, metadata, tuple(parse_condition(e, f"conditions[{i}]") for i, e in enumerate(entries))
    )


def parse_condition(entry: Any, where: str) -> Condition:
    if not isinstance(entry, Mapping):
        raise ConditionError(where, 'must be a JSON object such as {"controllable": {...}}')
    kinds = [k for k in _KINDS if k.value in entry]
    if len(kinds) != 1:
        raise ConditionError(
            where,
            'must hold exactly one of "controllable" (the End-User API\'s condition) '
            'or "device" (one deviceURL, our extension)',
        )
    kind = kinds[0]
    _refuse_unknown(entry, {kind.value}, where)
    where = f"{where}.{kind.value}"
    spec = entry[kind.value]
    if not isinstance(spec, Mapping):
        raise ConditionError(where, "must be a JSON object")
    _refuse_unknown(spec, _CONDITION_FIELDS[kind], where)
    wire: dict[str, Any] = {}
    if kind is ConditionKind.CONTROLLABLE:
        names = spec.get("controllableNames")
        if names is None:
            raise ConditionError(f"{where}.controllableNames", "missing")
        if not isinstance(names, list) or not names:
            raise ConditionError(f"{where}.controllableNames", "must be a list of one or more controllable names")
        if len(names) > MAX_NAMES:
            raise ConditionError(f"{where}.controllableNames", f"at most {MAX_NAMES} names")
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_TEXT:
                raise ConditionError(f"{where}.controllableNames[{i}]", "must be a controllable name")
        targets = tuple(dict.fromkeys(names))
        wire["controllableNames"] = list(targets)
    else:
        text = spec.get("deviceURL")
        if text is None:
            raise ConditionError(f"{where}.deviceURL", "missing")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ConditionError(f"{where}.deviceURL", "must be a deviceURL")
        try:
            url = str(DeviceURL.parse(text))
        except InvalidDeviceURL as exc:
            raise ConditionError(f"{where}.deviceURL", str(exc)) from None
        targets = (url,)
        wire["deviceURL"] = url
    state_name = spec.get("stateName")
    if state_name is None:
        raise ConditionError(f"{where}.stateName", "missing")
    if not isinstance(state_name, str) or not state_name.strip() or len(state_name) > MAX_TEXT:
        raise ConditionError(f"{where}.stateName", "must be a state name such as core:TemperatureState")
    wire["stateName"] = state_name
    spelled = spec.get("operator")
    if spelled is None:
        raise ConditionError(f"{where}.operator", "missing")
    if not isinstance(spelled, str):
        raise ConditionError(f"{where}.operator", "must be a text such as GREATER_THAN or GREATERTHAN")
    try:
        operator = ConditionOperator.parse(spelled)
    except ValueError as exc:
        raise ConditionError(f"{where}.operator", str(exc)) from None
    wire["operator"] = spelled  # as the client spelled it: GET gives back what was sent
    if "value" not in spec or spec["value"] is None:
        raise ConditionError(f"{where}.value", "missing")
    value = _check_value(spec["value"], f"{where}.value")
    wire["value"] = value
    value2 = None
    if operator.needs_second_value:
        if isinstance(value, list):
            if len(value) != 2 or "value2" in spec:
                raise ConditionError(f"{where}.value", f"{operator.value} takes two bounds: [low, high]")
            value, value2 = value
            _check_value(value, f"{where}.value[0]")
            _check_value(value2, f"{where}.value[1]")
        elif spec.get("value2") is None:
            raise ConditionError(
                f"{where}.value2",
                f'{operator.value} needs a second bound ("value": [low, high], or "value" and "value2")',
            )
        else:
            value2 = wire["value2"] = _check_value(spec["value2"], f"{where}.value2")
    elif spec.get("value2") is not None:
        raise ConditionError(f"{where}.value2", f"only BETWEEN_INCLUSIVE takes a second value, not {operator.value}")
    return Condition(kind, targets, state_name, operator, Comparison(operator, value, value2), {kind.value: wire})


def _check_value(value: Any, where: str) -> Any:
    if isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ConditionError(where, f"at most {MAX_TEXT} characters")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConditionError(where, "must be a finite number")
        return value
    if isinstance(value, list | dict):
        # A JSON value, for states of type 10 and 11 (or the two bounds of BETWEEN_INCLUSIVE).
        if len(json.dumps(value)) > MAX_TEXT:
            raise ConditionError(where, f"at most {MAX_TEXT} characters of JSON")
        if _finite(value):
            return value
        raise ConditionError(where, "must hold finite numbers only")
    if value is None:
        raise ConditionError(where, "missing")
    raise ConditionError(where, "must be a text, a number, a boolean or a JSON value")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


# Values that stand for a state of each type, to check a condition's value against the catalogue.
_SAMPLES: dict[DataType, Any] = {
    DataType.INTEGER: 0,
    DataType.FLOAT: 0.0,
    DataType.STRING: "",
    DataType.BOOLEAN: False,
    DataType.JSON_ARRAY: [],
    DataType.JSON_OBJECT: {},
}


def misfit(condition: Condition, spec: StateSpec) -> tuple[str, str] | None:
    """(field, why) the condition can never be tested on a state of ``spec``, or None if it can."""
    sample = _SAMPLES.get(spec.type)
    if sample is None:
        return None
    kind = f"{spec.name} is of type {int(spec.type)}, {spec.type.name.lower()}"
    op = condition.operator
    if op.orders and spec.type in (DataType.BOOLEAN, DataType.JSON_ARRAY, DataType.JSON_OBJECT):
        return "operator", f"{op.value} does not apply ({kind}); use EQUALS or NOT_EQUALS"
    try:
        condition.comparison.check(sample)
    except Incomparable as exc:
        return "value", f"{exc} ({kind})"
    if spec.values and spec.type is DataType.STRING and not op.orders:
        value = condition.comparison.value1
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if text not in spec.values:
            return "value", f"{text!r} is never a value of {spec.name} (one of {', '.join(spec.values)})"
    return None
