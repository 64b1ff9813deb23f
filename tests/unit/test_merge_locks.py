"""deploy/merge_locks.py: one constraints file for both supported Pythons, markers where their pins differ."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def merged(tmp_path: Path, freezes: dict[str, str]) -> list[str]:
    args = []
    for version, text in freezes.items():
        path = tmp_path / f"{version}.txt"
        path.write_text(text)
        args.append(f"{version}={path}")
    run = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "merge_locks.py"), *args], capture_output=True, text=True, check=True
    )
    return run.stdout.splitlines()


def test_shared_pins_stay_plain_and_the_others_get_the_boundary_marker(tmp_path: Path) -> None:
    lines = merged(
        tmp_path,
        {
            "3.13": "aiohttp==3.14.5\ncattrs==26.2.1\npyoverkiz==2.3.0\n",
            "3.11": "aiohttp==3.14.5\npyoverkiz==1.20.6\nwarrant-lite==1.0.4\n",
        },
    )
    assert lines == [
        "aiohttp==3.14.5",
        'cattrs==26.2.1; python_version >= "3.12"',
        'pyoverkiz==1.20.6; python_version < "3.12"',
        'pyoverkiz==2.3.0; python_version >= "3.12"',
        'warrant-lite==1.0.4; python_version < "3.12"',
    ]


def test_the_lock_in_the_repository_is_in_the_merged_form(tmp_path: Path) -> None:
    # Split constraints.txt back into what each Python resolves and merge again: the same file comes out.
    text = (ROOT / "constraints.txt").read_text()
    per_python: dict[str, list[str]] = {"3.11": [], "3.13": []}
    for line in text.splitlines():
        pin, _, condition = line.partition(";")
        for version in per_python:
            if not condition or (version == "3.11") == ("<" in condition):
                per_python[version].append(pin.strip())
    assert merged(tmp_path, {v: "\n".join(pins) + "\n" for v, pins in per_python.items()}) == text.splitlines()
