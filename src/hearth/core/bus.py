"""The event bus: typed events, synchronous listeners inline, async consumers behind bounded queues.

A synchronous listener runs inside ``publish`` and must be quick (it updates an index, appends to a
buffer). Anything that awaits (a WebSocket, the cloud outbox) is an ``AsyncConsumer``: it drains its own
bounded queue, so a slow consumer loses its oldest events, is counted and reported, and never blocks the
producer or the loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from hearth.model.events import Event

log = logging.getLogger(__name__)

Listener = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._typed: dict[type, list[Listener]] = {}
        self._any: list[Listener] = []
        # type -> (the listeners to call, in order; its counter); rebuilt on every (un)subscribe.
        self._dispatch: dict[type, tuple[tuple[Listener, ...], itertools.count[int]]] = {}
        # Events published, by type (the metrics' hearth_events): counted here, so that no listener has to
        # take every event just to count it. A C counter: next() is the cheapest count Python has.
        self._counters: dict[type, itertools.count[int]] = {}
        self.listener_errors = 0

    def subscribe(self, listener: Listener, *types: type[Event]) -> Callable[[], None]:
        """Call ``listener(event)`` for events of ``types`` (all events if none). Returns the unsubscriber."""
        targets = [self._typed.setdefault(t, []) for t in types] if types else [self._any]
        for target in targets:
            target.append(listener)
        self._dispatch.clear()

        def unsubscribe() -> None:
            for target in targets:
                if listener in target:
                    target.remove(listener)
            self._dispatch.clear()

        return unsubscribe

    def consumer(self, name: str, maxsize: int = 1000, types: Iterable[type[Event]] = ()) -> AsyncConsumer:
        consumer = AsyncConsumer(name, maxsize)
        consumer.unsubscribe = self.subscribe(consumer.offer, *types)
        return consumer

    @property
    def published(self) -> dict[type, int]:
        """Events published so far, by type."""
        # repr(count(7)) is "count(7)": the only way to read a counter without moving it.
        return {cls: int(repr(counter)[6:-1]) for cls, counter in self._counters.items()}

    def _entry(self, cls: type) -> tuple[tuple[Listener, ...], itertools.count[int]]:
        counter = self._counters.get(cls)
        if counter is None:
            counter = self._counters[cls] = itertools.count()
        entry = self._dispatch[cls] = ((*self._typed.get(cls, ()), *self._any), counter)
        return entry

    def publish(self, event: Event) -> None:
        entry = self._dispatch.get(type(event))
        if entry is None:
            entry = self._entry(type(event))
        listeners, counter = entry
        next(counter)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                # A faulty listener must not stop the others nor the producer.
                self.listener_errors += 1
                log.exception("event listener %r failed on %s", listener, type(event).__name__)


class AsyncConsumer:
    """A bounded buffer of events drained by a task; overflow drops the oldest event and is reported."""

    REPORT_INTERVAL_S = 10.0

    def __init__(self, name: str, maxsize: int) -> None:
        self.name = name
        self.maxsize = maxsize
        self.dropped = 0
        self.unsubscribe: Callable[[], None] = lambda: None
        self._buffer: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._last_report = 0.0

    def offer(self, event: Event) -> None:
        buffer = self._buffer
        if len(buffer) >= self.maxsize:
            buffer.popleft()
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_report >= self.REPORT_INTERVAL_S:
                self._last_report = now
                log.warning("slow event consumer %s: %d events dropped so far", self.name, self.dropped)
        buffer.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __len__(self) -> int:
        return len(self._buffer)

    def drain(self) -> list[Event]:
        events = list(self._buffer)
        self._buffer.clear()
        return events

    async def get(self) -> Event:
        while not self._buffer:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._buffer.popleft()

    def close(self) -> None:
        self.unsubscribe()
