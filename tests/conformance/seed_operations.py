"""The operations of the End-User API, read from the seed's own text (003_399fe5bf90dcba24.txt).

Each operation of the seed opens with a line ``METHOD Title /path content-type``; what follows, up to the next
such line, is its documentation: path variables (``Path Variable name`` then an example value), request
parameters, an example request body and an example response body (``Response Body (JSON)`` then JSON), the
events it generates. Sections open with a heading line (``Gateway``, ``Setup`` ...) followed by ``Expand
commands``. Nothing here is written from our code: the expected shapes are the seed's examples.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.support.seeds import ENDUSER_API, seed_text

_OPERATION = re.compile(r"^(GET|POST|PUT|DELETE|PATCH) (.+?) (/\S*) ([a-z]+/[\w.+-]+|\*/\*)$")
_HEADING = re.compile(r"^[A-Z][A-Za-z0-9&\- ]{1,40}$")

# The sections a gateway serves (issue 16); the seed's other sections are cloud accounts, partners, cameras...
GATEWAY_SECTIONS = (
    "Action Groups",
    "Action Groups Execution",
    "Condition Groups",
    "Events",
    "Setup Triggers",
    "History",
    "Setup",
    "Device",
    "Device State History",
    "Gateway",
    "Place",
    "Zone",
    "Protocol",
    "Reference Data",
    "Calendar",
    "Device Pairing Operations",
    "Zigbee protocol",
    "Z-Wave protocol",
    "RTS protocol",
    "Protocol Group",
)


@dataclass(frozen=True)
class Operation:
    section: str
    method: str
    title: str
    path: str  # as the seed writes it, with {variables}
    deprecated: bool
    line: int  # 1-based line of its METHOD line in the seed
    path_examples: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    request_params: tuple[str, ...] = field(default=(), compare=False, hash=False)
    request_body: Any = field(default=None, compare=False, hash=False)
    response_body: Any = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _json_after(lines: list[str], start: int) -> Any:
    """The JSON value whose first line is lines[start] (the seed pretty-prints it, one value per block)."""
    text = ""
    for index in range(start, min(start + 4000, len(lines))):
        text += lines[index] + "\n"
        if lines[index].rstrip().endswith(("}", "]")) or index == start:
            try:
                return json.loads(text)
            except ValueError:
                continue
    raise ValueError(f"no JSON value at seed line {start + 1}")


def _headings(lines: list[str]) -> list[tuple[int, str]]:
    """Section headings: a short title line with blank lines around it, the nearest one before ``Expand
    commands`` (a section's description may run for paragraphs between the two)."""
    found: set[tuple[int, str]] = set()
    for index, line in enumerate(lines):
        if line.strip() != "Expand commands":
            continue
        for back in range(index - 1, max(index - 60, 0), -1):
            candidate = lines[back]
            if _OPERATION.match(candidate):
                break
            if (
                _HEADING.match(candidate)
                and not lines[back - 1].strip()
                and not lines[back + 1].strip()
                and candidate not in ("Read more", "Expand commands", "OK")
            ):
                found.add((back, candidate))
                break
    return sorted(found)


def parse(text: str | None = None) -> list[Operation]:
    """Every operation of the seed, in its order, with its section."""
    lines = (text if text is not None else seed_text(ENDUSER_API)).splitlines()
    headings = _headings(lines)
    starts = [index for index, line in enumerate(lines) if _OPERATION.match(line)]
    operations: list[Operation] = []
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        match = _OPERATION.match(lines[start])
        assert match is not None
        method, title, path = match.group(1), match.group(2), match.group(3)
        section = ""
        for heading_line, name in headings:
            if heading_line < start:
                section = name
        block = lines[start:end]
        examples: dict[str, str] = {}
        params: list[str] = []
        request_body: Any = None
        response_body: Any = None
        in_response = False
        for offset, line in enumerate(block):
            absolute = start + offset
            if line.startswith("Path Variable "):
                value = block[offset + 1].strip() if offset + 1 < len(block) else ""
                examples[line[len("Path Variable ") :].strip()] = value.strip('"')
            elif line.startswith("Request Parameter "):
                params.append(line[len("Request Parameter ") :].strip())
            elif line.strip() == "Response":
                in_response = True
            elif line.strip() == "Request Body (JSON)" and not in_response and request_body is None:
                request_body = _json_after(lines, absolute + 1)
            elif line.strip() == "Response Body (JSON)" and in_response and response_body is None:
                response_body = _json_after(lines, absolute + 1)
            elif line.startswith("Generated events on method call"):
                break
        operations.append(
            Operation(
                section,
                method,
                title.split(" [DEPRECATED]")[0],
                path,
                "[DEPRECATED]" in title,
                start + 1,
                examples,
                tuple(params),
                request_body,
                response_body,
            )
        )
    return operations


def gateway_operations(text: str | None = None) -> list[Operation]:
    """The non-deprecated operations of the sections a gateway serves."""
    return [op for op in parse(text) if op.section in GATEWAY_SECTIONS and not op.deprecated]
