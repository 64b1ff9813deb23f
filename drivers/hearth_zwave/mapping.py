"""From zwave-js values to the catalogue: which controllables a node's endpoints are, how values read as states,
and which values a command sets.

Pure data on command-class ids and zwave-js value ids (command class, endpoint, property, property key):
nothing here talks to the server, so the mapping can be read and tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Command classes (Z-Wave Alliance, SDS13781).
BINARY_SWITCH = 0x25
MULTILEVEL_SWITCH = 0x26
BINARY_SENSOR = 0x30
MULTILEVEL_SENSOR = 0x31
METER = 0x32
COLOR_SWITCH = 0x33
THERMOSTAT_MODE = 0x40
THERMOSTAT_OPERATING_STATE = 0x42
THERMOSTAT_SETPOINT = 0x43
DOOR_LOCK = 0x62
USER_CODE = 0x63
WINDOW_COVERING = 0x6A
NOTIFICATION = 0x71
BATTERY = 0x80

# Generic device class "Multilevel Switch" with a motor-control specific class: a shutter, not a dimmer.
GENERIC_MULTILEVEL_SWITCH = 0x11
MOTOR_CONTROL_SPECIFICS = {0x05, 0x06, 0x07}

# zwave-js's property keys of electric meter values: (meter type 1 << 16) | scale.
METER_KWH = 65537
METER_W = 66049

ValueKey = tuple[int, int, Any, Any]  # (command class, endpoint, property, property key)

# Command classes whose Get takes no argument (the others are read value by value).
PLAIN_GETS = {BINARY_SWITCH, MULTILEVEL_SWITCH, BINARY_SENSOR, MULTILEVEL_SENSOR, DOOR_LOCK, BATTERY, THERMOSTAT_MODE}

ACTUATOR_CCS = {BINARY_SWITCH, MULTILEVEL_SWITCH, DOOR_LOCK, THERMOSTAT_SETPOINT, THERMOSTAT_MODE, WINDOW_COVERING}
# Colour Switch components (zwave-js property keys of currentColor / targetColor).
RED, GREEN, BLUE = 2, 3, 4
_COLOURS = {
    RED: "core:RedColorIntensityState",
    GREEN: "core:GreenColorIntensityState",
    BLUE: "core:BlueColorIntensityState",
}

# Sensors found in Notification (type, event variable) or Binary Sensor (property) values.
_NOTIFICATION_KINDS = {
    ("Access Control", "Door state"): "contact",
    ("Home Security", "Motion sensor status"): "motion",
    ("Smoke Alarm", "Sensor status"): "smoke",
    ("Water Alarm", "Sensor status"): "flood",
}
_BINARY_KINDS = {"Door/Window": "contact", "Motion": "motion", "Smoke": "smoke", "Water": "flood"}

_CONTROLLABLES = {
    "switch": "zwave:OnOffZWaveComponent",
    "plug": "zwave:SmartPlugZWaveComponent",
    "dimmer": "zwave:DimmableLightZWaveComponent",
    "color": "zwave:ColorLightZWaveComponent",
    "shutter": "zwave:RollerShutterZWaveComponent",
    "lock": "zwave:DoorLockZWaveComponent",
    "thermostat": "zwave:HeatingThermostatZWaveComponent",
    "meter": "zwave:ElectricityMeterZWaveComponent",
    "temperature": "zwave:TemperatureSensorZWaveComponent",
    "contact": "zwave:DoorWindowSensorZWaveComponent",
    "motion": "zwave:MotionSensorZWaveComponent",
    "smoke": "zwave:SmokeSensorZWaveComponent",
    "flood": "zwave:FloodSensorZWaveComponent",
    "battery": "zwave:BatterySensorZWaveComponent",
}
# Functions that show the node's battery themselves (so it is not a function of its own).
_SHOWS_BATTERY = {"lock"}

_HEATING_MODES = {"off": 0, "comfort": 1, "eco": 11, "frostprotection": 11}
_HEATING_LEVELS = {0: "off", 1: "comfort", 11: "eco"}
# setDerogation's presets as Thermostat Mode values (away heats as eco does).
_PRESET_MODES = {"comfort": 1, "eco": 11, "frostprotection": 11, "away": 11}
# States a device of a controllable has from the start: a thermostat's set point bounds are those Hearth holds its
# commands to (the catalogue's 5..30 °C), it follows its set point until its mode says otherwise, and it is not
# heating until its operating state says so (Home Assistant's overkiz climate entity needs both from the start).
FIXED_STATES: dict[str, dict[str, Any]] = {
    "zwave:HeatingThermostatZWaveComponent": {
        "core:MinSetpointState": 5.0,
        "core:MaxSetpointState": 30.0,
        "io:DerogationHeatingModeState": "manual",
        "core:OpenClosedValveState": "closed",
    },
}


@dataclass(frozen=True, slots=True)
class Function:
    """One controllable found on a node: its kind, the endpoint that carries it, the command classes it reads."""

    kind: str
    endpoint: int
    ccs: tuple[int, ...]
    # Window Covering: the parameter that positions the covering (an odd id, e.g. 13 "outbound bottom").
    parameter: int | None = None

    @property
    def controllable(self) -> str:
        return _CONTROLLABLES[self.kind]

    def reads(self, key: ValueKey) -> bool:
        cc, endpoint = key[0], key[1]
        if cc == BATTERY and self.kind in _SHOWS_BATTERY | {"battery"}:
            return True  # the battery is the node's, whichever endpoint reports it
        return cc in self.ccs and endpoint == self.endpoint


def functions_of(values: Iterable[ValueKey], generic: int | None, specific: int | None) -> list[Function]:
    """The node's functions in a fixed order (endpoint, then kind), so an interview numbers them alike."""
    keys = list(values)
    by_endpoint: dict[int, set[int]] = {}
    for cc, endpoint, _, _ in keys:
        by_endpoint.setdefault(endpoint, set()).add(cc)
    # A Multi Channel node mirrors its first endpoint's actuators on the root: the endpoints are the devices.
    multi = any(ep > 0 and ccs & ACTUATOR_CCS for ep, ccs in by_endpoint.items())
    node_ccs = set().union(*by_endpoint.values()) if by_endpoint else set()
    found: list[Function] = []
    for endpoint in sorted(by_endpoint):
        ccs = by_endpoint[endpoint]
        actuators = set() if multi and endpoint == 0 else ccs & ACTUATOR_CCS
        if DOOR_LOCK in actuators:
            found.append(Function("lock", endpoint, (DOOR_LOCK, USER_CODE)))
        if {THERMOSTAT_SETPOINT, THERMOSTAT_MODE} & actuators:
            found.append(
                Function(
                    "thermostat",
                    endpoint,
                    (THERMOSTAT_SETPOINT, THERMOSTAT_MODE, THERMOSTAT_OPERATING_STATE, MULTILEVEL_SENSOR),
                )
            )
        parameter = _covering_parameter(keys, endpoint) if WINDOW_COVERING in actuators else None
        if parameter is not None:
            found.append(Function("shutter", endpoint, (WINDOW_COVERING,), parameter))
        elif MULTILEVEL_SWITCH in actuators and COLOR_SWITCH in ccs:
            found.append(Function("color", endpoint, (MULTILEVEL_SWITCH, COLOR_SWITCH)))
        elif MULTILEVEL_SWITCH in actuators:
            shutter = generic == GENERIC_MULTILEVEL_SWITCH and specific in MOTOR_CONTROL_SPECIFICS
            found.append(Function("shutter" if shutter else "dimmer", endpoint, (MULTILEVEL_SWITCH,)))
        elif BINARY_SWITCH in actuators:
            found.append(Function("plug" if METER in node_ccs else "switch", endpoint, (BINARY_SWITCH,)))
        if METER in ccs and any(k[0] == METER and k[1] == endpoint and k[3] in (METER_KWH, METER_W) for k in keys):
            found.append(Function("meter", endpoint, (METER,)))
        thermostat_here = any(f.kind == "thermostat" and f.endpoint == endpoint for f in found)
        if (
            MULTILEVEL_SENSOR in ccs
            and not thermostat_here
            and any(k[0] == MULTILEVEL_SENSOR and k[1] == endpoint and k[2] == "Air temperature" for k in keys)
        ):
            found.append(Function("temperature", endpoint, (MULTILEVEL_SENSOR,)))
        for kind in _sensor_kinds(keys, endpoint):
            found.append(Function(kind, endpoint, (NOTIFICATION, BINARY_SENSOR)))
    if BATTERY in node_ccs and not any(f.kind in _SHOWS_BATTERY for f in found):
        found.append(Function("battery", min(ep for ep, ccs in by_endpoint.items() if BATTERY in ccs), (BATTERY,)))
    return found


