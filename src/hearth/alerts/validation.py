"""Building an AlertRule from a request body, refusing with the ``alert.rule.*`` codes of seed 001.

Checks, in order, each naming the field at fault: ``targetType`` (``incorrect.target.type``); the plain
fields; the conditions (none: ``missing.condition``, more than 10: ``condition.too.many``); per condition
the operator (``missing.operator``, also for an unknown one), the number of operands
(``invalid.number.of.operands``), one field per operand (``multiple.operand.type``), a first operand that
is an attributeId (``missing.attr.operand``), the kinds the operator accepts and the types of the values
(``invalid.operand.type``), the attribute names (``invalid.operand.type``, ``bad.voice.agg.usage``), the
functions (``invalid.function``: only on ``AGG.*``, which need one), the geo operands
(``geo.bad.attribute.id``, ``geo.invalid.wkt``), and the target ids (``unknown.target``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hearth.alerts import errors
from hearth.alerts.attributes import POSITION_ATTRIBUTE, parse_attribute
from hearth.alerts.geo import InvalidWKT, Polygon, parse_wkt
from hearth.alerts.operators import GEO_OPERATORS, SIGNATURES, AlertOperator, OperandKind, as_number, is_number
from hearth.alerts.rule import (
    FUNCTIONS,
    MAX_CONDITIONS,
    AlertRule,
    AttributeRef,
    Condition,
    NotifMode,
    Operand,
    TargetType,
)

TargetCheck = Callable[[str], bool]
MAX_TEXT = 1024


def _text(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise errors.refuse(errors.INVALID_RULE, f"{key}: must be a string of at most {MAX_TEXT} characters")
    return value


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, True)
    if value is None:
        return True
    if not isinstance(value, bool):
        raise errors.refuse(errors.INVALID_RULE, f"{key}: must be true or false")
    return value


def parse_rule(body: Any, rule_id: str, target_exists: TargetCheck | None = None) -> AlertRule:
    if not isinstance(body, dict):
        raise errors.refuse(errors.INVALID_RULE, "the body must be a JSON object: an alert rule")
    try:
        target_type = TargetType(str(body.get("targetType")))
    except ValueError:
        raise errors.refuse(
            errors.INCORRECT_TARGET_TYPE, f"targetType: {body.get('targetType')!r} is missing or not SYSTEM or COMPANY"
        ) from None
    emails = body.get("emails") or []
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise errors.refuse(errors.INVALID_RULE, "emails: must be a list of strings")
    try:
        notif_mode = NotifMode(body.get("notifMode") or NotifMode.WHEN_STATE_CHANGES)
    except ValueError:
        raise errors.refuse(
            errors.INVALID_RULE, f"notifMode: {body.get('notifMode')!r} is not one of {', '.join(NotifMode)}"
        ) from None
    conditions = body.get("conditions")
    if conditions is None or conditions == []:
        raise errors.refuse(errors.MISSING_CONDITION, "conditions: a rule needs at least one condition")
    if not isinstance(conditions, list):
        raise errors.refuse(errors.INVALID_RULE, "conditions: must be a list of conditions")
    if len(conditions) > MAX_CONDITIONS:
        raise errors.refuse(
            errors.CONDITION_TOO_MANY, f"conditions: {len(conditions)} conditions, at most {MAX_CONDITIONS} per rule"
        )
    parsed = [_condition(c, f"conditions[{i}]", target_exists) for i, c in enumerate(conditions)]
    return AlertRule(
        id=rule_id,
        target_type=target_type,
        name=_text(body, "name", ""),
        message=_text(body, "message", ""),
        conditions=parsed,
        stateful=_flag(body, "stateful"),
        active=_flag(body, "active"),
        emails=list(emails),
        notif_mode=notif_mode,
    )


def _condition(body: Any, where: str, target_exists: TargetCheck | None) -> Condition:
    if not isinstance(body, dict):
        raise errors.refuse(errors.INVALID_RULE, f"{where}: must be an object with operator and operands")
    raw_operator = body.get("operator")
    if not raw_operator:
        raise errors.refuse(errors.MISSING_OPERATOR, f"{where}.operator: a condition must have an operator")
    try:
        operator = AlertOperator(raw_operator)
    except ValueError:
        raise errors.refuse(
            errors.MISSING_OPERATOR,
            f"{where}.operator: {raw_operator!r} is not an operator ({', '.join(AlertOperator)})",
        ) from None
    signature = SIGNATURES[operator]
    raw_operands = body.get("operands")
    if not isinstance(raw_operands, list) or len(raw_operands) != 1 + len(signature):
        count = len(raw_operands) if isinstance(raw_operands, list) else 0
        raise errors.refuse(
            errors.INVALID_NUMBER_OF_OPERANDS,
            f"{where}.operands: {operator} takes {1 + len(signature)} operand(s), not {count}",
        )
    operands = [_operand(o, f"{where}.operands[{i}]") for i, o in enumerate(raw_operands)]
    if operands[0].kind is not OperandKind.ATTRIBUTE:
        raise errors.refuse(
            errors.MISSING_ATTR_OPERAND, f"{where}.operands[0]: the first operand must be an attributeId"
        )
    for i, (operand, allowed) in enumerate(zip(operands[1:], signature, strict=True), start=1):
        if operand.kind not in allowed:
            raise errors.refuse(
                errors.INVALID_OPERAND_TYPE,
                f"{where}.operands[{i}]: {operator} takes {' or '.join(sorted(allowed))} here, not {operand.kind}",
            )
    for i, operand in enumerate(operands):
        _function(operand, f"{where}.operands[{i}]")
        if operand.attribute is not None and operand.attribute.target_id is not None and target_exists is not None:
            if not target_exists(operand.attribute.target_id):
                raise errors.refuse(
                    errors.UNKNOWN_TARGET,
                    f"{where}.operands[{i}].attributeId.targetId {operand.attribute.target_id!r}: "
                    "no such device (a deviceURL or a device oid)",
                )
    if operator in GEO_OPERATORS:
        _geo(operator, operands, where)
    return Condition(operator, operands)


def _operand(body: Any, where: str) -> Operand:
    if not isinstance(body, dict):
        raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}: must be an object")
    used = [k for k in OperandKind if body.get(str(k)) is not None]
    if len(used) > 1:
        raise errors.refuse(
            errors.MULTIPLE_OPERAND_TYPE,
            f"{where}: uses {', '.join(used)}; an operand is one of attributeId, valueStr, valueNum, valuesStr",
        )
    if not used:
        raise errors.refuse(
            errors.INVALID_OPERAND_TYPE, f"{where}: must use one of attributeId, valueStr, valueNum, valuesStr"
        )
    kind = used[0]
    value = body[str(kind)]
    function, function_param = body.get("function"), body.get("functionParam")
    if kind is OperandKind.ATTRIBUTE:
        if not isinstance(value, dict):
            raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}.attributeId: must be an object with a name")
        target_id = value.get("targetId")
        if target_id is not None and (not isinstance(target_id, str) or not target_id):
            raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}.attributeId.targetId: must be a string or null")
        ref = AttributeRef(target_id, parse_attribute(value.get("name"), where))
        return Operand(kind, attribute=ref, function=function, function_param=function_param)
    if kind is OperandKind.STR and not isinstance(value, str):
        raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}.valueStr: must be a string")
    if kind is OperandKind.NUM and (not is_number(value) or as_number(value) is None):
        raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}.valueNum: must be a finite number")
    if kind is OperandKind.STRS and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}.valuesStr: must be a list of strings")
    return Operand(kind, value=value, function=function, function_param=function_param)


def _function(operand: Operand, where: str) -> None:
    attribute = operand.attribute
    aggregated = attribute is not None and attribute.name.scale is not None
    if operand.function is None:
        if aggregated:
            assert attribute is not None
            raise errors.refuse(
                errors.INVALID_FUNCTION,
                f"{where}.function: {attribute.name.text} is aggregated and needs a function ({', '.join(FUNCTIONS)})",
            )
        return
    if operand.function not in FUNCTIONS:
        raise errors.refuse(
            errors.INVALID_FUNCTION, f"{where}.function: {operand.function!r} is not one of {', '.join(FUNCTIONS)}"
        )
    if not aggregated:
        raise errors.refuse(
            errors.INVALID_FUNCTION,
            f"{where}.function: a function applies only to an AGG.<stateName>/<H|D|M> attribute",
        )


def _geo(operator: AlertOperator, operands: list[Operand], where: str) -> None:
    for i, operand in enumerate(operands[:2]):
        attribute = operand.attribute
        if attribute is not None and attribute.name.text != POSITION_ATTRIBUTE:
            raise errors.refuse(
                errors.GEO_BAD_ATTRIBUTE_ID,
                f"{where}.operands[{i}].attributeId.name: {operator} "
                f"works on {POSITION_ATTRIBUTE}, not {attribute.name.text}",
            )
    second = operands[1]
    if second.kind is not OperandKind.STR:
        return
    try:
        shape = parse_wkt(second.value)
    except InvalidWKT as exc:
        raise errors.refuse(errors.GEO_INVALID_WKT, f"{where}.operands[1].valueStr: invalid WKT: {exc}") from None
    wants_polygon = operator in (AlertOperator.GEO_WITHIN, AlertOperator.GEO_NOT_WITHIN)
    if wants_polygon != isinstance(shape, Polygon):
        expected = "a POLYGON" if wants_polygon else "a POINT"
        raise errors.refuse(errors.GEO_INVALID_WKT, f"{where}.operands[1].valueStr: {operator} needs {expected}")
    second.shape = shape
