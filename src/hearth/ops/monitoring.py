"""The gateway's monitoring: one bus listener feeding the metrics and device health, the loop-lag sampler
and the log buffer.

Made with the gateway (its listener sees every event from the first), started at the beginning of
``Gateway.start`` (the log buffer then holds the start's own lines) and stopped with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hearth.core.bus import EventBus
from hearth.core.tasks import cancel_and_wait
from hearth.model.events import (
    CommandExecutionStateChangedEvent,
    DeviceRemovedEvent,
    DeviceStateChangedEvent,
    ExecutionStateChangedEvent,
)
from hearth.model.execution import ExecutionState
from hearth.ops.device_health import DeviceHealthBook
from hearth.ops.logbuffer import LogBuffer
from hearth.ops.memory import MemoryTrimmer
from hearth.ops.metrics import CommandMetrics, EventRate, LoopLagSampler, MetricsEndpoint, ScrapeInputs

if TYPE_CHECKING:
    from hearth.app import Gateway

_TRANSMITTED = ExecutionState.TRANSMITTED.value
_COMPLETED = ExecutionState.COMPLETED.value
_FAILED = ExecutionState.FAILED.value
# Commands handed to a driver and not finished yet, by (execution, rank): bounded, in case a result is lost.
MAX_IN_FLIGHT = 100_000


class Monitoring:
    def __init__(self, bus: EventBus) -> None:
        self.commands = CommandMetrics()
        self.health = DeviceHealthBook()
        self.logs = LogBuffer()
        self.lag = LoopLagSampler()
        self.rate = EventRate()
        self.memory = MemoryTrimmer()
        self.started = time.monotonic()
        self._bus = bus
        self._sent: dict[tuple[str, int], float] = {}  # (exec id, rank) -> perf_counter when handed over
        self._handlers: dict[type, Callable[[Any], None]] = {
            DeviceStateChangedEvent: self._state_changed,
            CommandExecutionStateChangedEvent: self._command_changed,
            ExecutionStateChangedEvent: self._execution_changed,
            DeviceRemovedEvent: self._device_removed,
        }
        self._gateway: Gateway | None = None
        self._endpoint: MetricsEndpoint | None = None
        self._sampler: asyncio.Task[None] | None = None
        # Only the events it reads (the bus counts all of them): nothing else pays for monitoring.
        for cls, handler in self._handlers.items():
            bus.subscribe(handler, cls)

    # ------------------------------------------------------------------ life

    def start(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.started = time.monotonic()
        self.logs.install()
        self._sampler = asyncio.create_task(self.lag.run(self._tick), name="loop-lag")
        self.memory.start()

    async def stop(self) -> None:
        self.logs.uninstall()
        await self.memory.stop()
        await cancel_and_wait(self._sampler)

    def uptime_s(self) -> float:
        return time.monotonic() - self.started

    # ------------------------------------------------------------------ the bus (a hot path: keep it cheap)

    def _state_changed(self, event: DeviceStateChangedEvent) -> None:
        self.health.reported(event.device_url, event.timestamp)

    def _command_changed(self, event: CommandExecutionStateChangedEvent) -> None:
        state = event.new_state
        if state == _TRANSMITTED:
            if len(self._sent) < MAX_IN_FLIGHT:
                self._sent[(event.exec_id, event.rank)] = time.perf_counter()
            return
        if state != _COMPLETED and state != _FAILED:
            return
        sent = self._sent.pop((event.exec_id, event.rank), None)
        # A command failed before it was handed over (skipped, cancelled, locked out) has no latency.
        latency_s = time.perf_counter() - sent if sent is not None else None
        failure = event.failure_type if state == _FAILED else None
        self.commands.command_finished(event.device_url.partition(":")[0], latency_s, failure or None)
        self.health.command(
            event.device_url, latency_s * 1000 if latency_s is not None else None, state == _FAILED, event.timestamp
        )

    def _execution_changed(self, event: ExecutionStateChangedEvent) -> None:
        if event.new_state == _COMPLETED:
            self.commands.execution_finished("completed")
        elif event.new_state == _FAILED:
            self.commands.execution_finished("cancelled" if event.failure_type == "CANCELLED" else "failed")

    def _device_removed(self, event: DeviceRemovedEvent) -> None:
        self.health.forget(event.device_url)

    def _tick(self) -> None:
        self.rate.tick(sum(self._bus.published.values()))

    def event_counts(self) -> list[tuple[str, int]]:
        return [(cls.__name__, n) for cls, n in self._bus.published.items()]

    # ------------------------------------------------------------------ scraping

    async def render_metrics(self) -> tuple[bytes, str]:
        """The Prometheus text of this gateway: (body, content type)."""
        from hearth.ops.system import outbox_depths

        if self._gateway is None:
            raise RuntimeError("monitoring is not started")
        if self._endpoint is None:
            self._endpoint = MetricsEndpoint(self._gateway, self)
        return self._endpoint.render(ScrapeInputs(outbox_depth=await outbox_depths(self._gateway)))
