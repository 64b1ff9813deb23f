"""Hearth installed as a user installs it: a plain ``pip install`` of this checkout into a venv of its own.

The dev venv has every extra and the test tools, so a dependency that only a test tool brings in (the
WebSocket library did, once) goes unnoticed there. Tests of what a person sees (the web page, live events)
run against this install instead. ``extras`` adds the radio extras a test needs, as a user with that radio
would install them; nothing of ``[dev]``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

from tests.support.process import REPO


def user_install(root: Path, extras: tuple[str, ...] = ()) -> Path:
    """Build a fresh venv under ``root`` with Hearth installed from this checkout; returns its python."""
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    target = f"{REPO}[{','.join(extras)}]" if extras else str(REPO)
    # Not editable: the package as its metadata declares it, files copied, dependencies resolved by pip.
    # With the project's constraints, as make run and deploy/install.sh install it.
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-input",
            "--disable-pip-version-check",
            "-c",
            str(REPO / "constraints.txt"),
            target,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install {target} failed:\n{result.stdout}\n{result.stderr}")
    return python


_MADE: dict[tuple[str, ...], Path] = {}


def shared_user_install(root_factory: Callable[[], Path], extras: tuple[str, ...] = ()) -> Path:
    """One user install per set of extras for the whole test session (each takes about a minute to make)."""
    if extras not in _MADE:
        _MADE[extras] = user_install(root_factory(), extras)
    return _MADE[extras]


def installed_requirements(python: Path) -> list[str]:
    """The Requires-Dist lines of the installed hearth distribution, as pip resolved them."""
    code = "import importlib.metadata as m; print('\\n'.join(m.requires('hearth') or []))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
    return out.splitlines()


if __name__ == "__main__":  # python -m tests.support.user_install DIR: build one by hand
    print(user_install(Path(sys.argv[1])))
