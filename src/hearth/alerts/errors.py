"""The error codes of alert rules (seed 001) and operation triggers (seed 004), as ``ApiError``s.

Every refusal is a 400 with ``{"errorCode": "<dotted code>", "error": "<message naming the field>"}``.
The seed codes are kept verbatim; the few codes marked "Hearth" are ours, for cases the seeds leave open.
"""

from __future__ import annotations

from hearth.model.errors import ApiError

# Seed 001, alert rules.
MISSING_OPERATOR = "alert.rule.missing.operator"
MULTIPLE_OPERAND_TYPE = "alert.rule.multiple.operand.type"
INVALID_NUMBER_OF_OPERANDS = "alert.rule.invalid.number.of.operands"
INVALID_OPERAND_TYPE = "alert.rule.invalid.operand.type"
GEO_INVALID_WKT = "alert.rule.geo.invalid.wkt"
GEO_BAD_ATTRIBUTE_ID = "alert.rule.geo.bad.attribute.id"
INVALID_FUNCTION = "alert.rule.invalid.function"
MISSING_ATTR_OPERAND = "alert.rule.missing.attr.operand"
TOO_MANY = "alert.rule.too.many"
CONDITION_TOO_MANY = "alert.rule.condition.too.many"
INCORRECT_TARGET_TYPE = "alert.rule.incorrect.target.type"
BAD_VOICE_AGG_USAGE = "alert.rule.bad.voice.agg.usage"
MISSING_ID = "alert.rule.missing.id"
UNKNOWN_ID = "alert.rule.unknown.id"
# Hearth: a body that is not a rule at all, a rule without conditions, a targetId naming no device.
INVALID_RULE = "alert.rule.invalid"
MISSING_CONDITION = "alert.rule.missing.condition"
UNKNOWN_TARGET = "alert.rule.unknown.target"

# Seed 001, queries.
INVALID_TIMERANGE = "system.invalid.timerange"
INVALID_CRITERIA = "alert.invalid.criteria"  # Hearth: a criteria combination the seed does not allow
UNKNOWN_ALERT = "alert.unknown"  # Hearth: GET /alerts/{uid} of no alert

# Seed 004, operation triggers.
TRIGGER_TOO_MANY = "operation.trigger.too.many"
TRIGGER_TYPE_UNKNOWN = "operation.trigger.type.unknown"
TRIGGER_OPERATION_TYPE_UNKNOWN = "operation.trigger.operation.type.unknown"
TRIGGER_PARAMETERS_INVALID = "operation.trigger.parameters.invalid"
TRIGGER_UNKNOWN = "operation.trigger.unknown"


def refuse(code: str, message: str) -> ApiError:
    """A 400 in the API's format with a dotted code of the seeds."""
    return ApiError(400, code, message)
