"""The bundled catalogue loads, and commands are checked against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hearth.config import REPO_CONFIG_DIR
from hearth.core.catalogue import Catalogue, CatalogueError
from hearth.model.definition import CommandRejected

BEHAVIOURS = {
    "switch",
    "dimmable_light",
    "colour_light",
    "roller_shutter",
    "positionable_shutter",
    "venetian_blind",
    "awning",
    "garage_door",
    "door_lock",
    "thermostat",
    "sensor",
    "binary_sensor",
    "meter",
    "battery",
    "stack",
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(REPO_CONFIG_DIR / "controllables")


def test_every_behaviour_the_issue_names_is_covered(catalogue: Catalogue) -> None:
    assert {c.behaviour for c in catalogue.all()} == BEHAVIOURS
    ui_classes = {c.ui_class for c in catalogue.all()}
    assert {
        "Light",
        "RollerShutter",
        "DoorLock",
        "HeatingSystem",
        "TemperatureSensor",
        "ContactSensor",
        "SmokeSensor",
        "ElectricitySensor",
        "ProtocolGateway",
    } <= ui_classes
    stacks = {c.protocol for c in catalogue.all() if c.behaviour == "stack"}
    assert {"zigbee", "zwave", "rts", "ble"} <= stacks


def test_command_checks(catalogue: Catalogue) -> None:
    shutter = catalogue["zigbee:RollerShutterGenericComponent"]
    assert shutter.command("setClosure").check([40]) == [40]
    with pytest.raises(CommandRejected, match="above the maximum 100"):
        shutter.command("setClosure").check([101])
    with pytest.raises(CommandRejected, match="takes 1 parameter"):
        shutter.command("setClosure").check([])
    with pytest.raises(CommandRejected, match="No such command : fly"):
        shutter.command("fly")
    lock = catalogue["zwave:DoorLockZWaveComponent"]
    assert lock.command("setCode").sensitive_indexes == (1,)


def test_malformed_catalogue_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(
        json.dumps(
            {
                "controllables": [
                    {
                        "controllableName": "x:Y",
                        "type": "ACTUATOR",
                        "productType": 1,
                        "uiClass": "Light",
                        "commands": [{"commandName": "c", "parameters": [{"name": "p", "type": "weird"}]}],
                    }
                ]
            }
        )
    )
    with pytest.raises(CatalogueError, match=r"bad.json\[0\] \(x:Y\) commands\[0\]: .*unknown type 'weird'"):
        Catalogue.load(tmp_path)
    (tmp_path / "bad.json").write_text(
        json.dumps(
            {"controllables": [{"controllableName": "x:Y", "type": "ACTUATOR", "productType": 1, "uiClass": "Light"}]}
        )
    )
    with pytest.raises(CatalogueError, match=r"bad.json\[0\] \(x:Y\): missing field 'widget'"):
        Catalogue.load(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CatalogueError, match="bad.json: not valid JSON"):
        Catalogue.load(tmp_path)


# What a measured state's unit is, by the vendor's MeasuredValueType names (pyoverkiz's MeasuredValueType enum).
UNIT_OF_STATE = {
    "core:TemperatureState": "core:TemperatureInCelcius",
    "core:RelativeHumidityState": "core:RelativeValueInPercentage",
    "core:LuminanceState": "core:LuminanceInLux",
    "core:AtmosphericPressureState": "core:PressureInHpa",
    "core:ElectricPowerConsumptionState": "core:ElectricalPowerInW",
    "core:ElectricEnergyConsumptionState": "core:ElectricalEnergyInWh",
    "core:BatteryLevelState": "core:RelativeValueInPercentage",
    "core:CO2ConcentrationState": "core:PartsPerMillion",
    "ble:BatteryVoltageState": "core:VoltageInVolt",
}


def test_every_measured_state_is_described_by_the_unit_a_client_will_read_for_it() -> None:
    """Home Assistant's overkiz sensors take a state's unit from the attribute ``<state>MeasuredValueType``, else
    from the device-wide ``core:MeasuredValueType`` (its sensor.py): a device-wide one must be right for every
    measured state that has no attribute of its own (a radiator's °C must not reach its battery)."""
    from pathlib import Path

    from hearth.core.catalogue import Catalogue

    catalogue = Catalogue.load(Path(__file__).resolve().parents[2] / "config" / "controllables")
    for name in catalogue.names():
        controllable = catalogue[name]
        attributes = {a["name"]: a["value"] for a in controllable.attributes}
        for state in controllable.states:
            if state not in UNIT_OF_STATE:
                continue
            unit = attributes.get(f"{state}MeasuredValueType", attributes.get("core:MeasuredValueType"))
            assert unit in (None, UNIT_OF_STATE[state]), f"{name}: {state} would be read as {unit}"
