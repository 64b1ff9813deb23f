"""``[drivers.virtual]``: what the simulation may be told."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from hearth.sdk.settings import parse_driver_settings


class VirtualDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str | int
    controllable: str
    label: str | None = None
    place: str | None = None


class VirtualSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # "demo": the demo house's devices; "none": only those listed in `devices`.
    house: str = Field("demo", pattern="^(demo|none)$")
    # Seconds a closure takes from fully open to fully closed.
    travel_time_s: float = Field(20.0, ge=0)
    # Sensors drift every this many seconds (0: never).
    drift_interval_s: float = Field(30.0, ge=0)
    seed: int | None = None
    # That many extra devices (sensors, lights, shutters, plugs in turn) for benchmarks.
    generated_devices: int = Field(0, ge=0, le=100_000)
    devices: list[VirtualDevice] = Field(default_factory=list)


def parse_settings(config: Mapping[str, object]) -> VirtualSettings:
    return parse_driver_settings(VirtualSettings, config)
