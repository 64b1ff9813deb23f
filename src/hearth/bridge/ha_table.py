"""What a Home Assistant user gets for each controllable of the catalogue, through each integration: the README's
compatibility table, made from the catalogue so that it stays true (``python -m hearth.bridge.ha_table``; a test
holds the README to its output).

- MQTT bridge: what the bridge announces (discovery.py), so this column is the bridge's own behaviour.
- overkiz (local API): what Home Assistant's overkiz integration makes of a device, from its uiClass, widget and
  states. Those are Home Assistant's facts, read in its ``homeassistant/components/overkiz`` (``const.py``:
  OVERKIZ_DEVICE_TO_PLATFORM and IGNORED_OVERKIZ_DEVICES; ``climate/__init__.py``: the widgets with a climate
  entity; ``sensor.py`` and ``binary_sensor.py``: the states with a sensor), as of release 2025.4. Only what our
  catalogue uses is encoded here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hearth.bridge.discovery import device_discovery
from hearth.core.catalogue import Catalogue
from hearth.model.definition import Controllable

# const.py: the uiClass (or widget) -> platform entries our catalogue meets; a widget entry wins over a uiClass one.
OVERKIZ_PLATFORM_OF_UI_CLASS = {
    "Awning": "cover",
    "DoorLock": "lock",
    "ExteriorVenetianBlind": "cover",
    "GarageDoor": "cover",
    "Light": "light",
    "OnOff": "switch",
    "RollerShutter": "cover",
    "VenetianBlind": "cover",
}
OVERKIZ_PLATFORM_OF_WIDGET = {"ValveHeatingTemperatureInterface": "climate"}
OVERKIZ_IGNORED_UI_CLASSES = {"ProtocolGateway", "Pod"}
# sensor.py / binary_sensor.py: the states of ours that get a sensor, by the name Home Assistant gives it.
OVERKIZ_SENSORS = {
    "core:TemperatureState": "temperature",
    "core:RelativeHumidityState": "humidity",
    "core:LuminanceState": "luminance",
    "core:ElectricPowerConsumptionState": "power",
    "core:ElectricEnergyConsumptionState": "energy",
    "core:CO2ConcentrationState": "CO2",
    "core:BatteryLevelState": "battery level",
    "core:BatteryState": "battery",
    "core:RSSILevelState": "RSSI",
}
OVERKIZ_BINARY_SENSORS = {
    "core:ContactState": "contact",
    "core:OccupancyState": "occupancy",
    "core:SmokeState": "smoke",
    "core:WaterDetectionState": "water",
}


def _overkiz_features(c: Controllable, platform: str) -> list[str]:
    """The features of the main entity, by the commands Home Assistant's entity class sends."""
    has = c.commands.__contains__
    if platform == "cover":
        return [
            f
            for f, ok in (
                ("open/close", has("open") or has("deploy")),
                ("stop", has("stop")),
                ("position", has("setClosure") or has("setDeployment")),
                ("tilt", has("setOrientation")),
            )
            if ok
        ]
    if platform == "light":
        return [
            f for f, ok in (("on/off", has("on")), ("brightness", has("setIntensity")), ("RGB", has("setRGB"))) if ok
        ]
    if platform == "climate":
        return ["target temperature", "presets"]
    return {"switch": ["on/off"], "lock": ["lock/unlock"]}.get(platform, [])


def overkiz_cell(c: Controllable) -> str:
    if c.ui_class in OVERKIZ_IGNORED_UI_CLASSES:
        return "(not shown: a protocol stack)"
    parts = []
    platform = OVERKIZ_PLATFORM_OF_WIDGET.get(c.widget) or OVERKIZ_PLATFORM_OF_UI_CLASS.get(c.ui_class)
    if platform is not None:
        parts.append(_entity(platform, _overkiz_features(c, platform)))
    sensors = [name for state, name in OVERKIZ_SENSORS.items() if state in c.states]
    binary = [name for state, name in OVERKIZ_BINARY_SENSORS.items() if state in c.states]
    if sensors:
        parts.append(_entity("sensor", sensors))
    if binary:
        parts.append(_entity("binary_sensor", binary))
    return "; ".join(parts) or "nothing"


def _mqtt_features(platform: str, config: dict[str, Any]) -> list[str]:
    if platform == "light":
        return [
            f
            for f, key in (
                ("on/off", "command_topic"),
                ("brightness", "brightness_command_topic"),
                ("colour temperature", "color_temp_command_topic"),
                ("RGB", "rgb_command_topic"),
            )
            if key in config
        ]
    if platform == "cover":
        moving = "state_opening" in config
        return [
            f
            for f, ok in (
                ("open/close", True),
                ("stop", "payload_stop" in config),
                ("position", "set_position_topic" in config),
                ("tilt", "tilt_command_topic" in config),
                ("opening/closing", moving),
            )
            if ok
        ]
    if platform == "climate":
        return [
            f"modes {'/'.join(config['modes'])}",
            "target temperature",
            *(["current temperature", "action"] if "current_temperature_topic" in config else []),
        ]
    if platform == "switch":
        return ["on/off" if "state_topic" in config else "on/off (assumed state)"]
    if platform == "lock":
        return ["lock/unlock"]
    return []


def mqtt_cell(c: Controllable) -> str:
    discovery = device_discovery(
        gateway_id="0000-0000-0000",
        device_url="x://0000-0000-0000/1",
        label="",
        controllable=c,
        area=None,
        base_topic="hearth/0000-0000-0000",
        bridge_state_topic="hearth/0000-0000-0000/bridge/state",
        origin={"name": "Hearth"},
        reported=c.states,
    )
    if discovery is None:
        return "(not shown: a protocol stack)"
    parts: list[str] = []
    sensors: dict[str, list[str]] = {"sensor": [], "binary_sensor": []}
    for config in discovery.payload["components"].values():
        platform = config["p"]
        if platform in sensors:
            sensors[platform].append(str(config["name"]).lower())
        else:
            parts.append(_entity(platform, _mqtt_features(platform, config)))
    parts += [_entity(platform, names) for platform, names in sensors.items() if names]
    return "; ".join(parts)


def _entity(platform: str, features: list[str]) -> str:
    return f"**{platform}** ({', '.join(features)})" if features else f"**{platform}**"


def table(catalogue: Catalogue) -> str:
    rows = ["| controllable | uiClass / widget | overkiz (local API) | MQTT bridge |", "|---|---|---|---|"]
    for name in sorted(catalogue.names()):
        c = catalogue[name]
        rows.append(f"| `{name}` | {c.ui_class} / {c.widget} | {overkiz_cell(c)} | {mqtt_cell(c)} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parents[3] / "config" / "controllables"
    sys.stdout.write(table(Catalogue.load(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
