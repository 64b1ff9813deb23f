"""The README is true to what the program prints: its commands are run and their output compared with what it
shows, where the output is the program's own (addresses, ids, times and tokens differ on every machine and are
compared as their shape).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.process import REPO, HearthProcess

pytestmark = [pytest.mark.timeout(120)]
README = (REPO / "README.md").read_text(encoding="utf-8")
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+)\s+(\S+): (.*)$")


def fenced_block(first_line: str) -> list[str]:
    """The lines of the README's code block whose first line is ``first_line`` (without it)."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    [block] = [b for b in blocks if b.startswith(first_line + "\n")]
    return block.splitlines()[1:]


def shape(line: str) -> str:
    """A printed line with what differs on each machine and run made into placeholders."""
    line = re.sub(r"hth_[A-Za-z0-9_\-]+", "<token>", line)
    line = re.sub(r"\d{4}-\d{4}-\d{4}", "<gatewayId>", line)
    line = re.sub(r"https://[^/\s]+/", "https://<address>/", line)
    line = re.sub(r"started in \d+\.\d\d s", "started in <s> s", line)
    line = re.sub(r"\[\d+\]", "[<pid>]", line)
    return re.sub(r"Data:\s+\S+", "Data: <folder>", line)


def log_records(lines: list[str]) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2), shape(m.group(3))) for line in lines if (m := _LOG_LINE.match(line))]


@pytest.fixture
def first_start(tmp_path: Path) -> HearthProcess:
    gateway = HearthProcess(tmp_path / "data")
    gateway.start(timeout=60)
    return gateway


def test_the_first_start_prints_what_the_quick_start_shows(first_start: HearthProcess) -> None:
    shown = fenced_block(".venv/bin/hearth run --config config/demo.toml")
    printed = [line.rstrip("\n") for line in first_start.output]
    first_start.stop()

    # Every migration the program applies, in its order: the README shows the same list.
    migrations = [r[2] for r in log_records(printed) if r[1] == "hearth.store.database"]
    assert [r[2] for r in log_records(shown) if r[1] == "hearth.store.database"] == migrations
    # The other log lines of the README are printed, in that order, under the same logger and level.
    others = [r for r in log_records(shown) if r[1] != "hearth.store.database"]
    printed_records = log_records(printed)
    positions = [printed_records.index(r) for r in others]  # ValueError: a README line the program does not print
    assert positions == sorted(positions), others
    # The banner (standard output), line by line.
    banner = [shape(line) for line in printed if line and not _LOG_LINE.match(line) and line != "Hearth stopping"]
    assert [shape(line) for line in shown if not _LOG_LINE.match(line)] == banner


def test_the_api_examples_answer_as_the_readme_shows(first_start: HearthProcess) -> None:
    token = first_start.first_token
    assert token
    block = fenced_block("export TOKEN=hth_...        # the first admin token that `make run` printed")
    answer = next(line for line in block if '"protocolVersion"' in line).lstrip("# ")
    errors = fenced_block(
        '{"errorCode":"UNSUPPORTED_OPERATION","error":"command \'setIntensity\' parameter 1 '
        '(intensity): 150 is above the maximum 100"}'
    )
    with httpx.Client(base_url=first_start.base_url, verify=False, timeout=10) as http:
        assert http.get("/apiVersion").text == answer
        auth = {"Authorization": f"Bearer {token}"}
        gateway = first_start.gateway_id
        dimmed = http.post(
            "/exec/apply",
            headers=auth,
            json={
                "label": "x",
                "actions": [
                    {"deviceURL": f"virtual://{gateway}/3", "commands": [{"name": "setIntensity", "parameters": [150]}]}
                ],
            },
        )
        missing = http.get(f"/setup/devices/{'virtual%3A%2F%2F' + gateway + '%2F99'}", headers=auth)
        no_token = http.get("/setup/devices")
        bad_token = http.get("/setup/devices", headers={"Authorization": "Bearer hth_" + "x" * 43})
        first_start.stop()
    printed = [dimmed.text, missing.text, no_token.text, bad_token.text]
    readme = [
        '{"errorCode":"UNSUPPORTED_OPERATION","error":"command \'setIntensity\' parameter 1 (intensity): '
        '150 is above the maximum 100"}',
        *errors,
    ]
    assert [shape(line) for line in printed] == [shape(line) for line in readme]


def _cli(*args: str, data: Path, **settings: str) -> str:
    import os

    env = dict(os.environ, HEARTH_STORE__DATA_DIR=str(data), **settings)
    result = subprocess.run(
        [sys.executable, "-m", "hearth", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_check_config_prints_what_the_configuration_section_shows(tmp_path: Path) -> None:
    [shown] = [
        line
        for line in fenced_block(".venv/bin/hearth check-config --config my.toml")
        if line.startswith("# configuration OK")
    ]
    mine = tmp_path / "my.toml"
    mine.write_text((REPO / "config" / "hearth.example.toml").read_text())  # "Start from a copy of it"
    printed = _cli(
        "check-config", "--config", str(mine), data=tmp_path / "data", HEARTH_DRIVERS__VIRTUAL__ENABLED="true"
    ).strip()
    pattern = r"configuration OK: (\S+); catalogue: (\d+) controllables; drivers: (.+)"
    readme, actual = re.fullmatch(pattern, shown.lstrip("# ")), re.fullmatch(pattern, printed)
    assert readme and actual, (shown, printed)
    assert (readme.group(2), readme.group(3)) == (actual.group(2), actual.group(3))


def test_token_list_prints_what_the_tokens_section_says(first_start: HearthProcess) -> None:
    first_start.token("view", "kitchen tablet")
    listing = first_start.cli("token", "list").splitlines()
    first_start.stop()
    [described] = [line for line in README.splitlines() if line.startswith(".venv/bin/hearth token list")]
    columns = [c.strip().lower() for c in described.split("#", 1)[1].split(",")]
    assert [c.lower() for c in re.split(r"\s{2,}", listing[0].strip())] == columns
