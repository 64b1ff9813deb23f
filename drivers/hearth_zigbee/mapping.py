"""From ZCL clusters to the catalogue: which controllable an endpoint is, and how its attributes read as states.

Pure data and arithmetic on cluster and attribute ids: nothing here talks to the radio, so the mapping can be
read (and tested) without zigpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# ZCL cluster ids (ZCL spec, chapter 2 onwards).
POWER_CONFIGURATION = 0x0001
IDENTIFY = 0x0003
ON_OFF = 0x0006
LEVEL_CONTROL = 0x0008
DOOR_LOCK = 0x0101
WINDOW_COVERING = 0x0102
THERMOSTAT = 0x0201
COLOR_CONTROL = 0x0300
ILLUMINANCE = 0x0400
TEMPERATURE = 0x0402
PRESSURE = 0x0403
HUMIDITY = 0x0405
OCCUPANCY = 0x0406
IAS_ZONE = 0x0500
METERING = 0x0702
ELECTRICAL_MEASUREMENT = 0x0B04

# Home Automation device types (simple descriptor) that are lights rather than plugs or switches.
LIGHT_DEVICE_TYPES = {0x0100, 0x0101, 0x0102, 0x010C, 0x010D, 0x0210, 0x0220}
PLUG_DEVICE_TYPES = {0x0009, 0x0051, 0x010A, 0x010B}

# IAS zone types (ZCL 8.2.2.2.1.3) -> the controllable of that sensor and its state's two values.
IAS_ZONES: dict[int, tuple[str, str, str, str]] = {
    0x0015: ("zigbee:DoorSensorComponent", "core:ContactState", "open", "closed"),
    0x000D: ("zigbee:MotionSensorComponent", "core:OccupancyState", "personInside", "noPersonInside"),
    0x0028: ("zigbee:SmokeSensorComponent", "core:SmokeState", "detected", "notDetected"),
    0x002A: ("zigbee:WaterLeakageSensorComponent", "core:WaterDetectionState", "detected", "notDetected"),
}
IAS_ZONE_TYPE_ATTR = 0x0001
IAS_ZONE_STATUS_ATTR = 0x0002


@dataclass(frozen=True, slots=True)
class Function:
    """One controllable found on a device: the endpoint that carries it and the clusters it reads."""

    endpoint: int
    controllable: str
    clusters: tuple[int, ...]
    # Clusters of other endpoints whose reports this function also shows (the device's battery).
    extra: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class EndpointInfo:
    endpoint: int
    device_type: int
    in_clusters: set[int]
    # Attribute values already known (from the interview or the cache): (cluster, attr) -> value.
    cached: dict[tuple[int, int], Any] = field(default_factory=dict)


def functions_of(endpoints: Iterable[EndpointInfo]) -> list[Function]:
    """The device's functions in a fixed order (endpoint, then kind), so a re-interview numbers them alike."""
    found: list[Function] = []
    battery_ep: int | None = None
    for ep in sorted(endpoints, key=lambda e: e.endpoint):
        c = ep.in_clusters
        if POWER_CONFIGURATION in c and battery_ep is None:
            battery_ep = ep.endpoint
        if COLOR_CONTROL in c and ON_OFF in c:
            caps = ep.cached.get((COLOR_CONTROL, 0x400A))
            # ColorCapabilities bit 4: colour temperature only; bits 0/3: hue-saturation / xy.
            name = (
                "zigbee:ColorTemperatureLightComponent"
                if caps is not None and not int(caps) & 0b1011
                else "zigbee:ExtendedColorLightComponent"
            )
            found.append(Function(ep.endpoint, name, (ON_OFF, LEVEL_CONTROL, COLOR_CONTROL)))
        elif LEVEL_CONTROL in c and ON_OFF in c:
            found.append(Function(ep.endpoint, "zigbee:DimmableLightComponent", (ON_OFF, LEVEL_CONTROL)))
        elif ON_OFF in c:
            if ep.device_type in LIGHT_DEVICE_TYPES:
                name = "zigbee:OnOffLightComponent"
            elif ep.device_type in PLUG_DEVICE_TYPES or METERING in c or ELECTRICAL_MEASUREMENT in c:
                name = "zigbee:SmartPlugComponent"
            else:
                name = "zigbee:OnOffSwitchComponent"
            found.append(Function(ep.endpoint, name, (ON_OFF,)))
        if WINDOW_COVERING in c:
            kind = ep.cached.get((WINDOW_COVERING, 0x0000))
            # WindowCoveringType 6..8: blinds with tilt.
            name = (
                "zigbee:VenetianBlindComponent"
                if kind is not None and int(kind) in (6, 7, 8)
                else "zigbee:RollerShutterGenericComponent"
            )
            found.append(Function(ep.endpoint, name, (WINDOW_COVERING,)))
        if THERMOSTAT in c:
            found.append(Function(ep.endpoint, "zigbee:ThermostaticValveComponent", (THERMOSTAT,)))
        if DOOR_LOCK in c:
            found.append(Function(ep.endpoint, "zigbee:DoorLockComponent", (DOOR_LOCK,)))
        if METERING in c or ELECTRICAL_MEASUREMENT in c:
            found.append(
                Function(
                    ep.endpoint,
                    "zigbee:ElectricityMeterComponent",
                    tuple(x for x in (METERING, ELECTRICAL_MEASUREMENT) if x in c),
                )
            )
        if THERMOSTAT not in c:
            if TEMPERATURE in c:
                found.append(Function(ep.endpoint, "zigbee:TemperatureSensorComponent", (TEMPERATURE,)))
        if HUMIDITY in c:
            found.append(Function(ep.endpoint, "zigbee:RelativeHumidityComponent", (HUMIDITY,)))
        if PRESSURE in c:
            found.append(Function(ep.endpoint, "zigbee:PressureSensorComponent", (PRESSURE,)))
        if ILLUMINANCE in c:
            found.append(Function(ep.endpoint, "zigbee:LuminanceSensorComponent", (ILLUMINANCE,)))
        if OCCUPANCY in c:
            found.append(Function(ep.endpoint, "zigbee:MotionSensorComponent", (OCCUPANCY,)))
        if IAS_ZONE in c:
            zone = IAS_ZONES.get(int(ep.cached.get((IAS_ZONE, IAS_ZONE_TYPE_ATTR), 0x0015)))
            found.append(Function(ep.endpoint, (zone or IAS_ZONES[0x0015])[0], (IAS_ZONE,)))
    if battery_ep is not None:
        with_battery = [f for f in found if f.controllable in BATTERY_AWARE]
        if with_battery:
            found = [
                Function(f.endpoint, f.controllable, f.clusters, ((battery_ep, POWER_CONFIGURATION),))
                if f in with_battery
                else f
                for f in found
            ]
        else:
            found.append(Function(battery_ep, "zigbee:BatterySensorComponent", (POWER_CONFIGURATION,)))
    return found


