"""Hearth installed as a user installs it: a plain ``pip install`` of this checkout into a venv of its own.

The dev venv has every extra and the test tools, so a dependency that only a test tool brings in (the
WebSocket library did, once) goes unnoticed there. Tests of what a person sees (the web page, live events)
run against this install instead. ``extras`` adds the radio extras a test needs, as a user with that radio
would install them; nothing of ``[dev]``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.process import REPO

# What the package is built from (pyproject.toml's packages, package data and data files, and its readme).
_PACKAGE_FILES = ("pyproject.toml", "README.md", "src", "drivers", "config")


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _copy_of_the_checkout(into: Path) -> Path:
    """The package's files copied: pip builds a local folder in place (build/ and hearth.egg-info beside
    pyproject.toml), and a build in the checkout would write there while other tests (pytest-xdist workers) start
    gateways from it, which read the entry points of the hearth.egg-info found in their working folder."""
    for name in _PACKAGE_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            into.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, into / name)
    return into


def user_install(root: Path, extras: tuple[str, ...] = ()) -> Path:
    """Build a fresh venv under ``root`` with Hearth installed from (a copy of) this checkout; returns its python."""
    source = _copy_of_the_checkout(root.with_name(root.name + "-source"))
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    target = f"{source}[{','.join(extras)}]" if extras else str(source)
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
_COMPLETE = ".hearth-user-install-complete"


def shared_user_install(tmp_path_factory: pytest.TempPathFactory, extras: tuple[str, ...] = ()) -> Path:
    """One user install per set of extras for the whole run (each takes 20 s to a minute to make), for the tests
    that only run it. Under pytest-xdist the workers of a run share it: it is made in their common temporary
    folder (xdist gives each worker a folder below it), by the first worker that needs it, the others waiting.
    """
    if extras not in _MADE:
        base = tmp_path_factory.getbasetemp()
        run_folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        root = run_folder / f"user-venv-{'-'.join(extras) or 'plain'}"
        with _exclusive(root.with_name(root.name + ".lock")):
            if not (root / _COMPLETE).exists():  # not made yet, or cut half-way by a failure: made anew
                shutil.rmtree(root, ignore_errors=True)
                shutil.rmtree(root.with_name(root.name + "-source"), ignore_errors=True)
                user_install(root, extras)
                (root / _COMPLETE).touch()
        _MADE[extras] = root / "bin" / "python"
    return _MADE[extras]


def installed_requirements(python: Path) -> list[str]:
    """The Requires-Dist lines of the installed hearth distribution, as pip resolved them."""
    code = "import importlib.metadata as m; print('\\n'.join(m.requires('hearth') or []))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
    return out.splitlines()


if __name__ == "__main__":  # python -m tests.support.user_install DIR: build one by hand
    print(user_install(Path(sys.argv[1])))
