"""Wall-clock time for everything that waits for a moment of the day (schedules, dawn, dusk, delays).

The gateway uses ``SystemClock``. Tests inject ``ManualClock`` to jump to the evening and see a dusk
schedule fire, instead of waiting for the sun.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""

    async def sleep_until(self, when: float) -> None:
        """Return once ``now() >= when``."""


class SystemClock:
    # Long waits are cut into steps, so that a wall-clock change (NTP after boot) is noticed.
    MAX_STEP_S = 30.0

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float) -> None:
        while True:
            remaining = when - time.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, self.MAX_STEP_S))


class ManualClock:
    """A clock that moves only when told to; sleepers wake in time order as it passes them."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, when: float) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), waiter))
        await waiter

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper passed on the way (and letting it run)."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, waiter = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            if not waiter.done():
                waiter.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
        self._now = target
        await asyncio.sleep(0)