def _covering_parameter(keys: list[ValueKey], endpoint: int) -> int | None:
    """The Window Covering parameter that sets a position (odd ids; even ones only move without a position)."""
    found = sorted(
        k[3]
        for k in keys
        if k[0] == WINDOW_COVERING
        and k[1] == endpoint
        and k[2] == "currentValue"
        and isinstance(k[3], int)
        and k[3] % 2 == 1
    )
    return found[0] if found else None


def _sensor_kinds(keys: list[ValueKey], endpoint: int) -> list[str]:
    kinds: list[str] = []
    for cc, ep, prop, prop_key in keys:
        if ep != endpoint:
            continue
        kind = (
            _NOTIFICATION_KINDS.get((prop, prop_key))
            if cc == NOTIFICATION
            else _BINARY_KINDS.get(prop)
            if cc == BINARY_SENSOR
            else None
        )
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    return kinds


def states_for(function: Function, key: ValueKey, value: Any, unit: str | None = None) -> dict[str, Any]:
    """The states one value gives this function ({} when the value says nothing to it)."""
    if value is None or not function.reads(key):
        return {}
    cc, _, prop, prop_key = key
    kind = function.kind
    if cc == BATTERY:
        return _battery(prop, value)
    if kind in ("switch", "plug") and prop == "currentValue":
        return {"core:OnOffState": "on" if value else "off"}
    if kind == "color" and cc == COLOR_SWITCH and prop == "currentColor" and prop_key in _COLOURS:
        return {_COLOURS[prop_key]: max(0, min(255, int(value)))}
    if kind in ("dimmer", "color") and cc == MULTILEVEL_SWITCH and prop == "currentValue":
        level = _percent(value)
        return {"core:LightIntensityState": level, "core:OnOffState": "on" if level > 0 else "off"}
    if kind == "shutter" and cc == WINDOW_COVERING and prop_key != function.parameter:
        return {}
    if kind == "shutter" and prop == "currentValue":
        closure = 100 - _percent(value)
        return {"core:ClosureState": closure, "core:OpenClosedState": "closed" if closure >= 100 else "open"}
    if kind == "shutter" and prop == "targetValue":
        return {"core:TargetClosureState": 100 - _percent(value)}
    if kind == "lock" and prop == "currentMode":
        return {"core:LockedUnlockedState": "locked" if int(value) == 0xFF else "unlocked"}
    if kind == "meter" and prop == "value":
        if prop_key == METER_KWH:
            return {"core:ElectricEnergyConsumptionState": round(float(value) * 1000)}
        if prop_key == METER_W:
            return {"core:ElectricPowerConsumptionState": float(value)}
        return {}
    if kind in ("temperature", "thermostat") and cc == MULTILEVEL_SENSOR and prop == "Air temperature":
        return {"core:TemperatureState": _celsius(value, unit)}
    if kind == "thermostat" and cc == THERMOSTAT_SETPOINT and prop == "setpoint" and prop_key == 1:
        return {"core:TargetTemperatureState": _celsius(value, unit)}
    if kind == "thermostat" and cc == THERMOSTAT_OPERATING_STATE and prop == "state":
        # Operating state 1 is "heating": the heat is on, as a valve that is open (core:OpenClosedValveState).
        return {"core:OpenClosedValveState": "open" if int(value) == 1 else "closed"}
    if kind == "thermostat" and cc == THERMOSTAT_MODE and prop == "mode":
        heating = _HEATING_LEVELS.get(int(value))
        if heating is None:
            return {}
        # The preset a client reads (io:DerogationHeatingModeState) is the mode's, except off, which is none.
        return {"core:TargetHeatingLevelState": heating} | (
            {"io:DerogationHeatingModeState": heating} if heating != "off" else {}
        )
    return _sensor_state(kind, cc, prop, prop_key, value)


