"""A real Home Assistant core against a running Hearth, set up exactly as the README says: an overkiz config entry
in local mode (host, token, ``verify_ssl: false``) and an MQTT entry on the bridge's broker. An automation drives
the demo house as a user would (set a radiator's temperature, a thermostat's preset, close a blind's tilt, a
colour on an off lamp, open the garage) and then writes every climate, cover and light state to the log, which the
test reads back: both integrations must show the same, right thing.

Home Assistant is not a dependency of the project (it needs Python 3.13 and installs for minutes), so the test
runs only when ``HEARTH_TEST_HASS`` names its ``hass``; the one it was written against:

    python3.13 -m venv /tmp/ha && /tmp/ha/bin/pip install homeassistant==2025.4.4
    HEARTH_TEST_HASS=/tmp/ha/bin/hass .venv/bin/python -m pytest tests/integration/test_home_assistant_core.py
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.peers.mosquitto import Mosquitto
from tests.support.children import die_with_parent
from tests.support.process import HearthProcess

HASS = os.environ.get("HEARTH_TEST_HASS", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not HASS, reason="HEARTH_TEST_HASS does not name a Home Assistant `hass`"),
]

AUTOMATIONS = """
automation:
  - alias: drive hearth
    triggers: [{trigger: homeassistant, event: start}]
    actions:
      - delay: 20
      - {action: climate.set_temperature, target: {entity_id: climate.bedroom_radiator}, data: {temperature: 22.5}}
      - {action: climate.set_preset_mode, target: {entity_id: climate.living_room_heating}, data: {preset_mode: eco}}
      - {action: cover.close_cover_tilt, target: {entity_id: cover.bedroom_blind}}
      - {action: light.turn_on, target: {entity_id: light.living_room_lamp}, data: {rgb_color: [255, 0, 10]}}
      - {action: cover.open_cover, target: {entity_id: cover.garage_door}}
      - delay: 15
      - action: system_log.write
        data:
          level: warning
          message: >-
            {% set all = states.climate | list + states.cover | list + states.light | list %}STATES [{% for s in all
            %}{{ [s.entity_id, s.state, s.attributes] | tojson }}{{ "," if not loop.last }}{% endfor %}]
"""


def overkiz_entry(host: str, token: str, gateway_id: str) -> dict[str, Any]:
    """The README's entry (every key of the 2025.4 store, so that it also goes into an existing file)."""
    return {
        "entry_id": "hearth",
        "domain": "overkiz",
        "title": "Hearth",
        "version": 1,
        "minor_version": 1,
        "data": {"api_type": "local", "host": host, "token": token, "verify_ssl": False},
        "unique_id": gateway_id,
        "source": "user",
        "options": {},
        "disabled_by": None,
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "discovery_keys": {},
        "subentries": [],
        "created_at": "2025-01-01T00:00:00+00:00",
        "modified_at": "2025-01-01T00:00:00+00:00",
    }


def home_assistant_config(folder: Path, entries: list[dict[str, Any]]) -> None:
    (folder / ".storage").mkdir(parents=True)
    (folder / "configuration.yaml").write_text(
        "homeassistant:\n  name: Test\n  latitude: 48.85\n  longitude: 2.35\n  elevation: 0\n"
        "  unit_system: metric\n  time_zone: UTC\n  country: FR\nlogger:\n  default: warning\n" + AUTOMATIONS
    )
    (folder / ".storage" / "core.config_entries").write_text(
        json.dumps({"version": 1, "minor_version": 5, "key": "core.config_entries", "data": {"entries": entries}})
    )


def read_states(log: Path, within: float) -> dict[str, tuple[str, dict[str, Any]]]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if "STATES " in line:
                rows = json.loads(line.split("STATES ", 1)[1])
                return {entity: (state, attributes) for entity, state, attributes in rows}
        time.sleep(1)
    raise AssertionError("Home Assistant never logged its states:\n" + log.read_text(errors="replace")[-3000:])


async def test_home_assistant_sees_and_drives_the_house_through_both_integrations(
    tmp_path: Path, broker: Mosquitto
) -> None:
    states, text = await asyncio.to_thread(run_home_assistant, tmp_path, broker.port)
    assert "Error adding entity" not in text and "Error while setting up overkiz" not in text, text[-3000:]
    # Each device twice: the overkiz entity, and the bridge's (Home Assistant adds "_2" to the second).
    for overkiz, bridge in (
        ("climate.bedroom_radiator", "climate.bedroom_radiator_2"),
        ("climate.living_room_heating", "climate.living_room_heating_2"),
    ):
        assert states[overkiz][0] == states[bridge][0] == "heat"
        assert states[overkiz][1]["temperature"] == states[bridge][1]["temperature"]
    assert states["climate.bedroom_radiator"][1]["temperature"] == 22.5
    assert states["climate.living_room_heating"][1]["preset_mode"] == "eco"
    assert states["climate.bedroom_radiator_2"][1]["current_temperature"] is not None
    for blind in ("cover.bedroom_blind", "cover.bedroom_blind_2"):
        assert states[blind][1]["current_tilt_position"] == 0  # closed, the same through both
    for lamp in ("light.living_room_lamp", "light.living_room_lamp_2"):
        assert states[lamp][0] == "on" and states[lamp][1]["rgb_color"] == [255, 0, 10]
        assert states[lamp][1]["brightness"] > 0
    assert states["cover.garage_door"][0] == states["cover.garage_door_2"][0] == "open"


def run_home_assistant(tmp_path: Path, broker_port: int) -> tuple[dict[str, tuple[str, dict[str, Any]]], str]:
    """Hearth with its bridge, then Home Assistant on it; what Home Assistant logged as its states, and its log."""
    env = {
        "HEARTH_BRIDGE__ENABLED": "true",
        "HEARTH_BRIDGE__HOST": "127.0.0.1",
        "HEARTH_BRIDGE__PORT": str(broker_port),
    }
    hearth = HearthProcess(tmp_path / "hearth", env=env)
    hearth.start(30)
    try:
        token = subprocess.run(
            [
                hearth.python,
                "-m",
                "hearth",
                "token",
                "create",
                "--config",
                str(hearth.config),
                "--scope",
                "control",
                "--label",
                "Home Assistant",
            ],
            env=hearth.env,
            cwd=hearth.cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        mqtt = {
            **overkiz_entry("", "", ""),
            "entry_id": "mqtt",
            "domain": "mqtt",
            "title": "Mosquitto",
            "unique_id": None,
            "data": {"broker": "127.0.0.1", "port": broker_port},
        }
        config = tmp_path / "ha"
        home_assistant_config(config, [overkiz_entry(f"127.0.0.1:{hearth.port}", token, hearth.gateway_id), mqtt])
        log = tmp_path / "ha.log"
        with log.open("w") as out:
            hass = subprocess.Popen(
                [HASS, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
            )
        try:
            states = read_states(log, within=300)
        finally:
            hass.terminate()
            hass.wait(60)
    finally:
        hearth.stop()
    return states, log.read_text(errors="replace")
