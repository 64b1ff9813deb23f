"""What Home Assistant is told about a device: one device-based discovery message, and the command topics it names.

The message goes to ``<discovery_prefix>/device/<object id>/config`` (retained): the device block, our origin, the
shared state and availability topics, and one component per thing the device does (a light, a cover, a sensor per
measured state...), chosen from the device's controllable: its commands and states, never its protocol. States
travel as one retained JSON object per device (``{"core:OnOffState": "on", ...}``, the End-User API's names and
values); each component's templates pick its value out of it, so a state is published once whatever reads it.

Each command topic is ``<device topic>/set/<what>``; :class:`CommandRoute` turns the payload Home Assistant sends
there into the End-User API command(s) it means, and refuses (ValueError) a payload it cannot mean.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from hearth.bridge.motion import CLOSING, MOTION_KEY, OPENING
from hearth.model.definition import Controllable, StateSpec

# A command built from a payload: (command name, parameters).
CommandCall = tuple[str, list[Any]]


@dataclass(frozen=True, slots=True)
class CommandRoute:
    """The commands one command topic means, built from its payload."""

    build: Callable[[str], list[CommandCall]]


@dataclass(slots=True)
class DeviceDiscovery:
    """One device's discovery payload and the command routes its components announce (by the topic's last part)."""

    object_id: str
    payload: dict[str, Any]
    routes: dict[str, CommandRoute] = field(default_factory=dict)
    measured: frozenset[str] = frozenset()  # the measured states it announces sensors for


def object_id(gateway_id: str, device_url: str) -> str:
    """A stable id for a device in topics and unique ids: readable, and made unique by a digest of the deviceURL
    (``zigbee://g/00:0d#1`` and ``zigbee://g/00-0d#1`` would otherwise meet once both are made topic-safe)."""
    protocol, _, rest = device_url.partition("://")
    address = rest.split("/", 1)[1] if "/" in rest else rest
    readable = re.sub(r"[^A-Za-z0-9]+", "_", f"{protocol}_{address}").strip("_")[:48]
    digest = hashlib.sha1(device_url.encode()).hexdigest()[:6]
    return f"hearth_{gateway_id.replace('-', '')}_{readable}_{digest}"


def _value(state: str) -> str:
    """A template reading one state out of the device's state object (which always holds every known state)."""
    return "{{ value_json['%s'] }}" % state  # noqa: UP031


def _enum(state: str, mapping: dict[str, str]) -> str:
    """A template mapping one string state onto the values a platform expects ("None": unknown, to HA)."""
    cases = ", ".join(f"'{ours}': '{theirs}'" for ours, theirs in mapping.items())
    return "{{ {%s}.get(value_json.get('%s'), 'None') }}" % (cases, state)  # noqa: UP031


def _word(payload: str, words: dict[str, CommandCall]) -> list[CommandCall]:
    call = words.get(payload.strip().upper())
    if call is None:
        raise ValueError(f"expected one of {', '.join(words)}, got {payload[:40]!r}")
    return [call]


def _number(payload: str, low: float, high: float, *, integer: bool) -> float | int:
    try:
        value = float(payload.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {payload[:40]!r}") from None
    if not low <= value <= high:  # also refuses nan and inf
        raise ValueError(f"{value:g} is outside {low:g}..{high:g}")
    return round(value) if integer else value


def _bounds(spec: StateSpec | None, low: float, high: float) -> tuple[float, float]:
    if spec is None:
        return low, high
    return (spec.min if spec.min is not None else low), (spec.max if spec.max is not None else high)


# Measured states -> a Home Assistant sensor: (key, name, device_class, unit, state_class, entity_category).
SENSORS: dict[str, tuple[str, str, str | None, str | None, str, str | None]] = {
    "core:TemperatureState": ("temperature", "Temperature", "temperature", "°C", "measurement", None),
    "core:RelativeHumidityState": ("humidity", "Humidity", "humidity", "%", "measurement", None),
    "core:LuminanceState": ("illuminance", "Illuminance", "illuminance", "lx", "measurement", None),
    "core:AtmosphericPressureState": ("pressure", "Pressure", "atmospheric_pressure", "hPa", "measurement", None),
    "core:ElectricPowerConsumptionState": ("power", "Power", "power", "W", "measurement", None),
    "core:ElectricEnergyConsumptionState": ("energy", "Energy", "energy", "Wh", "total_increasing", None),
    "core:BatteryLevelState": ("battery", "Battery", "battery", "%", "measurement", "diagnostic"),
    "core:CO2ConcentrationState": ("co2", "CO2", "carbon_dioxide", "ppm", "measurement", None),
    "core:RSSILevelState": ("rssi", "Signal strength", "signal_strength", "dBm", "measurement", "diagnostic"),
    "ble:BatteryVoltageState": ("voltage", "Battery voltage", "voltage", "V", "measurement", "diagnostic"),
}

# Two-valued states -> a binary sensor: (key, name, device_class, the value that means "on", the other).
BINARY_SENSORS: dict[str, tuple[str, str, str, str, str]] = {
    "core:ContactState": ("contact", "Contact", "opening", "open", "closed"),
    "core:OccupancyState": ("occupancy", "Occupancy", "occupancy", "personInside", "noPersonInside"),
    "core:SmokeState": ("smoke", "Smoke", "smoke", "detected", "notDetected"),
    "core:WaterDetectionState": ("moisture", "Water", "moisture", "detected", "notDetected"),
}

COVER_CLASSES = {
    "RollerShutter": "shutter",
    "ExteriorVenetianBlind": "blind",
    "VenetianBlind": "blind",
    "GarageDoor": "garage",
    "Awning": "awning",
    "Screen": "shade",
    "Curtain": "curtain",
    "Gate": "gate",
    "Window": "window",
}


class _Builder:
    """Collects the components of one device."""

    def __init__(self, controllable: Controllable, object_id: str, topic: str) -> None:
        self.c = controllable
        self.object_id = object_id
        self.topic = topic
        self.components: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, CommandRoute] = {}

    def has(self, *commands: str) -> bool:
        return all(name in self.c.commands for name in commands)

    def state(self, name: str) -> bool:
        return name in self.c.states

    def route(self, what: str, build: Callable[[str], list[CommandCall]]) -> str:
        self.routes[what] = CommandRoute(build)
        return f"{self.topic}/set/{what}"

    def add(self, key: str, platform: str, config: dict[str, Any]) -> None:
        self.components[key] = {"p": platform, "unique_id": f"{self.object_id}_{key}", **config}


def _light(b: _Builder) -> None:
    config: dict[str, Any] = {
        "name": None,
        "command_topic": b.route("power", lambda p: _word(p, {"ON": ("on", []), "OFF": ("off", [])})),
        "state_topic": f"{b.topic}/state",
        "state_value_template": _enum("core:OnOffState", {"on": "ON", "off": "OFF"}),
    }
    if b.has("setIntensity") and b.state("core:LightIntensityState"):
        config.update(
            {
                "brightness_command_topic": b.route(
                    "brightness", lambda p: [("setIntensity", [_number(p, 0, 100, integer=True)])]
                ),
                "brightness_scale": 100,
                "on_command_type": "brightness",
                "brightness_state_topic": f"{b.topic}/state",
                "brightness_value_template": _value("core:LightIntensityState"),
            }
        )
    if b.has("setColorTemperature") and b.state("core:ColorTemperatureState"):
        low, high = _bounds(b.c.states["core:ColorTemperatureState"], 2000, 6500)
        config.update(
            {
                "color_temp_command_topic": b.route(
                    "color_temp", lambda p: [("setColorTemperature", [_number(p, low, high, integer=True)])]
                ),
                "color_temp_kelvin": True,
                "min_kelvin": int(low),
                "max_kelvin": int(high),
                "color_temp_state_topic": f"{b.topic}/state",
                "color_temp_value_template": _value("core:ColorTemperatureState"),
            }
        )
    if b.has("setRGB") and all(b.state(f"core:{c}ColorIntensityState") for c in ("Red", "Green", "Blue")):

        def rgb(payload: str) -> list[CommandCall]:
            parts = payload.split(",")
            if len(parts) != 3:
                raise ValueError(f"expected r,g,b, got {payload[:40]!r}")
            return [("setRGB", [_number(part, 0, 255, integer=True) for part in parts])]

        config.update(
            {
                "rgb_command_topic": b.route("rgb", rgb),
                "rgb_state_topic": f"{b.topic}/state",
                "rgb_value_template": "{{ [value_json.get('core:RedColorIntensityState', 0), "
                "value_json.get('core:GreenColorIntensityState', 0), "
                "value_json.get('core:BlueColorIntensityState', 0)] | join(',') }}",
            }
        )
        if "color_temp_command_topic" in config:
            # Without a colour mode topic Home Assistant takes the mode of whichever template it renders last, and
            # one state object feeds both: the bridge says which was set last (COLOUR_MODE_KEY, colour_mode()).
            config.update(
                {
                    "color_mode_state_topic": f"{b.topic}/state",
                    "color_mode_value_template": "{{ value_json.get('%s', 'None') }}" % COLOUR_MODE_KEY,  # noqa: UP031
                }
            )
    b.add("light", "light", config)


def _switch(b: _Builder) -> None:
    config: dict[str, Any] = {
        "name": None,
        "command_topic": b.route("power", lambda p: _word(p, {"ON": ("on", []), "OFF": ("off", [])})),
        "payload_on": "ON",
        "payload_off": "OFF",
    }
    if b.state("core:OnOffState"):  # a one-way radio's (RTS) is assumed, as the End-User API shows it too
        config.update(
            {
                "state_topic": f"{b.topic}/state",
                "value_template": _value("core:OnOffState"),
                "state_on": "on",
                "state_off": "off",
            }
        )
    b.add("switch", "switch", config)


def _cover(b: _Builder) -> None:
    awning = b.has("deploy", "undeploy")
    opening, closing = ("deploy", "undeploy") if awning else ("open", "close")
    words: dict[str, CommandCall] = {"OPEN": (opening, []), "CLOSE": (closing, [])}
    if b.has("stop"):
        words["STOP"] = ("stop", [])
    config: dict[str, Any] = {
        "name": None,
        "device_class": COVER_CLASSES.get(b.c.ui_class, "shutter"),
        "command_topic": b.route("cover", lambda p: _word(p, words)),
        "payload_open": "OPEN",
        "payload_close": "CLOSE",
        "payload_stop": "STOP" if "STOP" in words else None,
        "optimistic": False,
    }
    open_closed = next((s for s in ("core:OpenClosedState", "core:OpenClosedUnknownState") if b.state(s)), None)
    if open_closed is not None:
        # While it moves, the way it goes (motion.py) wins over open/closed: Home Assistant shows opening/closing.
        rest = "{'open': 'open', 'closed': 'closed'}.get(value_json.get('%s'), 'None')" % open_closed  # noqa: UP031
        config.update(
            {
                "state_topic": f"{b.topic}/state",
                "value_template": "{{ value_json.get('%s') or %s }}" % (MOTION_KEY, rest),  # noqa: UP031
                "state_open": "open",
                "state_closed": "closed",
                "state_opening": OPENING,
                "state_closing": CLOSING,
            }
        )
    # The End-User API's ClosureState is 0 open .. 100 closed, and its DeploymentState 0 in .. 100 out:
    # Home Assistant's position_open/position_closed say which end is which, and it converts both ways.
    position = (
        ("setDeployment", "core:DeploymentState", 100, 0) if awning else ("setClosure", "core:ClosureState", 0, 100)
    )
    command, state, at_open, at_closed = position
    if b.has(command) and b.state(state):
        config.update(
            {
                "set_position_topic": b.route("position", lambda p: [(command, [_number(p, 0, 100, integer=True)])]),
                "position_topic": f"{b.topic}/state",
                "position_template": _value(state),
                "position_open": at_open,
                "position_closed": at_closed,
            }
        )
    if b.has("setOrientation") and b.state("core:SlateOrientationState"):
        # SlateOrientationState is 0 open .. 100 closed; Home Assistant's tilt is 0 closed .. 100 open (its
        # tilt_opened_value is sent to open the slats). Both ways are turned round here, in the template and in
        # the route, so that Home Assistant's numbers are its own.
        config.update(
            {
                "tilt_command_topic": b.route(
                    "tilt", lambda p: [("setOrientation", [100 - _number(p, 0, 100, integer=True)])]
                ),
                "tilt_status_topic": f"{b.topic}/state",
                "tilt_status_template": "{{ 100 - value_json['core:SlateOrientationState'] }}",
                "tilt_min": 0,
                "tilt_max": 100,
                "tilt_opened_value": 100,
                "tilt_closed_value": 0,
            }
        )
    if config["payload_stop"] is None:
        del config["payload_stop"]
    b.add("cover", "cover", config)


def _lock(b: _Builder) -> None:
    b.add(
        "lock",
        "lock",
        {
            "name": None,
            "command_topic": b.route("lock", lambda p: _word(p, {"LOCK": ("lock", []), "UNLOCK": ("unlock", [])})),
            "payload_lock": "LOCK",
            "payload_unlock": "UNLOCK",
            "state_topic": f"{b.topic}/state",
            "value_template": _value("core:LockedUnlockedState"),
            "state_locked": "locked",
            "state_unlocked": "unlocked",
        },
    )


# A thermostat heats unless its heating level is "off": Home Assistant's modes, and the level each one sets
# (comfort: the level of a thermostat that follows its set point).
HEATING_LEVEL_OF_MODE = {"off": "off", "heat": "comfort"}


def _climate(b: _Builder) -> None:
    low, high = _bounds(b.c.states.get("core:TargetTemperatureState"), 5, 30)
    config: dict[str, Any] = {
        "name": None,
        "modes": ["heat"],
        "temperature_unit": "C",
        "temp_step": 0.5,
        "min_temp": low,
        "max_temp": high,
        "temperature_command_topic": b.route(
            "temperature", lambda p: [("setTargetTemperature", [_number(p, low, high, integer=False)])]
        ),
        "temperature_state_topic": f"{b.topic}/state",
        "temperature_state_template": _value("core:TargetTemperatureState"),
        # Without a mode state topic Home Assistant assumes "off"; a thermostat without levels always heats.
        "mode_state_topic": f"{b.topic}/state",
        "mode_state_template": "heat",
    }
    level = b.c.states.get("core:TargetHeatingLevelState")
    levels = set(level.values or ()) if level is not None else set()
    if b.has("setHeatingLevel") and set(HEATING_LEVEL_OF_MODE.values()) <= levels:
        words = {mode.upper(): ("setHeatingLevel", [lvl]) for mode, lvl in HEATING_LEVEL_OF_MODE.items()}
        config.update(
            {
                "modes": list(HEATING_LEVEL_OF_MODE),
                "mode_command_topic": b.route("mode", lambda p: _word(p, words)),
                "mode_state_template": "{{ 'off' if value_json.get('core:TargetHeatingLevelState') == 'off' "
                "else 'heat' }}",
            }
        )
    heating = "value_json.get('core:TargetHeatingLevelState') != 'off'" if levels else "true"
    if b.state("core:TemperatureState"):
        # The action follows from the states: heating while the room is below its set point, idle once there.
        config.update(
            {
                "current_temperature_topic": f"{b.topic}/state",
                "current_temperature_template": _value("core:TemperatureState"),
                "action_topic": f"{b.topic}/state",
                "action_template": "{% set t = value_json.get('core:TemperatureState') %}"
                "{% set s = value_json.get('core:TargetTemperatureState') %}"
                "{{ 'off' if not (" + heating + ") else 'None' if t is none or s is none "
                "else 'heating' if t < s else 'idle' }}",
            }
        )
    b.add("climate", "climate", config)


COLOUR_MODE_KEY = "color_mode"
RGB_STATES = ("core:RedColorIntensityState", "core:GreenColorIntensityState", "core:BlueColorIntensityState")


def colour_mode(changed_at: Mapping[str, int]) -> str:
    """A colour light's mode for Home Assistant (``rgb`` or ``color_temp``), from when its states last changed
    (the End-User API has no colour mode state): the one set last. An RGB set to the colour it already had
    changes nothing, so the mode stays as it was then."""
    rgb = max((changed_at.get(name, 0) for name in RGB_STATES), default=0)
    return "color_temp" if changed_at.get("core:ColorTemperatureState", 0) > rgb else "rgb"


# The states a sensor component is made for: a multi-sensor's controllable names every state it might measure,
# and only those the device has reported are announced (the bridge announces again when another one appears).
MEASURED = frozenset(SENSORS) | frozenset(BINARY_SENSORS)


def _sensors(b: _Builder, skip: set[str], reported: Collection[str]) -> None:
    for state, (key, name, device_class, unit, state_class, category) in SENSORS.items():
        if b.state(state) and state not in skip and state in reported:
            config: dict[str, Any] = {
                "name": name,
                "state_topic": f"{b.topic}/state",
                "value_template": _value(state),
                "device_class": device_class,
                "unit_of_measurement": unit,
                "state_class": state_class,
            }
            if category is not None:
                config["entity_category"] = category
            b.add(key, "sensor", config)
    for state, (key, name, device_class, on, off) in BINARY_SENSORS.items():
        if b.state(state) and state in reported:
            b.add(
                key,
                "binary_sensor",
                {
                    "name": name,
                    "state_topic": f"{b.topic}/state",
                    "value_template": _value(state),
                    "device_class": device_class,
                    "payload_on": on,
                    "payload_off": off,
                },
            )


def device_discovery(
    *,
    gateway_id: str,
    device_url: str,
    label: str,
    controllable: Controllable,
    area: str | None,
    base_topic: str,
    bridge_state_topic: str,
    origin: dict[str, str],
    reported: Collection[str],
    via_device: str | None = None,
) -> DeviceDiscovery | None:
    """The discovery of one device, or None when Home Assistant has nothing to show of it (a protocol stack).

    ``reported``: the names of the states the device has values for; a measured state (MEASURED) gets its sensor
    once it has one."""
    oid = object_id(gateway_id, device_url)
    topic = f"{base_topic}/{oid}"
    b = _Builder(controllable, oid, topic)
    skip: set[str] = set()
    if controllable.type in ("GATEWAY", "INFRASTRUCTURE_COMPONENT") or controllable.ui_class == "ProtocolGateway":
        return None
    if b.has("on", "off") and controllable.ui_class == "Light":
        _light(b)
    elif b.has("on", "off"):
        _switch(b)
    if (b.has("open", "close") or b.has("deploy", "undeploy")) and controllable.ui_class != "Light":
        _cover(b)
    if b.has("lock", "unlock") and b.state("core:LockedUnlockedState"):
        _lock(b)
    if b.has("setTargetTemperature") and b.state("core:TargetTemperatureState"):
        _climate(b)
        skip.add("core:TemperatureState")  # the thermostat shows it as its current temperature
    _sensors(b, skip, reported)
    if not b.components:
        return None
    device: dict[str, Any] = {
        "identifiers": [oid],
        "name": label,
        "manufacturer": "Hearth",
        "model": controllable.name,
        "model_id": controllable.widget,
    }
    if area:
        device["suggested_area"] = area
    if via_device:
        device["via_device"] = via_device
    payload = {
        "device": device,
        "origin": origin,
        "components": b.components,
        "qos": 1,
        "availability_mode": "all",
        "availability": [{"topic": bridge_state_topic}, {"topic": f"{topic}/availability"}],
    }
    return DeviceDiscovery(oid, payload, b.routes, MEASURED.intersection(reported))