def _sensor_state(kind: str, cc: int, prop: Any, prop_key: Any, value: Any) -> dict[str, Any]:
    if cc == NOTIFICATION and _NOTIFICATION_KINDS.get((prop, prop_key)) == kind:
        if kind == "contact":  # Access Control events: 22 door/window open, 23 closed
            return {"core:ContactState": "open" if int(value) == 22 else "closed"} if int(value) in (22, 23) else {}
        active = int(value) != 0
    elif cc == BINARY_SENSOR and _BINARY_KINDS.get(prop) == kind:
        active = bool(value)
    else:
        return {}
    if kind == "contact":
        return {"core:ContactState": "open" if active else "closed"}
    if kind == "motion":
        return {"core:OccupancyState": "personInside" if active else "noPersonInside"}
    name = "core:SmokeState" if kind == "smoke" else "core:WaterDetectionState"
    return {name: "detected" if active else "notDetected"}


def _battery(prop: Any, value: Any) -> dict[str, Any]:
    if prop != "level":
        return {}
    level = max(0, min(100, int(value)))
    state = "full" if level > 80 else "normal" if level > 30 else "low" if level > 10 else "verylow"
    return {"core:BatteryLevelState": level, "core:BatteryState": state}


def _percent(value: Any) -> int:
    """Multilevel switch levels are 0..99 (99 is fully on or open); the catalogue's are 0..100."""
    return 100 if int(value) >= 99 else max(0, int(value))


