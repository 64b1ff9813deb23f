"""Catalogue commands as ZCL requests: which cluster, which command, which arguments, what it implies."""

from __future__ import annotations

import colorsys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hearth_zigbee.mapping import (
    COLOR_CONTROL,
    DOOR_LOCK,
    IDENTIFY,
    LEVEL_CONTROL,
    ON_OFF,
    THERMOSTAT,
    WINDOW_COVERING,
    Function,
)

# Setpoints of the heating levels, in °C (the thermostat keeps one occupied heating setpoint).
HEATING_LEVELS = {"frostprotection": 7.0, "eco": 17.0, "comfort": 20.0}
# A valve's presets (setDerogation with a mode): the heating levels, and "away", which heats as eco does.
PRESETS = {**HEATING_LEVELS, "away": 15.0}


@dataclass(frozen=True, slots=True)
class Step:
    cluster: int
    label: str
    send: Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Plan:
    steps: list[Step]
    # States the device is known to be in once every step answered SUCCESS.
    optimistic: dict[str, Any] = field(default_factory=dict)


def _heating_level(level: str, *, derogation: str) -> Plan:
    """A heating level (or a valve's preset): off stops heating; the others heat to their set point."""
    if level == "off":  # no preset: the derogation mode stays as it was
        return Plan(
            [Step(THERMOSTAT, "write system mode", lambda cl: cl.write_attributes({"system_mode": 0}))],
            {"core:TargetHeatingLevelState": "off"},
        )
    setpoint = round(PRESETS.get(level, 20.0) * 100)
    return Plan(
        [
            Step(
                THERMOSTAT,
                "write system mode and setpoint",
                lambda cl: cl.write_attributes({"system_mode": 4, "occupied_heating_setpoint": setpoint}),
            )
        ],
        {
            "core:TargetHeatingLevelState": level if level in HEATING_LEVELS else "eco",
            "core:TargetTemperatureState": setpoint / 100,
            "io:DerogationHeatingModeState": derogation,
        },
    )


def _lit(clusters: set[int], colour: Plan) -> Plan:
    """A colour command also turns the light on (ZCL's colour commands leave an off light off): Home Assistant
    sends a colour alone to an off light. On restores the light's last level."""
    if ON_OFF not in clusters:
        return colour
    return Plan([Step(ON_OFF, "on", lambda cl: cl.on()), *colour.steps], {**colour.optimistic, "core:OnOffState": "on"})


def _level(percent: Any) -> int:
    return max(0, min(254, round(float(percent) * 254 / 100)))


