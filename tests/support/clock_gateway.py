"""A real Gateway in the test's own process, driven by a ManualClock (no API; the virtual devices of the demo
house): tests jump to the evening to see a dusk schedule run, or restart it at a later time to see what a
gateway that was down catches up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hearth.app import Gateway
from hearth.config import load_settings
from hearth.core.clock import ManualClock
from hearth.model.events import Event

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> float:
    """Epoch seconds of a Paris local time, e.g. ``at("2024-06-21T12:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


@dataclass
class Harness:
    gateway: Gateway
    clock: ManualClock
    events: list[Event]
    data_dir: Path

    def url(self, address: str) -> str:
        return f"virtual://{self.gateway.identity.gateway_id}/{address}"

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.events if e.name == name]

    def commands(self) -> list[tuple[str, list[Any]]]:
        """Every command of every execution registered, in order, with its parameters' values."""
        return [
            (c["name"], [p["value"] if isinstance(p, dict) else p for p in c.get("parameters", [])])
            for e in self.named("ExecutionRegisteredEvent")
            for a in e["actions"]
            for c in a["commands"]
        ]

    async def settle(self) -> None:
        for _ in range(4):
            await self.gateway.triggers.settle()
            await asyncio.sleep(0.03)

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await self.settle()

    async def set_state(self, address: str, name: str, value: Any) -> None:
        """A device reports a state (the virtual driver plays the physical world)."""
        driver = self.gateway.drivers.by_protocol["virtual"]
        await driver.set_state(self.gateway.registry.require(self.url(address)).url, name, value)
        await self.settle()

    def state(self, address: str, name: str) -> Any:
        state = self.gateway.registry.require(self.url(address)).states.get(name)
        return None if state is None else state.value

    async def restart(self, *, at_time: float | None = None) -> None:
        """Stop, then start again on the same data (at ``at_time``: as if it was down until then)."""
        await self.gateway.stop()
        if at_time is not None:
            self.clock = ManualClock(at_time)
        self.gateway = Gateway(self.gateway.settings, clock=self.clock)
        self.events.clear()
        self.gateway.bus.subscribe(self.events.append)  # before start: catching up happens there
        await self.gateway.start()
        await self.settle()


async def start_harness(data_dir: Path, start: float) -> Harness:
    """A gateway on a ManualClock at ``start``, located in Paris (sunrise and sunset, SOLAR)."""
    env = {
        "HEARTH_STORE__DATA_DIR": str(data_dir),
        "HEARTH_API__ENABLED": "false",
        "HEARTH_DRIVERS__VIRTUAL__ENABLED": "true",
        "HEARTH_DRIVERS__VIRTUAL__DRIFT_INTERVAL_S": "0",
        "HEARTH_DRIVERS__VIRTUAL__TRAVEL_TIME_S": "0.1",
        "HEARTH_EXECUTOR__MISSED_GRACE_S": "600",
    }
    clock = ManualClock(start)
    gateway = Gateway(load_settings(None, env), clock=clock)
    await gateway.start()
    events: list[Event] = []
    gateway.bus.subscribe(events.append)
    await gateway.location.update(
        {
            "latitude": 48.8566,
            "longitude": 2.3522,
            "timezone": "Europe/Paris",
            "twilightAngle": "SOLAR",
            "city": "Paris",
        }
    )
    return Harness(gateway, clock, events, data_dir)
