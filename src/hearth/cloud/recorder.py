"""What the cloud must hear, taken off the event bus into the outbox.

- states: a device's state changes, gathered for ``telemetry_window_s`` and written as one record per (device,
  state) with the latest value (telemetry: the outbox may drop older ones when full);
- executions: every ExecutionRegistered / ExecutionStateChanged event, and the results of cloud commands;
- events: device lifecycle and configuration events (created, removed, action groups...);
- alerts: alert notifications of the edge rules.

Records other than telemetry are written within ``RECORD_WINDOW_S`` in one transaction per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from hearth.core.tasks import cancel_and_wait
from hearth.model import events as ev
from hearth.store.outbox import NewRecord, Outbox

log = logging.getLogger(__name__)

RECORD_WINDOW_S = 0.05
_EXECUTION_EVENTS = (ev.ExecutionRegisteredEvent, ev.ExecutionStateChangedEvent)
# Not sent as events: too chatty (states have their own stream) or about the sync itself.
_SKIPPED = {
    "DeviceStateChangedEvent",
    "GatewaySynchronizationStartedEvent",
    "GatewaySynchronizationEndedEvent",
    "CommandExecutionStateChangedEvent",
}


class Recorder:
    def __init__(
        self,
        bus: Any,
        outbox: Outbox,
        telemetry_window_s: float,
        streams: frozenset[str] = frozenset({"states", "executions", "events", "alerts"}),
    ) -> None:
        self._bus = bus
        self.streams = streams
        self._outbox = outbox
        self.telemetry_window_s = telemetry_window_s
        self._telemetry: dict[tuple[str, str], dict[str, Any]] = {}
        self._records: list[NewRecord] = []
        self._wake = asyncio.Event()
        self._urgent = False
        self._unsubscribe: Any = None
        self._task: asyncio.Task[None] | None = None
        self.written = asyncio.Event()  # set after every write (the sync engine sends at once)

    def subscribe(self) -> None:
        """Listen from now on (events are kept in memory until ``start``): before the gateway's recovery."""
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self._on_event)

    def start(self) -> None:
        self.subscribe()
        self._task = asyncio.create_task(self._run(), name="cloud-recorder")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await cancel_and_wait(self._task)
        await self.flush(telemetry=True)

    def _on_event(self, event: ev.Event) -> None:
        name = event.name
        if isinstance(event, ev.DeviceStateChangedEvent):
            if "states" not in self.streams:
                return
            for state in event.device_states:
                self._telemetry[(event.device_url, state["name"])] = {
                    "deviceURL": event.device_url,
                    "name": state["name"],
                    "type": state.get("type"),
                    "value": state.get("value"),
                    "time": event.timestamp,
                }
            return
        if name in _SKIPPED:
            return
        stream = (
            "executions" if isinstance(event, _EXECUTION_EVENTS) else "alerts" if name.startswith("Alert") else "events"
        )
        if stream not in self.streams:
            return
        self._records.append(NewRecord(stream, event.to_json()))
        self._wake.set()

    def add(self, stream: str, body: dict[str, Any]) -> None:
        """A record of our own (a cloud command's result): written and sent at once, the cloud waits for it."""
        self._records.append(NewRecord(stream, body))
        self._urgent = True
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_telemetry = loop.time() + self.telemetry_window_s
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_telemetry - loop.time())):
                    await self._wake.wait()
                    if not self._urgent:
                        await asyncio.sleep(RECORD_WINDOW_S)  # gather what comes with it
            self._urgent = False
            self._wake.clear()
            due = loop.time() >= next_telemetry
            if due:
                next_telemetry = loop.time() + self.telemetry_window_s
            try:
                await self.flush(telemetry=due)
            except Exception:
                log.exception("cloud outbox write failed; the records stay queued in memory")

    async def flush(self, *, telemetry: bool) -> None:
        batch, self._records = self._records, []
        if telemetry and self._telemetry:
            states, self._telemetry = self._telemetry, {}
            batch.extend(
                NewRecord("states", body, telemetry_key=f"{url}|{name}") for (url, name), body in states.items()
            )
        if not batch:
            return
        try:
            await self._outbox.append_many(batch)
        except BaseException:
            self._records[:0] = [r for r in batch if r.telemetry_key is None]
            raise
        self.written.set()
