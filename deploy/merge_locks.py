"""Merge one `pip freeze` per supported Python into one constraints file with environment markers.

Usage: python deploy/merge_locks.py 3.11=freeze-3.11.txt 3.13=freeze-3.13.txt > constraints.txt

A pin every Python resolves alike is written as is. A pin only some resolve (pyoverkiz 1.20.6 on 3.11, 2.3.0 with
its own dependencies on 3.12+) gets a `python_version` marker. The boundary between two supported Pythons is the
minor version just above the older one (3.11 and 3.13 -> "3.12"), where the libraries that drive the split start
(pyoverkiz 2.x: Requires-Python >= 3.12). Standard library only: `make lock` runs it with any Python.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def minor(version: str) -> tuple[int, int]:
    major, minor_ = version.split(".")[:2]
    return int(major), int(minor_)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(path: Path) -> dict[str, str]:
    """{canonical name: "Name==version"} of a pip freeze (comments, blanks and markers ignored)."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split(";")[0].strip()
        if not line or line.startswith("#"):
            continue
        name, sep, _ = line.partition("==")
        if not sep:
            raise SystemExit(f"{path}: not a pin: {raw!r}")
        pins[canonical(name)] = line
    return pins


def marker(present: list[bool], boundaries: list[str]) -> str:
    """The python_version marker of a pin found on the Pythons flagged in ``present`` (a contiguous run)."""
    first = present.index(True)
    last = len(present) - 1 - present[::-1].index(True)
    if not all(present[first : last + 1]):
        raise SystemExit("a pin resolved on two Pythons but not on one between them: lock by hand")
    parts = []
    if first > 0:
        parts.append(f'python_version >= "{boundaries[first - 1]}"')
    if last < len(present) - 1:
        parts.append(f'python_version < "{boundaries[last]}"')
    return " and ".join(parts)


def merge(freezes: dict[str, dict[str, str]]) -> list[str]:
    versions = sorted(freezes, key=minor)
    boundaries = [f"{minor(v)[0]}.{minor(v)[1] + 1}" for v in versions[:-1]]
    # pip freeze's order (its names lower-cased, not canonicalised), so that a lock's diff shows only what changed.
    pins = sorted({pin for frozen in freezes.values() for pin in frozen.values()},
                  key=lambda pin: (pin.partition("==")[0].lower(), pin))
    lines = []
    for pin in pins:
        name = canonical(pin.partition("==")[0])
        present = [freezes[v].get(name) == pin for v in versions]
        condition = marker(present, boundaries)
        lines.append(f"{pin}; {condition}" if condition else pin)
    return lines


def main(argv: list[str]) -> None:
    if not argv or any("=" not in arg for arg in argv):
        raise SystemExit(__doc__)
    freezes = {version: read_freeze(Path(path)) for version, path in (arg.split("=", 1) for arg in argv)}
    print("\n".join(merge(freezes)))


if __name__ == "__main__":
    main(sys.argv[1:])
