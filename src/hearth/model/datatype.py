"""DataType codes of states, attributes and parameters, and how native JSON values map onto them."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any


class DataType(IntEnum):
    NONE = 0
    INTEGER = 1
    FLOAT = 2
    STRING = 3
    BLOB = 4
    DATE = 5
    BOOLEAN = 6
    PASSWORD = 9
    JSON_ARRAY = 10
    JSON_OBJECT = 11


class InvalidValue(ValueError):
    """A value that does not fit its DataType; the message says why."""


_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def infer_datatype(value: Any) -> DataType:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int):
        return DataType.INTEGER
    if isinstance(value, float):
        return DataType.FLOAT
    if isinstance(value, list):
        return DataType.JSON_ARRAY
    if isinstance(value, dict):
        return DataType.JSON_OBJECT
    if value is None:
        return DataType.NONE
    return DataType.STRING


def coerce_value(datatype: DataType, value: Any) -> Any:
    """Turn ``value`` (native JSON, or text from a URL path) into the native value of ``datatype``."""
    if datatype is DataType.INTEGER:
        if isinstance(value, bool):
            raise InvalidValue(f"{value!r} is a boolean, not an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise InvalidValue(f"{value!r} is not an integer")
    if datatype is DataType.FLOAT:
        if isinstance(value, bool):
            raise InvalidValue(f"{value!r} is a boolean, not a number")
        if isinstance(value, int | float):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise InvalidValue(f"{value!r} is not a number") from None
        else:
            raise InvalidValue(f"{value!r} is not a number")
        if result != result or result in (float("inf"), float("-inf")):
            raise InvalidValue(f"{value!r} is not a finite number")
        return result
    if datatype is DataType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise InvalidValue(f"{value!r} is not a boolean")
    if datatype in (DataType.STRING, DataType.PASSWORD, DataType.BLOB):
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise InvalidValue(f"{value!r} is not a string")
    if datatype is DataType.DATE:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value)
        raise InvalidValue(f"{value!r} is not a date in epoch milliseconds")
    if datatype in (DataType.JSON_ARRAY, DataType.JSON_OBJECT):
        expected = list if datatype is DataType.JSON_ARRAY else dict
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise InvalidValue(f"{value!r} is not JSON") from None
        if not isinstance(value, expected):
            raise InvalidValue(f"{value!r} is not a JSON {'array' if expected is list else 'object'}")
        return value
    if datatype is DataType.NONE:
        return None
    raise InvalidValue(f"unknown data type {datatype!r}")
