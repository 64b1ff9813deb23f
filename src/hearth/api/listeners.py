"""Event listeners of ``/events/register|fetch|unregister``.

Each listener buffers the events published since it registered; ``fetch`` drains the buffer. A listener
not fetched for ``idle_s`` (10 minutes by default, as the vendor's local API) is dropped. The buffer is
bounded: when it is full the oldest events are dropped, and the next fetch logs how many were lost
and carries the rest (a client that fetches at least once a second never sees this with default sizes).
A token may hold several listeners (Home Assistant and a phone app may share one); at most
``MAX_PER_TOKEN``, the oldest going first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict, deque
from typing import Any

from hearth.core.bus import EventBus
from hearth.model.errors import ApiError
from hearth.model.events import Event

MAX_PER_TOKEN = 16
log = logging.getLogger(__name__)


class Listener:
    __slots__ = ("id", "owner", "buffer", "last_seen", "dropped")

    def __init__(self, owner: str, size: int) -> None:
        self.id = str(uuid.uuid4())
        self.owner = owner
        self.buffer: deque[Event] = deque(maxlen=size)
        self.last_seen = time.monotonic()
        self.dropped = 0


class ListenerRegistry:
    def __init__(self, bus: EventBus, setup_oid: str, idle_s: float, buffer_size: int) -> None:
        self.setup_oid = setup_oid
        self.idle_s = idle_s
        self.buffer_size = buffer_size
        self._listeners: OrderedDict[str, Listener] = OrderedDict()
        self._unsubscribe = bus.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        for listener in self._listeners.values():
            buffer = listener.buffer
            if len(buffer) == buffer.maxlen:
                listener.dropped += 1
            buffer.append(event)

    def render(self, event: Event) -> dict[str, Any]:
        out = event.to_json()
        out["setupOID"] = self.setup_oid
        # "only available in event streams": the partners owning the setup; a local box has none.
        out["owningPartners"] = []
        return out

    def register(self, owner: str) -> str:
        self.expire()
        mine = [lid for lid, lst in self._listeners.items() if lst.owner == owner]
        for lid in mine[: max(0, len(mine) - MAX_PER_TOKEN + 1)]:
            del self._listeners[lid]
        listener = Listener(owner, self.buffer_size)
        self._listeners[listener.id] = listener
        return listener.id

    def fetch(self, listener_id: str, owner: str) -> list[dict[str, Any]]:
        listener = self._get(listener_id, owner)
        listener.last_seen = time.monotonic()
        if listener.dropped:
            log.warning(
                "event listener %s fetched too rarely: its %d oldest events were dropped", listener.id, listener.dropped
            )
            listener.dropped = 0
        events = [self.render(e) for e in listener.buffer]
        listener.buffer.clear()
        return events

    def unregister(self, listener_id: str, owner: str) -> None:
        self._get(listener_id, owner)
        del self._listeners[listener_id]

    def expire(self) -> int:
        limit = time.monotonic() - self.idle_s
        stale = [lid for lid, lst in self._listeners.items() if lst.last_seen < limit]
        for lid in stale:
            del self._listeners[lid]
        return len(stale)

    def __len__(self) -> int:
        return len(self._listeners)

    def _get(self, listener_id: str, owner: str) -> Listener:
        listener = self._listeners.get(listener_id)
        if listener is None or listener.owner != owner:
            raise ApiError.bad_request(f"Invalid event listener id : {listener_id}")
        if listener.last_seen < time.monotonic() - self.idle_s:
            del self._listeners[listener_id]
            raise ApiError.bad_request(f"Invalid event listener id : {listener_id}")
        return listener

    def close(self) -> None:
        self._unsubscribe()
        self._listeners.clear()
