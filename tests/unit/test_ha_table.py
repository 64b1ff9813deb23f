"""The README's Home Assistant compatibility table is the one the catalogue makes (hearth.bridge.ha_table)."""

from __future__ import annotations

from pathlib import Path

from hearth.bridge.ha_table import table
from hearth.core.catalogue import Catalogue

REPO = Path(__file__).resolve().parents[2]
START, END = "<!-- ha-table:start (python -m hearth.bridge.ha_table) -->\n", "<!-- ha-table:end -->"


def test_the_readme_table_is_the_catalogues() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, "the README has lost its table markers"
    shown = readme.split(START, 1)[1].split(END, 1)[0]
    expected = table(Catalogue.load(REPO / "config" / "controllables"))
    assert shown == expected, "README out of date: run `.venv/bin/python -m hearth.bridge.ha_table` and paste it"


def test_every_controllable_has_a_row_saying_what_each_integration_gives() -> None:
    catalogue = Catalogue.load(REPO / "config" / "controllables")
    rows = table(catalogue).splitlines()[2:]
    assert len(rows) == len(catalogue.names())
    valve = next(r for r in rows if "zigbee:ThermostaticValveComponent" in r)
    assert "**climate** (target temperature, presets)" in valve  # through overkiz, as through the bridge
    assert "**climate** (modes off/heat" in valve
    blind = next(r for r in rows if "zigbee:VenetianBlindComponent" in r)
    assert blind.count("tilt") == 2
