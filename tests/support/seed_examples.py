"""The example bodies of seed 003 (the End-User API), read from its text: an operation's request body, its
response body, and the JSON of an event it documents. Tests post these and check our answers against them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from tests.support.seeds import ENDUSER_API, seed_text

_OPERATION = re.compile(r"^(GET|POST|PUT|DELETE|PATCH) .+ (/\S+) application/json$")


@cache
def _lines() -> list[str]:
    return seed_text(ENDUSER_API).splitlines()


def _section(method: str, path: str) -> list[str]:
    """The lines documenting ``METHOD ... path`` up to the next operation."""
    lines = _lines()
    for i, line in enumerate(lines):
        match = _OPERATION.match(line)
        if match and match.group(1) == method and match.group(2) == path:
            end = next((j for j in range(i + 1, len(lines)) if _OPERATION.match(lines[j])), len(lines))
            return lines[i:end]
    raise LookupError(f"{method} {path} is not in the seed")


def _json_after(lines: list[str], marker: str) -> Any:
    for i, line in enumerate(lines):
        if line.strip() == marker:
            value, _ = json.JSONDecoder().raw_decode("\n".join(lines[i + 1 :]))
            return value
    raise LookupError(f"no {marker!r} in this operation")


def request_example(method: str, path: str) -> Any:
    return _json_after(_section(method, path), "Request Body (JSON)")


def response_example(method: str, path: str) -> Any:
    return _json_after(_section(method, path), "Response Body (JSON)")


def event_example(method: str, path: str, event: str) -> dict[str, Any]:
    lines = _section(method, path)
    for i, line in enumerate(lines):
        if line.strip() == event and i + 2 < len(lines) and lines[i + 2].strip() == "JSON":
            value, _ = json.JSONDecoder().raw_decode("\n".join(lines[i + 3 :]))
            assert isinstance(value, dict) and value.get("name") == event
            return value
    raise LookupError(f"{event} is not documented under {method} {path}")


def status_of(method: str, path: str) -> int:
    """The HTTP status the seed documents for the operation (the first code of its table)."""
    lines = _section(method, path)
    i = lines.index("Code Message Meaning")
    return int(lines[i + 1])


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def shape_mismatches(ours: Any, seed: Any, where: str = "$", *, leave_out: frozenset[str] = frozenset()) -> list[str]:
    """Every field of the seed's example missing from ours or of another JSON type (lists: their first items)."""
    if _kind(ours) != _kind(seed):
        return [f"{where}: {_kind(ours)} where the seed has {_kind(seed)}"]
    found: list[str] = []
    if isinstance(seed, dict):
        for key, value in seed.items():
            if key in leave_out:
                continue
            if key not in ours:
                found.append(f"{where}.{key}: missing")
            else:
                found += shape_mismatches(ours[key], value, f"{where}.{key}", leave_out=leave_out)
    elif isinstance(seed, list) and seed and ours:
        found += shape_mismatches(ours[0], seed[0], f"{where}[0]", leave_out=leave_out)
    return found


def trigger_type_examples() -> dict[str, dict[str, Any]]:
    """The seed's example body of each setup trigger type ("Setup Trigger Type" under POST /triggers)."""
    lines = _section("POST", "/triggers")
    start = lines.index("Setup Trigger Type") + 2
    text = "\n".join(lines[start:])
    found: dict[str, dict[str, Any]] = {}
    decoder = json.JSONDecoder()
    position = 0
    while True:
        position = text.find("{", position)
        if position < 0:
            break
        value, end = decoder.raw_decode(text, position)
        if isinstance(value, dict) and len(value) == 1:
            found.update(value)
        position = end
    return found
