"""A seed example body as documented fields (``actionGroup.actions[].commands[].name`` -> ``string``), and the
check of an answer against them.

The seed's examples are the documentation: each key of an example object is a documented field, its example
value gives the JSON type (a number is a number, whether the example shows ``2`` or ``2.5``; ``null`` says
nothing of the type). A list documents the fields of its elements under ``[]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRESENT, MISSING, WRONG_TYPE, UNVERIFIED = "present", "missing", "wrong type", "unverified"
# An example object whose one key is this placeholder documents a map (any keys): its values are under ``{}``.
MAP_KEY = "string value"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def documented_fields(example: Any, prefix: str = "") -> dict[str, str]:
    """Every field path of an example, with its JSON type; the root itself is not a field."""
    fields: dict[str, str] = {}
    if isinstance(example, dict) and list(example) == [MAP_KEY]:
        fields[prefix + "{}"] = json_type(example[MAP_KEY])
        fields.update(documented_fields(example[MAP_KEY], prefix + "{}"))
    elif isinstance(example, dict):
        for key, value in example.items():
            path = f"{prefix}.{key}" if prefix else key
            fields[path] = json_type(value)
            fields.update(documented_fields(value, path))
    elif isinstance(example, list) and example:
        fields.update(documented_fields(example[0], prefix + "[]"))
    return fields


def _split(path: str) -> tuple[str, str]:
    """``a.b[].c`` -> (``a.b[]``, ``c``); ``[].c`` -> (``[]``, ``c``); ``c`` -> ("", ``c``)."""
    if path.endswith("{}"):
        return path[:-2], "{}"
    if "." in path:
        parent, _, key = path.rpartition(".")
        return parent, key
    if path.startswith("[]"):
        return "[]", path[2:]
    return "", path


def values_at(document: Any, path: str) -> list[Any]:
    """The values at a field path, across every element of the lists on the way."""
    current = [document]
    if not path:
        return current
    for part in path.replace("[]", ".[]").replace("{}", ".{}").split("."):
        if not part:
            continue
        found: list[Any] = []
        for value in current:
            if part == "[]":
                if isinstance(value, list):
                    found.extend(value)
            elif part == "{}":
                if isinstance(value, dict):
                    found.extend(value.values())
            elif isinstance(value, dict) and part in value:
                found.append(value[part])
        current = found
    return current


@dataclass(frozen=True)
class FieldResult:
    path: str
    documented: str
    status: str
    seen: str = ""  # the types we answered, when wrong


def check(example: Any, answer: Any) -> list[FieldResult]:
    """Each documented field of ``example`` in ``answer``: present with its type, missing, or of another type.

    A field is present when at least one object that should hold it does, and every one that does has the
    documented type (``null`` is not a value of any documented type: the seed's API leaves unset fields out).
    Unverified: no object could hold it (an empty list in the answer, a parent that is not an object).
    """
    results: list[FieldResult] = []
    for path, documented in documented_fields(example).items():
        parent, key = _split(path)
        holders = [v for v in values_at(answer, parent) if isinstance(v, dict)]
        if not holders:
            status = MISSING if _parent_missing(answer, parent) else UNVERIFIED
            results.append(FieldResult(path, documented, status))
            continue
        values = [v for h in holders for v in h.values()] if key == "{}" else [h[key] for h in holders if key in h]
        if not values and key == "{}":
            results.append(FieldResult(path, documented, UNVERIFIED))
            continue
        if not values:
            results.append(FieldResult(path, documented, MISSING))
            continue
        seen = sorted({json_type(v) for v in values})
        if documented != "null" and seen != [documented]:
            results.append(FieldResult(path, documented, WRONG_TYPE, "/".join(seen)))
        else:
            results.append(FieldResult(path, documented, PRESENT))
    return results


def _parent_missing(answer: Any, parent: str) -> bool:
    """True when the field is missing with its parent; False when an empty list on the way hides it."""
    index = parent.find("[]")
    while index != -1:
        container = parent[:index]
        lists = values_at(answer, container)
        if lists and all(isinstance(v, list) for v in lists) and not values_at(answer, container + "[]"):
            return False
        index = parent.find("[]", index + 2)
    return True