# States a device of a controllable has from the start: a valve's set point bounds are those Hearth holds its
# commands to (the catalogue's 5..30 °C), it follows its set point until a preset is chosen, and its valve is
# closed until its running state says it heats (Home Assistant's overkiz climate entity needs both from the start).
FIXED_STATES: dict[str, dict[str, Any]] = {
    "zigbee:ThermostaticValveComponent": {
        "core:MinSetpointState": 5.0,
        "core:MaxSetpointState": 30.0,
        "io:DerogationHeatingModeState": "manual",
        "core:OpenClosedValveState": "closed",
    },
}

# Controllables that declare the battery states themselves.
BATTERY_AWARE = {"zigbee:DoorLockComponent", "zigbee:ThermostaticValveComponent"}


# ----------------------------------------------------------------------------- attributes -> states


def _percent_254(value: Any) -> int:
    return max(0, min(100, round(int(value) * 100 / 254)))


def battery_state(level: int) -> str:
    return "full" if level > 80 else "normal" if level > 30 else "low" if level > 10 else "verylow"


def _battery(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    if int(value) == 0xFF:  # "invalid or unknown"
        return {}
    level = max(0, min(100, round(int(value) / 2)))
    return {"core:BatteryLevelState": level, "core:BatteryState": battery_state(level)}


def _on_off(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:OnOffState": "on" if value else "off"}


def _level(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:LightIntensityState": _percent_254(value)}


def _hue(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:ColorHueState": round(int(value) * 360 / 254, 1)}


def _saturation(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:ColorSaturationState": round(int(value) * 100 / 254, 1)}


def _mireds(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    mireds = int(value)
    return {"core:ColorTemperatureState": round(1_000_000 / mireds)} if mireds > 0 else {}


def _lift(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    # ZCL lift percentage: 0 fully open, 100 fully closed; the catalogue's ClosureState reads the same way.
    closure = max(0, min(100, int(value)))
    return {"core:ClosureState": closure, "core:OpenClosedState": "closed" if closure >= 100 else "open"}


def _tilt(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:SlateOrientationState": max(0, min(100, int(value)))}


def _centi(state: str) -> Callable[[Any, Mapping[tuple[int, int], Any]], dict[str, Any]]:
    def convert(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
        if value is None or int(value) in (-0x8000, 0xFFFF, 0x8000):  # "invalid measurement"
            return {}
        return {state: round(int(value) / 100, 2)}

    return convert


def _lock(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    state = {1: "locked", 2: "unlocked"}.get(int(value))
    return {"core:LockedUnlockedState": state} if state else {}


def _pressure(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:AtmosphericPressureState": float(int(value))}  # MeasuredValue is in kPa x 10, i.e. hPa


def _illuminance(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    raw = int(value)
    return {"core:LuminanceState": 0 if raw == 0 else round(math.pow(10, (raw - 1) / 10000))}


def _running(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    # ThermostatRunningState (ZCL 6.3.2.2.3.7), bit 0: heat on, which for a radiator valve is the valve open.
    return {"core:OpenClosedValveState": "open" if int(value) & 1 else "closed"}


def _occupancy(value: Any, _: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    return {"core:OccupancyState": "personInside" if int(value) & 1 else "noPersonInside"}


def _energy(value: Any, cache: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    multiplier = int(cache.get((METERING, 0x0301), 1) or 1)
    divisor = int(cache.get((METERING, 0x0302), 1000) or 1000)
    # Summation in kWh is value * multiplier / divisor; the catalogue keeps Wh.
    return {"core:ElectricEnergyConsumptionState": round(int(value) * multiplier / divisor * 1000, 3)}


def _demand(value: Any, cache: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    multiplier = int(cache.get((METERING, 0x0301), 1) or 1)
    divisor = int(cache.get((METERING, 0x0302), 1000) or 1000)
    return {"core:ElectricPowerConsumptionState": round(int(value) * multiplier / divisor * 1000, 3)}


def _active_power(value: Any, cache: Mapping[tuple[int, int], Any]) -> dict[str, Any]:
    multiplier = int(cache.get((ELECTRICAL_MEASUREMENT, 0x0604), 1) or 1)
    divisor = int(cache.get((ELECTRICAL_MEASUREMENT, 0x0605), 1) or 1)
    return {"core:ElectricPowerConsumptionState": round(int(value) * multiplier / divisor, 3)}


Converter = Callable[[Any, Mapping[tuple[int, int], Any]], dict[str, Any]]

# (cluster, attribute) -> converter. The attributes are also those read on refreshState and reported.
ATTRIBUTES: dict[tuple[int, int], Converter] = {
    (POWER_CONFIGURATION, 0x0021): _battery,
    (ON_OFF, 0x0000): _on_off,
    (LEVEL_CONTROL, 0x0000): _level,
    (COLOR_CONTROL, 0x0000): _hue,
    (COLOR_CONTROL, 0x0001): _saturation,
    (COLOR_CONTROL, 0x0007): _mireds,
    (WINDOW_COVERING, 0x0008): _lift,
    (WINDOW_COVERING, 0x0009): _tilt,
    (THERMOSTAT, 0x0000): _centi("core:TemperatureState"),
    (THERMOSTAT, 0x0012): _centi("core:TargetTemperatureState"),
    (THERMOSTAT, 0x0029): _running,
    (DOOR_LOCK, 0x0000): _lock,
    (TEMPERATURE, 0x0000): _centi("core:TemperatureState"),
    (HUMIDITY, 0x0000): _centi("core:RelativeHumidityState"),
    (PRESSURE, 0x0000): _pressure,
    (ILLUMINANCE, 0x0000): _illuminance,
    (OCCUPANCY, 0x0000): _occupancy,
    (METERING, 0x0000): _energy,
    (METERING, 0x0400): _demand,
    (ELECTRICAL_MEASUREMENT, 0x050B): _active_power,
}

# Reporting asked of the device: (cluster, attribute) -> (min s, max s, reportable change).
REPORTING: dict[tuple[int, int], tuple[int, int, int]] = {
    (POWER_CONFIGURATION, 0x0021): (3600, 21600, 2),
    (ON_OFF, 0x0000): (0, 900, 1),
    (LEVEL_CONTROL, 0x0000): (1, 900, 1),
    (COLOR_CONTROL, 0x0007): (1, 900, 1),
    (WINDOW_COVERING, 0x0008): (1, 900, 1),
    (THERMOSTAT, 0x0000): (30, 900, 10),
    (THERMOSTAT, 0x0012): (1, 900, 10),
    (THERMOSTAT, 0x0029): (1, 900, 1),
    (DOOR_LOCK, 0x0000): (0, 900, 1),
    (TEMPERATURE, 0x0000): (30, 900, 10),
    (HUMIDITY, 0x0000): (30, 900, 50),
    (PRESSURE, 0x0000): (30, 900, 1),
    (ILLUMINANCE, 0x0000): (10, 900, 500),
    (OCCUPANCY, 0x0000): (0, 900, 1),
    (METERING, 0x0000): (30, 900, 1),
    (ELECTRICAL_MEASUREMENT, 0x050B): (5, 900, 1),
    (IAS_ZONE, IAS_ZONE_STATUS_ATTR): (0, 900, 1),
}


def ias_states(controllable: str, zone_status: int) -> dict[str, Any]:
    for name, state, active, idle in IAS_ZONES.values():
        if name == controllable:
            return {state: active if zone_status & 1 else idle}
    return {}


def listens_to(function: Function, endpoint: int, cluster: int) -> bool:
    return (function.endpoint == endpoint and cluster in function.clusters) or (endpoint, cluster) in function.extra


def states_for(
    function: Function, cluster: int, attribute: int, value: Any, cache: Mapping[tuple[int, int], Any]
) -> dict[str, Any]:
    """The states of ``function`` that one attribute value of one of its clusters gives."""
    if cluster == IAS_ZONE:
        return ias_states(function.controllable, int(value)) if attribute == IAS_ZONE_STATUS_ATTR else {}
    convert = ATTRIBUTES.get((cluster, attribute))
    if convert is None or value is None:
        return {}
    try:
        return convert(value, cache)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return {}
