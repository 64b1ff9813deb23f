"""The state recorder: current states and history rows, through the batched writer, with retention.

Retention is per state name (``[history.per_state]``), with a default in days and a cap of rows per
state, so the database cannot grow without bound on an SD card.
"""

from __future__ import annotations

import json
import logging
import time

from hearth.core.bus import EventBus
from hearth.model.events import DeviceStateChangedEvent
from hearth.store.database import Database
from hearth.store.writer import BatchWriter

log = logging.getLogger(__name__)

UPSERT_STATE = (
    "INSERT INTO device_states (url, name, type, value, last_update_time) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (url, name) DO UPDATE SET type = excluded.type, value = excluded.value, "
    "last_update_time = excluded.last_update_time")
INSERT_HISTORY = "INSERT INTO state_history (url, name, value, time) VALUES (?, ?, ?, ?)"
DAY_MS = 86_400_000


class StateRecorder:
    def __init__(self, db: Database, writer: BatchWriter, *, retention_days: float,
                 per_state_days: dict[str, float], max_rows_per_state: int) -> None:
        self._db = db
        self._writer = writer
        self.retention_days = retention_days
        self.per_state_days = per_state_days
        self.max_rows_per_state = max_rows_per_state
        self._unsubscribe = lambda: None

    def attach(self, bus: EventBus) -> None:
        self._unsubscribe = bus.subscribe(self.on_state_changed, DeviceStateChangedEvent)

    def keeps_history(self, name: str) -> bool:
        return self.per_state_days.get(name, self.retention_days) > 0

    def on_state_changed(self, event: DeviceStateChangedEvent) -> None:
        queue = self._writer.queue
        url, ts = event.device_url, event.timestamp
        for state in event.device_states:
            value = json.dumps(state["value"])
            queue(UPSERT_STATE, (url, state["name"], state["type"], value, ts))
            if self.keeps_history(state["name"]):
                queue(INSERT_HISTORY, (url, state["name"], value, ts))

    async def sweep(self, now_ms: int | None = None) -> int:
        """Delete history older than its retention and beyond the per-state cap. Returns rows deleted."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        deleted = 0
        for name, days in self.per_state_days.items():
            deleted += await self._db.execute(
                "DELETE FROM state_history WHERE name = ? AND time < ?", (name, now_ms - int(days * DAY_MS)))
        names = list(self.per_state_days)
        marks = ",".join("?" * len(names))
        exclude = f"AND name NOT IN ({marks})" if names else ""
        deleted += await self._db.execute(
            f"DELETE FROM state_history WHERE time < ? {exclude}",
            (now_ms - int(self.retention_days * DAY_MS), *names))
        # The cap: keep the newest max_rows_per_state rows of each (device, state).
        deleted += await self._db.execute(
            "DELETE FROM state_history WHERE rowid IN (SELECT rowid FROM (SELECT rowid, ROW_NUMBER() OVER "
            "(PARTITION BY url, name ORDER BY time DESC) AS n FROM state_history) WHERE n > ?)",
            (self.max_rows_per_state,))
        if deleted:
            log.info("history retention removed %d rows", deleted)
        return deleted

    def close(self) -> None:
        self._unsubscribe()
