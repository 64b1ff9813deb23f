"""Where the seed documents are: ``shared/seeds/`` beside the checkout (CI lays a copy of shared/ there).

Tests that check our shapes against the seeds read them from here; the seed text is the judge, never our code.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.process import REPO

SEEDS = REPO.parent / "shared" / "seeds"
ENDUSER_API = SEEDS / "003_399fe5bf90dcba24.txt"  # the End-User API (the local API's contract)
BAGTOWER = SEEDS / "000_fe5cef112382d61b.txt"
AIRVANTAGE_V2 = SEEDS / "001_22a63c27e6ba656e.txt"
SMARTSOLAR = SEEDS / "002_63462f0228e2a7c0.txt"
AIRVANTAGE_V1 = SEEDS / "004_bc64ff73c4ccefb9.txt"


def seed_text(path: Path) -> str:
    """The seed's text; a clear failure (not a skip) if shared/ is not beside the checkout."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the seeds are expected in shared/seeds beside the checkout")
    return path.read_text(encoding="utf-8", errors="replace")


def json_block(text: str, marker: str, *, occurrence: int = 1, then: str = "") -> str:
    """The first JSON-like example (``{...}`` or ``[...]``) after the ``occurrence``-th ``marker`` in a seed.

    The seeds' examples are not strict JSON (comments, missing commas, ``...``, ReDoc's ``- "key":`` lines):
    only the bracket nesting is followed (not quotes: one example has ``"name: ""``), so what comes back is for
    ``example_keys`` / ``example_kind``. ``then``: a text between the marker and the example (e.g. ``>>>``).
    """
    at = -1
    for _ in range(occurrence):
        at = text.find(marker, at + 1)
        if at < 0:
            raise LookupError(f"{marker!r} is not in the seed (occurrence {occurrence})")
    if then:
        at = text.find(then, at)
        if at < 0:
            raise LookupError(f"{then!r} does not follow {marker!r}")
    start = min((i for i in (text.find("{", at), text.find("[", at)) if i >= 0), default=-1)
    if start < 0:
        raise LookupError(f"no example after {marker!r}")
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise LookupError(f"the example after {marker!r} never closes")


def example_keys(block: str) -> set[str]:
    """Every key named in an example (at any depth)."""
    return set(re.findall(r'"([A-Za-z_][\w.\-]*)"\s*:', block)) | set(re.findall(r"'([A-Za-z_][\w.\-]*)'\s*:", block))


def example_kind(block: str) -> type:
    """``list`` for an example that is a bare array, ``dict`` for an object."""
    return list if block.lstrip().startswith("[") else dict


def default_fields(text: str, marker: str) -> list[str]:
    """Seed 004's "If fields parameter is missing, only the following attributes ... are returned: a, b, c."
    after ``marker`` (an endpoint's heading)."""
    at = text.find(marker)
    found = re.compile(
        r"If fields parameter is missing, only the following attributes of the \w+ are returned: "
        r"([\w, ]+)\."
    ).search(text, at)
    if at < 0 or found is None:
        raise LookupError(f"no default fields after {marker!r}")
    return [name.strip() for name in found.group(1).split(",")]


def keys_of(value: object) -> set[str]:
    """Every key of a JSON value, at any depth (what a fake answered)."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()
