"""A counting gate where high-priority waiters go first: per-device order and per-radio concurrency."""

from __future__ import annotations

import asyncio
from collections import deque


class PriorityGate:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._high: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def would_wait(self) -> bool:
        return self.in_use >= self.capacity or bool(self._high) or bool(self._normal)

    async def acquire(self, high_priority: bool = False) -> None:
        if self.in_use < self.capacity and not self._high and not (self._normal and not high_priority):
            self.in_use += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._high if high_priority else self._normal).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the slot just as we were cancelled: pass it on
            else:
                for queue in (self._high, self._normal):
                    if waiter in queue:
                        queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._high, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the slot passes directly to the waiter
                    return
        self.in_use -= 1
