"""Per-device health: when the device was last heard, its commands, failures and recent latency.

Fed from the bus (state reports, command results), so nothing is added to the executor's path. Kept in
memory only: it describes this run of the gateway, and starts empty after a restart.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from hearth.model.device import Device

# Latencies kept per device for its percentiles: enough for a stable p95, small enough for thousands of devices.
RING = 50


class DeviceHealth:
    __slots__ = ("last_seen", "commands", "failures", "latencies_ms")

    def __init__(self) -> None:
        self.last_seen: int | None = None  # epoch ms of the last state report or completed command
        self.commands = 0
        self.failures = 0
        self.latencies_ms: deque[float] | None = None  # made at the first command: most devices only report

    def command(self, latency_ms: float | None, failed: bool, at_ms: int) -> None:
        self.commands += 1
        if failed:
            # A failed command is no sign of life: a device that does not answer fails its commands.
            self.failures += 1
        else:
            self.last_seen = at_ms
        if latency_ms is not None:
            if self.latencies_ms is None:
                self.latencies_ms = deque(maxlen=RING)
            self.latencies_ms.append(latency_ms)

    def percentiles(self) -> dict[str, float | None]:
        """Nearest-rank p50 and p95 of the recent latencies (ms), None before the first command."""
        if not self.latencies_ms:
            return {"p50": None, "p95": None}
        ordered = sorted(self.latencies_ms)

        def rank(p: int) -> float:
            return round(ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)], 1)

        return {"p50": rank(50), "p95": rank(95)}


class DeviceHealthBook:
    """The health of every device heard since start, by deviceURL."""

    def __init__(self) -> None:
        self._by_url: dict[str, DeviceHealth] = {}

    def _get(self, url: str) -> DeviceHealth:
        health = self._by_url.get(url)
        if health is None:
            health = self._by_url[url] = DeviceHealth()
        return health

    def get(self, url: str) -> DeviceHealth | None:
        return self._by_url.get(url)

    def reported(self, url: str, at_ms: int) -> None:
        self._get(url).last_seen = at_ms

    def command(self, url: str, latency_ms: float | None, failed: bool, at_ms: int) -> None:
        self._get(url).command(latency_ms, failed, at_ms)

    def forget(self, url: str) -> None:
        self._by_url.pop(url, None)

    def to_json(self, device: Device) -> dict[str, Any]:
        health = self.get(device.url_text) or DeviceHealth()
        return {
            "deviceURL": device.url_text,
            "available": device.available,
            "lastSeen": health.last_seen,
            "commands": health.commands,
            "failures": health.failures,
            "latencyMs": health.percentiles(),
        }