def _celsius(value: Any, unit: str | None) -> float:
    v = float(value)
    return round((v - 32) * 5 / 9, 2) if unit == "°F" else v


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Write:
    """One value to set: (command class, endpoint, property, property key) and the new value."""

    cc: int
    endpoint: int
    prop: Any
    prop_key: Any
    value: Any


def plan(function: Function, command: str, params: list[Any]) -> list[Write] | None:
    """The values a command sets, in order; None if this function has no such command."""
    ep, kind = function.endpoint, function.kind
    if kind in ("switch", "plug") and command in ("on", "off"):
        return [Write(BINARY_SWITCH, ep, "targetValue", None, command == "on")]
    if kind == "color" and command == "setRGB":
        colour = {"red": int(params[0]), "green": int(params[1]), "blue": int(params[2])}
        # And on, at its last level (255), as a colour sent alone to an off light means (Home Assistant sends it so).
        return [
            Write(COLOR_SWITCH, ep, "targetColor", None, colour),
            Write(MULTILEVEL_SWITCH, ep, "targetValue", None, 255),
        ]
    if kind in ("dimmer", "color"):
        if command == "on":
            return [Write(MULTILEVEL_SWITCH, ep, "targetValue", None, 255)]  # 255: back to the last level
        if command == "off":
            return [Write(MULTILEVEL_SWITCH, ep, "targetValue", None, 0)]
        if command == "setIntensity":
            return [Write(MULTILEVEL_SWITCH, ep, "targetValue", None, min(99, int(params[0])))]
    if kind == "shutter":
        # Multilevel Switch: 0 closed .. 99 open; Window Covering's position parameters alike (on the parameter).
        cc, key = (WINDOW_COVERING, function.parameter) if function.parameter is not None else (MULTILEVEL_SWITCH, None)
        if command in ("open", "up"):
            return [Write(cc, ep, "targetValue", key, 99)]
        if command in ("close", "down"):
            return [Write(cc, ep, "targetValue", key, 0)]
        if command == "setClosure":
            return [Write(cc, ep, "targetValue", key, min(99, 100 - int(params[0])))]
        if command == "stop":
            # Ending a level change stops the motor (zwave-js's Up / levelChangeUp values set to false).
            return [Write(cc, ep, "levelChangeUp" if key is not None else "Up", key, False)]
    if kind == "lock":
        if command in ("lock", "unlock"):
            return [Write(DOOR_LOCK, ep, "targetMode", None, 0xFF if command == "lock" else 0x00)]
        if command == "setCode":
            return [Write(USER_CODE, ep, "userCode", int(params[0]), str(params[1]))]
        if command == "clearCode":
            return [Write(USER_CODE, ep, "userIdStatus", int(params[0]), 0)]
    if kind == "thermostat":
        if command == "setTargetTemperature":
            return [Write(THERMOSTAT_SETPOINT, ep, "setpoint", 1, float(params[0]))]
        if command == "setHeatingLevel":
            return [Write(THERMOSTAT_MODE, ep, "mode", None, _HEATING_MODES[str(params[0])])]
        if command == "setDerogation":  # a temperature, or a preset (its mode); the other modes change nothing
            if isinstance(params[0], int | float):
                return [Write(THERMOSTAT_SETPOINT, ep, "setpoint", 1, float(params[0]))]
            preset = _PRESET_MODES.get(str(params[0]))
            return [Write(THERMOSTAT_MODE, ep, "mode", None, preset)] if preset is not None else []
    return None
