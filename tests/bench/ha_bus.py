"""S1 against Home Assistant: its event bus and ours side by side, in one interpreter, in one run.

Home Assistant core needs Python >= 3.13, so it does not live in our venv. It is found, in this order:
1. ``BENCH_HA_PYTHON``: an interpreter that imports ``homeassistant`` (your own install);
2. the cached venv ``$XDG_CACHE_HOME/hearth-bench/ha-<version>`` (``~/.cache`` by default);
3. else that venv is made there with a Python 3.13 (``BENCH_HA_BASE_PYTHON``, else ``python3.13`` on PATH, else
   pyenv's 3.13) and ``pip install homeassistant==<version> "pycares<4.7"`` (pycares 4.7 breaks aiodns as
   Home Assistant 2025.4 pins it). Once, some minutes; later runs reuse it. ``BENCH_HA_INSTALL=0`` forbids it.
If none can be had, the rows say so (verdict "info") rather than fail the run.

The child (tests/bench/ha_bus_child.py) runs both buses in Home Assistant's interpreter, with our ``src`` on
its path: same Python, same loop, same machine, same moment. Target: Hearth >= 4x Home Assistant.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.bench.common import Results, Row

HA_VERSION = "2025.4.4"
REPO = Path(__file__).resolve().parents[2]
TARGET_RATIO = 4.0


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hearth-bench" / f"ha-{HA_VERSION}"


def _imports_ha(python: str) -> bool:
    try:
        return (
            subprocess.run([python, "-c", "import homeassistant.core"], capture_output=True, timeout=120).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _base_python() -> str | None:
    candidates = [
        os.environ.get("BENCH_HA_BASE_PYTHON"),
        shutil.which("python3.13"),
        str(Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            try:
                if (
                    subprocess.run(
                        [candidate, "-c", "import sys; assert sys.version_info >= (3, 13)"],
                        capture_output=True,
                        timeout=30,
                    ).returncode
                    == 0
                ):
                    return candidate
            except (OSError, subprocess.TimeoutExpired):
                continue
    return None


def find_home_assistant() -> tuple[str | None, str]:
    """(interpreter, how it was found), or (None, why not)."""
    own = os.environ.get("BENCH_HA_PYTHON")
    if own:
        return (own, "BENCH_HA_PYTHON") if _imports_ha(own) else (None, f"BENCH_HA_PYTHON={own} has no homeassistant")
    venv = _cache_dir()
    python = venv / "bin" / "python"
    if python.exists() and _imports_ha(str(python)):
        return str(python), f"cached venv {venv}"
    if os.environ.get("BENCH_HA_INSTALL", "1") == "0":
        return None, "not installed and BENCH_HA_INSTALL=0"
    base = _base_python()
    if base is None:
        return None, "no Python 3.13 to install Home Assistant with (set BENCH_HA_BASE_PYTHON)"
    print(f"  installing Home Assistant {HA_VERSION} into {venv} (once) ...", flush=True)
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"homeassistant=={HA_VERSION}", "pycares<4.7"],
            check=True,
            timeout=1800,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"installing Home Assistant failed: {exc}"
    return (str(python), f"installed into {venv}") if _imports_ha(str(python)) else (None, "install incomplete")


def run(results: Results) -> None:
    python, how = find_home_assistant()
    if python is None:
        results.note(f"S1 vs Home Assistant: not measured ({how}).")
        results.add(Row("S1 vs HA", "Home Assistant not available", float("nan"), "x", "", None, None))
        return
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    done = subprocess.run(
        [python, str(Path(__file__).with_name("ha_bus_child.py"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    if done.returncode != 0:
        results.errors.append(f"S1 vs Home Assistant: the child failed:\n{done.stderr[-2000:]}")
        return
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for label, case in figures["cases"].items():
        results.add(Row("S1 vs HA", f"bus, {label}: Hearth", case["hearth"], "ev/s", "", None, case["home_assistant"]))
        results.add(
            Row(
                "S1 vs HA",
                f"  Hearth / Home Assistant, {label}",
                case["hearth"] / case["home_assistant"],
                "x",
                ">=",
                TARGET_RATIO,
                None,
            )
        )
    results.note(
        f"S1 vs HA: Home Assistant {figures['home_assistant']} ({how}) and Hearth's bus in one Python "
        f"{figures['python']} process, interleaved, best of 3, rates per CPU second of the thread; "
        f"baseline column = Home Assistant's rate."
    )
    if sys.version_info[:2] != tuple(int(x) for x in figures["python"].split(".")[:2]):
        results.note(
            f"S1 vs HA: this run's own S1 rows are on Python {sys.version.split()[0]}; the side-by-side "
            f"rows on {figures['python']} (Home Assistant needs it)."
        )