def plan(function: Function, name: str, params: list[Any]) -> Plan | None:
    """The ZCL requests of one command, or None if this function has no such command."""
    c = set(function.clusters)
    p = params
    if name == "identify":
        return Plan([Step(IDENTIFY, "identify", lambda cl: cl.identify(identify_time=5))])
    if ON_OFF in c:
        if name == "on":
            return Plan([Step(ON_OFF, "on", lambda cl: cl.on())], {"core:OnOffState": "on"})
        if name == "off":
            return Plan([Step(ON_OFF, "off", lambda cl: cl.off())], {"core:OnOffState": "off"})
    if LEVEL_CONTROL in c and name == "setIntensity":
        level = _level(p[0])
        return Plan(
            [
                Step(
                    LEVEL_CONTROL,
                    "move to level",
                    lambda cl: cl.move_to_level_with_on_off(level=level, transition_time=0),
                )
            ],
            {"core:LightIntensityState": int(p[0]), "core:OnOffState": "on" if level else "off"},
        )
    if COLOR_CONTROL in c:
        if name == "setColorTemperature":
            mireds = max(1, round(1_000_000 / max(1, int(p[0]))))
            return _lit(
                c,
                Plan(
                    [
                        Step(
                            COLOR_CONTROL,
                            "move to colour temperature",
                            lambda cl: cl.move_to_color_temp(color_temp_mireds=mireds, transition_time=0),
                        )
                    ],
                    {"core:ColorTemperatureState": int(p[0])},
                ),
            )
        if name in ("setHueAndSaturation", "setRGB"):
            if name == "setRGB":
                h, s, _ = colorsys.rgb_to_hsv(int(p[0]) / 255, int(p[1]) / 255, int(p[2]) / 255)
                hue, sat = h * 360, s * 100
            else:
                hue, sat = float(p[0]), float(p[1])
            zh, zs = max(0, min(254, round(hue * 254 / 360))), _level(sat)
            return _lit(
                c,
                Plan(
                    [
                        Step(
                            COLOR_CONTROL,
                            "move to hue and saturation",
                            lambda cl: cl.move_to_hue_and_saturation(hue=zh, saturation=zs, transition_time=0),
                        )
                    ],
                    {"core:ColorHueState": round(hue, 1), "core:ColorSaturationState": round(sat, 1)},
                ),
            )
    if WINDOW_COVERING in c:
        simple = {"open": "up_open", "up": "up_open", "close": "down_close", "down": "down_close", "stop": "stop"}
        if name in simple:
            method = simple[name]
            target = {"up_open": 0, "down_close": 100}.get(method)
            return Plan(
                [Step(WINDOW_COVERING, name, lambda cl: getattr(cl, method)())],
                {"core:TargetClosureState": target} if target is not None else {},
            )
        if name == "setClosure":
            value = int(p[0])
            return Plan(
                [
                    Step(
                        WINDOW_COVERING,
                        "go to lift percentage",
                        lambda cl: cl.go_to_lift_percentage(percentage_lift_value=value),
                    )
                ],
                {"core:TargetClosureState": value},
            )
        tilts: dict[str, Callable[[], int]] = {
            "setOrientation": lambda: int(p[0]),
            "openSlats": lambda: 0,
            "closeSlats": lambda: 100,
        }
        if name in tilts:
            tilt = tilts[name]()
            return Plan(
                [
                    Step(
                        WINDOW_COVERING,
                        "go to tilt percentage",
                        lambda cl: cl.go_to_tilt_percentage(percentage_tilt_value=tilt),
                    )
                ]
            )
        if name == "setClosureAndOrientation":
            lift, tilt2 = int(p[0]), int(p[1])
            return Plan(
                [
                    Step(
                        WINDOW_COVERING,
                        "go to lift percentage",
                        lambda cl: cl.go_to_lift_percentage(percentage_lift_value=lift),
                    ),
                    Step(
                        WINDOW_COVERING,
                        "go to tilt percentage",
                        lambda cl: cl.go_to_tilt_percentage(percentage_tilt_value=tilt2),
                    ),
                ],
                {"core:TargetClosureState": lift},
            )
    if THERMOSTAT in c:
        if name == "setDerogation" and p[0] in PRESETS:  # a preset: its set point
            return _heating_level(str(p[0]), derogation=str(p[0]))
        if name == "setDerogation" and isinstance(p[0], str):  # a mode that keeps the set point
            return Plan([], {"io:DerogationHeatingModeState": p[0]})
        if name in ("setTargetTemperature", "setDerogation"):
            centi = round(float(p[0]) * 100)
            return Plan(
                [
                    Step(
                        THERMOSTAT,
                        "write heating setpoint",
                        lambda cl: cl.write_attributes({"occupied_heating_setpoint": centi}),
                    )
                ],
                {"core:TargetTemperatureState": float(p[0]), "io:DerogationHeatingModeState": "manual"},
            )
        if name == "setHeatingLevel":
            return _heating_level(str(p[0]), derogation=str(p[0]))
    if DOOR_LOCK in c:
        if name == "lock":
            return Plan([Step(DOOR_LOCK, "lock", lambda cl: cl.lock_door())], {"core:LockedUnlockedState": "locked"})
        if name == "unlock":
            return Plan(
                [Step(DOOR_LOCK, "unlock", lambda cl: cl.unlock_door())], {"core:LockedUnlockedState": "unlocked"}
            )
        if name == "setCode":
            slot, code = int(p[0]), str(p[1])
            return Plan(
                [
                    Step(
                        DOOR_LOCK,
                        "set PIN code",
                        lambda cl: cl.set_pin_code(user_id=slot, user_status=1, user_type=0, pin_code=code),
                    )
                ]
            )
        if name == "clearCode":
            slot = int(p[0])
            return Plan([Step(DOOR_LOCK, "clear PIN code", lambda cl: cl.clear_pin_code(user_id=slot))])
    return None
