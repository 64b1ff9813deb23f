"""How each kind of virtual device answers its commands and drifts on its own.

A closure moves over its travel time and reports its position as it goes; a light honours its level; a
thermostat's room warms towards the set point; sensors drift within their range; meters accumulate energy.
Closure positions follow the End-User API: ``core:ClosureState`` 0 is open and 100 is closed.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from hearth.sdk import CommandCall, CommandFailed, Controllable, DeviceURL, DriverContext, FailureType

STEP_S = 0.25  # how often a moving closure reports its position
FAVOURITE = 50  # where "my" sends a closure (a Somfy motor's favourite position)
UNHEATED_C = 15.0  # where the room of a thermostat that is off drifts to
# The set points of a valve's presets (setDerogation with a mode), and every derogation mode a valve reports.
PRESET_SETPOINTS_C = {"frostprotection": 7.0, "away": 15.0, "eco": 17.0, "comfort": 20.0}
DEROGATION_MODES = ("manual", "away", "comfort", "eco", "frostprotection", "geofencingMode", "suddenDropMode")


class SimulatedDevice:
    def __init__(self, ctx: DriverContext, url: DeviceURL, controllable: Controllable, travel_time_s: float) -> None:
        self.ctx = ctx
        self.url = url
        self.controllable = controllable
        self.travel_time_s = travel_time_s
        self.states = controllable.states

    def get(self, name: str, default: Any = None) -> Any:
        value = self.ctx.state(self.url, name)
        return default if value is None else value

    def report(self, **values: Any) -> None:
        self.ctx.report_states(self.url, {_state_name(k): v for k, v in values.items()})

    def has(self, short: str) -> bool:
        return _state_name(short) in self.states

    def initial_states(self, rng: random.Random) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in self.states.items():
            if name == "core:StatusState":
                out[name] = "available"
            elif name == "core:NameState":
                continue
            elif name in ("core:OpenClosedState", "core:ContactState"):
                out[name] = "closed"
            elif name == "core:OpenClosedUnknownState":
                out[name] = "closed"
            elif name == "core:ClosureState":
                out[name] = 100
            elif name == "core:TargetClosureState":
                out[name] = 100
            elif name == "core:MovingState":
                out[name] = False
            elif name == "core:DeploymentState":
                out[name] = 0
            elif name == "core:OnOffState":
                out[name] = "off"
            elif name == "core:LightIntensityState":
                out[name] = 0
            elif name == "core:LockedUnlockedState":
                out[name] = "locked"
            elif name == "core:TargetTemperatureState":
                out[name] = 19.0
            elif name == "core:TargetHeatingLevelState":
                out[name] = "comfort"  # heating, towards its set point
            elif name == "io:DerogationHeatingModeState":
                out[name] = "manual"  # following its set point, not a preset's
            elif name in ("core:MinSetpointState", "core:MaxSetpointState"):
                # The set point's own bounds, which setTargetTemperature and setDerogation are held to.
                bound = spec.min if name == "core:MinSetpointState" else spec.max
                out[name] = float(bound if bound is not None else 0)
            elif name == "core:OpenClosedValveState":
                out[name] = "open"
            elif name == "core:TemperatureState":
                out[name] = round(rng.uniform(18.0, 22.0), 1)
            elif name == "core:BatteryLevelState":
                out[name] = rng.randint(60, 100)
            elif name == "core:BatteryState":
                out[name] = "normal"
            elif spec.values:
                # For detectors the second value is the quiet one (notDetected, noPersonInside).
                out[name] = spec.values[-1] if len(spec.values) == 2 else spec.values[0]
            elif spec.type.name in ("INTEGER", "FLOAT") and spec.min is not None and spec.max is not None:
                middle = (spec.min + spec.max) / 2
                out[name] = int(middle) if spec.type.name == "INTEGER" else round(middle, 1)
            elif spec.type.name == "FLOAT":
                out[name] = 0.0
            elif spec.type.name == "BOOLEAN":
                out[name] = False
        return out

    # ------------------------------------------------------------------ commands

    async def execute(self, call: CommandCall) -> None:
        name, params = call.name, call.parameters
        if name in ("refreshState", "identify", "pair", "unpair"):
            call.in_progress(50)
            await asyncio.sleep(0.05)
            return
        if name in ("on", "off"):
            self.report(OnOffState=name)
            if self.has("LightIntensityState"):
                level = self.get("core:LightIntensityState", 0)
                if name == "on" and level == 0:
                    self.report(LightIntensityState=100)
            return
        if name == "setIntensity":
            self.report(LightIntensityState=params[0], OnOffState="on" if params[0] > 0 else "off")
            return
        if name == "setColorTemperature":
            self.report(ColorTemperatureState=params[0], **self._lit())
            return
        if name == "setHueAndSaturation":
            self.report(ColorHueState=float(params[0]), ColorSaturationState=float(params[1]), **self._lit())
            return
        if name == "setRGB":
            self.report(
                RedColorIntensityState=params[0],
                GreenColorIntensityState=params[1],
                BlueColorIntensityState=params[2],
                **self._lit(),
            )
            return
        if name in ("lock", "unlock"):
            call.in_progress(500)
            await asyncio.sleep(0.2)
            self.report(LockedUnlockedState="locked" if name == "lock" else "unlocked")
            return
        if name in ("setCode", "clearCode"):
            return
        if name == "setTargetTemperature":
            self.report(TargetTemperatureState=float(params[0]), **self._derogation("manual"))
            self._valve()
            return
        if name == "setHeatingLevel":
            self.report(TargetHeatingLevelState=params[0], **self._derogation(params[0]))
            self._valve()
            return
        if name == "setDerogation":
            self._derogate(params[0])
            self._valve()
            return
        if name == "setOrientation":
            self.report(SlateOrientationState=params[0])
            return
        if name in ("openSlats", "closeSlats"):
            self.report(SlateOrientationState=0 if name == "openSlats" else 100)
            return
        if self.controllable.ui_class == "ProtocolGateway":
            return  # the stack of a simulated radio has nothing to do
        target = self._closure_target(name, params)
        if target is not None:
            await self._move(call, target)
            if name == "setClosureAndOrientation":
                self.report(SlateOrientationState=params[1])
            return
        if name == "stop":
            return  # nothing moving: a stop is a no-op, as on a real motor
        raise CommandFailed(FailureType.CMDUNKNOWN, f"virtual device cannot {name}")

    # ------------------------------------------------------------------ heating

    def _derogation(self, mode: str) -> dict[str, Any]:
        """The derogation mode that goes with a set point or level (a valve's preset, as clients read it); "off"
        is no preset, so the mode stays as it was."""
        if not self.has("io:DerogationHeatingModeState") or mode not in DEROGATION_MODES:
            return {}
        return {"io:DerogationHeatingModeState": mode}

    def _derogate(self, value: Any) -> None:
        """setDerogation: a temperature (manual), a preset (its set point), or a mode that keeps the set point."""
        if isinstance(value, int | float):
            self.report(
                TargetTemperatureState=float(value), TargetHeatingLevelState="comfort", **self._derogation("manual")
            )
        elif value in PRESET_SETPOINTS_C:
            self.report(
                TargetTemperatureState=PRESET_SETPOINTS_C[value],
                **self._derogation(value),
                TargetHeatingLevelState=value if value != "away" else "eco",
            )
        else:
            self.report(**self._derogation(value))

    def _valve(self) -> None:
        """A valve is open while its room is below the set point and its heating is not off."""
        if not self.has("OpenClosedValveState"):
            return
        heating = self.get("core:TargetHeatingLevelState") != "off"
        below = self.get("core:TemperatureState", 0.0) < self.get("core:TargetTemperatureState", 0.0)
        self.report(OpenClosedValveState="open" if heating and below else "closed")

    def _lit(self) -> dict[str, Any]:
        """A colour command turns the light on, as a bulb does; one that was off (level 0) comes on at full
        level, as ``on`` does, rather than "on at 0 %": Home Assistant sends a colour alone to an off light."""
        values: dict[str, Any] = {"OnOffState": "on"}
        if self.has("LightIntensityState") and self.get("core:LightIntensityState", 0) == 0:
            values["LightIntensityState"] = 100
        return values

    def _assumed_position(self) -> int:
        """Where a closure that reports no position is, as a ClosureState, from its open/closed state: a one-way
        RTS motor's is assumed from its last command, a garage door's is reported ("unknown" while it moves or
        after a stop midway, taken as halfway, so that either way takes half the travel)."""
        value = self.get("core:OpenClosedState") or self.get("core:OpenClosedUnknownState") or "closed"
        return {"open": 0, "closed": 100}.get(value, 50)

    def _closure_target(self, name: str, params: list[Any]) -> int | None:
        """Where a command sends a closure, as a ClosureState (0 open, 100 closed)."""
        if name in ("open", "up", "deploy"):
            return 100 if name == "deploy" else 0
        if name in ("close", "down", "undeploy"):
            return 0 if name == "undeploy" else 100
        if name == "my":
            return FAVOURITE
        if name in ("setClosure", "setClosureAndOrientation"):
            return int(params[0])
        if name == "setDeployment":
            return int(params[0])
        return None

    async def _move(self, call: CommandCall, target: int) -> None:
        deployment = self.has("DeploymentState")
        position_state = "core:DeploymentState" if deployment else "core:ClosureState"
        has_position = position_state in self.states
        if has_position:
            start = self.get(position_state, 100 if not deployment else 0)
        else:
            start = self._assumed_position()
        distance = abs(target - start)
        duration = self.travel_time_s * distance / 100
        call.in_progress(int(duration * 1000))
        if self.has("TargetClosureState"):
            self.report(TargetClosureState=target)
        if self.has("MovingState"):
            self.report(MovingState=True)
        if self.has("OpenClosedUnknownState"):
            self.report(OpenClosedUnknownState="unknown")
        position = float(start)
        try:
            steps = max(1, int(duration / STEP_S))
            for i in range(1, steps + 1):
                await asyncio.sleep(duration / steps)
                position = start + (target - start) * i / steps
                if has_position:
                    self.report(**{position_state.split(":")[1]: int(round(position))})
        finally:
            # Stopped (done, or cancelled midway): say where it is now.
            final = int(round(position))
            values: dict[str, Any] = {}
            if has_position:
                values[position_state.split(":")[1]] = final
            if self.has("MovingState"):
                values["MovingState"] = False
            if self.has("OpenClosedState"):
                is_open = final > 0 if deployment else final < 100
                values["OpenClosedState"] = "open" if is_open else "closed"
            if self.has("OpenClosedUnknownState"):
                values["OpenClosedUnknownState"] = "closed" if final == 100 else "open"
            self.report(**values)

    def settle(self) -> None:
        """Report the device as it stands (read back after a restart): the simulation runs inside the gateway,
        so a closure that was moving when the gateway died stopped where its position was last reported."""
        values: dict[str, Any] = {}
        deployment = self.has("DeploymentState")
        position_state = "core:DeploymentState" if deployment else "core:ClosureState"
        position = self.get(position_state) if position_state in self.states else None
        if self.has("MovingState"):
            values["MovingState"] = False
        if position is not None:
            if self.has("TargetClosureState"):
                values["TargetClosureState"] = position
            if self.has("OpenClosedState"):
                values["OpenClosedState"] = "open" if (position > 0 if deployment else position < 100) else "closed"
            if self.has("OpenClosedUnknownState"):
                values["OpenClosedUnknownState"] = "closed" if position == 100 else "open"
        self.ctx.report_states(self.url, {_state_name(k): v for k, v in values.items()})

    # ------------------------------------------------------------------ the world moving on its own

    def drift(self, rng: random.Random, interval_s: float) -> None:
        values: dict[str, Any] = {}
        for name, spec in self.states.items():
            value = self.get(name)
            if value is None:
                continue
            if name == "core:TemperatureState" and self.has("TargetTemperatureState"):
                # A room whose heating is off cools towards an unheated room's temperature.
                off = self.get("core:TargetHeatingLevelState") == "off"
                target = UNHEATED_C if off else self.get("core:TargetTemperatureState", 19.0)
                values[name] = round(value + max(-0.2, min(0.2, (target - value) / 4)), 1)
            elif name in (
                "core:TemperatureState",
                "core:RelativeHumidityState",
                "core:AtmosphericPressureState",
                "core:LuminanceState",
                "core:ElectricPowerConsumptionState",
            ):
                low, high = spec.min if spec.min is not None else 0, spec.max if spec.max is not None else 100
                step = (high - low) * 0.01
                new = min(high, max(low, value + rng.uniform(-step, step)))
                values[name] = int(round(new)) if spec.type.name == "INTEGER" else round(new, 1)
            elif name == "core:ElectricEnergyConsumptionState":
                power = self.get("core:ElectricPowerConsumptionState", 0.0)
                values[name] = round(value + power * interval_s / 3600, 3)
            elif name in ("core:OccupancyState", "core:ContactState") and rng.random() < 0.05:
                values[name] = spec.values[0] if value == spec.values[1] else spec.values[1]
        if values:
            self.ctx.report_states(self.url, values)
            self._valve()


def _state_name(short: str) -> str:
    return short if ":" in short else f"core:{short}"
