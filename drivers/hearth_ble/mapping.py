"""From measurements (BTHome's names) to the End-User API's states, and from states to a controllable.

A BLE sensor is one device whatever it measures; its controllable (config/controllables/ble.json) is chosen
by the most telling state of its first reading: a door sensor that also sends its temperature is a contact
sensor with a temperature state, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hearth_ble.formats import Value


def _closed_open(on: Value) -> str:
    # BTHome: door/window/opening 1 = open.
    return "open" if on else "closed"


def _occupancy(on: Value) -> str:
    return "personInside" if on else "noPersonInside"


def _water(on: Value) -> str:
    return "detected" if on else "notDetected"


def _battery_state(low: Value) -> str:
    return "low" if low else "normal"


def _int(value: Value) -> int:
    return int(round(float(value)))


# Measurement -> (state, conversion). Measurements not named here are decoded but not reported.
STATES: dict[str, tuple[str, Callable[[Value], Any]]] = {
    "temperature": ("core:TemperatureState", float),
    "humidity": ("core:RelativeHumidityState", float),
    "pressure": ("core:AtmosphericPressureState", float),
    "illuminance": ("core:LuminanceState", _int),
    "co2": ("core:CO2ConcentrationState", _int),
    "battery": ("core:BatteryLevelState", _int),
    "battery_low": ("core:BatteryState", _battery_state),
    "voltage": ("ble:BatteryVoltageState", float),
    "door": ("core:ContactState", _closed_open),
    "window": ("core:ContactState", _closed_open),
    "opening": ("core:ContactState", _closed_open),
    "motion": ("core:OccupancyState", _occupancy),
    "occupancy": ("core:OccupancyState", _occupancy),
    "moisture_detected": ("core:WaterDetectionState", _water),
}

# States a configured characteristic may feed (numbers only).
NUMERIC_STATES: dict[str, Callable[[Value], Any]] = {
    state: convert for state, convert in STATES.values() if convert in (float, _int)
}

RSSI_STATE = "core:RSSILevelState"

# The first state found, in this order, picks the controllable.
CONTROLLABLES: tuple[tuple[str, str], ...] = (
    ("core:ContactState", "ble:ContactMultiSensorBLEComponent"),
    ("core:OccupancyState", "ble:OccupancyMultiSensorBLEComponent"),
    ("core:WaterDetectionState", "ble:WaterMultiSensorBLEComponent"),
    ("core:TemperatureState", "ble:ClimateSensorBLEComponent"),
    ("core:RelativeHumidityState", "ble:ClimateSensorBLEComponent"),
    ("core:CO2ConcentrationState", "ble:ClimateSensorBLEComponent"),
    ("core:AtmosphericPressureState", "ble:ClimateSensorBLEComponent"),
    ("core:LuminanceState", "ble:LightMultiSensorBLEComponent"),
)
GENERIC_CONTROLLABLE = "ble:GenericSensorBLEComponent"


def to_states(values: Mapping[str, Value]) -> dict[str, Any]:
    """The states a reading reports; where two measurements give one state (door and window), the first wins."""
    states: dict[str, Any] = {}
    for name, value in values.items():
        target = STATES.get(name)
        if target is not None and target[0] not in states:
            states[target[0]] = target[1](value)
    return states


def controllable_for(states: Iterable[str]) -> str:
    present = set(states)
    for state, controllable in CONTROLLABLES:
        if state in present:
            return controllable
    return GENERIC_CONTROLLABLE
