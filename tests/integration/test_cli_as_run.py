"""The command line as a user's install runs it: check-config loads what run loads, log levels in any case,
--log-level, the progress of backup and restore, the token list's header and dates, uvicorn's lines named
plainly.

A plain ``pip install .[rts]`` (tests.support.user_install) has no MQTT library: the bridge's extra is missing
there, as on a box where the user did not install it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.process import REPO, HearthProcess
from tests.support.user_install import shared_user_install

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="session")
def user_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_user_install(tmp_path_factory, extras=("rts",))


def hearth(
    python: Path, cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(
        [str(python), "-m", "hearth", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout
    )


def test_check_config_refuses_what_run_refuses_the_bridge_without_its_library(
    user_python: Path, tmp_path: Path
) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n[bridge]\nenabled = true\n')
    checked = hearth(user_python, tmp_path, "check-config", "--config", str(config))
    assert checked.returncode == 2, checked.stdout
    assert "configuration OK" not in checked.stdout
    assert "hearth.bridge is enabled in the configuration but its libraries are missing" in checked.stderr
    assert "pip install 'hearth[bridge]'" in checked.stderr
    ran = hearth(user_python, tmp_path, "run", "--config", str(config))
    assert ran.returncode == 2 and "pip install 'hearth[bridge]'" in ran.stderr  # the same refusal, as before


def test_log_levels_in_any_case_in_the_file_and_on_the_command_line(user_python: Path, tmp_path: Path) -> None:
    config = tmp_path / "lower.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n[log]\nlevel = "debug"\n')
    checked = hearth(user_python, tmp_path, "check-config", "--config", str(config))
    assert checked.returncode == 0 and "configuration OK" in checked.stdout, checked.stderr
    wrong = hearth(user_python, tmp_path, "run", "--config", str(config), "--log-level", "loud")
    assert wrong.returncode == 2 and "--log-level" in wrong.stderr and "DEBUG" in wrong.stderr

    # run --log-level wins over the file: WARNING hides the INFO lines the demo prints at start.
    gateway = HearthProcess(tmp_path / "data", python=user_python)
    lines = _start_and_stop(gateway, "--log-level", "warning")
    assert not [line for line in lines if " INFO " in line], lines
    lines = _start_and_stop(gateway, "--log-level", "Info")
    assert [line for line in lines if " INFO " in line]
    # uvicorn's ordinary lines are not named as errors.
    assert not [line for line in lines if "uvicorn.error" in line], lines
    assert [line for line in lines if " uvicorn: " in line and " INFO " in line], lines


def _start_and_stop(gateway: HearthProcess, *extra: str) -> list[str]:
    """Start ``hearth run <extra>`` like HearthProcess does, wait for its banner, stop it; its output lines."""
    gateway.data_dir.mkdir(parents=True, exist_ok=True)  # also the working folder of a user install's run
    proc = subprocess.Popen(
        [gateway.python, "-m", "hearth", "run", "--config", str(gateway.config), *extra],
        cwd=gateway.cwd,
        env=gateway.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("  Data:") or time.monotonic() > deadline:
                break
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=20)
    return lines + rest.splitlines(keepends=True)


def test_token_list_has_a_header_and_dates(fresh_hearth: HearthProcess) -> None:
    fresh_hearth.start()
    fresh_hearth.token("view", "kitchen tablet")
    listing = fresh_hearth.cli("token", "list").splitlines()
    assert re.match(r"^ID\s+SCOPE\s+CREATED\s+LAST USED\s+LABEL$", listing[0]), listing
    [tablet] = [line for line in listing if line.endswith("kitchen tablet")]
    today = time.strftime("%Y-%m-%d")
    assert re.search(rf"\sview\s+{today} \d\d:\d\d\s+never\s+kitchen tablet$", tablet), tablet


def test_backup_and_restore_say_how_far_they_are(fresh_hearth: HearthProcess, tmp_path: Path) -> None:
    fresh_hearth.start()
    fresh_hearth.stop()
    archive = tmp_path / "box.hbk"
    made = subprocess.run(
        [fresh_hearth.python, "-m", "hearth", "backup", "--output", str(archive), "--config", str(fresh_hearth.config)],
        cwd=REPO,
        env=fresh_hearth.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    # Not a terminal here: a start line and an end line with the size and the time it took.
    assert "writing box.hbk…" in made.stderr
    assert re.search(r"writing box\.hbk: \d+\.\d MB, \d+\.\d s \(done\)", made.stderr), made.stderr
    checked = subprocess.run(
        [fresh_hearth.python, "-m", "hearth", "restore", "--check", str(archive), "--config", str(fresh_hearth.config)],
        cwd=REPO,
        env=fresh_hearth.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert re.search(r"verifying box\.hbk \(\d+\.\d MB\): \d+\.\d s \(done\)", checked.stderr), checked.stderr


def test_doctor_of_a_plain_install_finds_the_docs_assets(user_python: Path, tmp_path: Path) -> None:
    checked = hearth(
        user_python,
        tmp_path,
        "doctor",
        "--json",
        "--config",
        str(REPO / "config" / "demo.toml"),
        env={"HEARTH_STORE__DATA_DIR": str(tmp_path / "data")},
    )
    report = {c["name"]: c for c in json.loads(checked.stdout)}
    assert report["API docs"]["status"] == "ok", report["API docs"]
