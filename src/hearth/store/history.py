"""The state recorder: current states, history points and their rollups, through the batched writer.

Each state change queues, for the writer's next stream flush: the current value (``device_states``) and the
raw point (``state_raw``); its rollups (``state_rollups``, hour/day/month) are summed in memory per bucket
during the window and queued as one upsert per bucket just before that flush. Nothing is read on that
path: the series id of a (device, state) is known in memory (loaded at start, new ones numbered here).

Retention is per state name (``[history.per_state]``), with a default in days and a cap of raw rows per
state, and per rollup resolution; ``retention.HistoryRetention`` applies it in small bounded transactions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, tzinfo

from hearth.core.bus import EventBus
from hearth.model.datatype import DataType
from hearth.model.events import DeviceStateChangedEvent
from hearth.store.database import Database
from hearth.store.history_reader import HistoryReader
from hearth.store.retention import DAY_MS, HistoryRetention, RetentionPolicy
from hearth.store.rollups import UPSERT_ROLLUP, BucketClock, RollupBuffer
from hearth.store.writer import BatchWriter

__all__ = ["DAY_MS", "StateRecorder"]

log = logging.getLogger(__name__)

UPSERT_STATE = (
    "INSERT INTO device_states (url, name, type, value, last_update_time) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (url, name) DO UPDATE SET type = excluded.type, value = excluded.value, "
    "last_update_time = excluded.last_update_time"
)
INSERT_SERIES = "INSERT OR IGNORE INTO history_series (id, url, name) VALUES (?, ?, ?)"
# Two reports of one state in the same ms: the later one is the point kept (both count in the rollups).
INSERT_RAW = "INSERT OR REPLACE INTO state_raw (series, time, value) VALUES (?, ?, ?)"


class StateRecorder:
    def __init__(
        self,
        db: Database,
        writer: BatchWriter,
        *,
        retention_days: float,
        per_state_days: dict[str, float],
        max_rows_per_state: int,
        hourly_days: float = 90,
        daily_days: float = 1095,
        monthly_days: float = 3650,
        timezone: Callable[[], tzinfo] = lambda: UTC,
    ) -> None:
        self._db = db
        self._writer = writer
        self.policy = RetentionPolicy(
            retention_days, dict(per_state_days), max_rows_per_state, hourly_days, daily_days, monthly_days
        )
        self.clock = BucketClock(timezone)
        self.rollups = RollupBuffer(self.clock)
        writer.before_stream_flush(self._queue_rollups)
        self.reader = HistoryReader(db.path)
        self.retention = HistoryRetention(db, self.reader, self.policy)
        self.series: dict[tuple[str, str], int] = {}
        self._next_id = 1
        self._unsubscribe: Callable[[], None] = lambda: None

    # Kept as attributes for callers of the v1 recorder.
    @property
    def retention_days(self) -> float:
        return self.policy.retention_days

    @property
    def per_state_days(self) -> dict[str, float]:
        return self.policy.per_state_days

    @property
    def max_rows_per_state(self) -> int:
        return self.policy.max_rows_per_state

    async def load(self) -> None:
        """Read the known series. The next id is past every id any table holds: a series row lost in a crash
        (the stream's bargain) must not have its id given to another series."""
        rows = await self._db.fetchall("SELECT id, url, name FROM history_series")
        self.series = {(url, name): sid for sid, url, name in rows}
        top = 0
        for sql in (
            "SELECT max(id) FROM history_series",
            "SELECT max(series) FROM state_raw",
            "SELECT max(series) FROM state_rollups",
        ):
            row = await self._db.fetchone(sql)
            top = max(top, int(row[0]) if row and row[0] is not None else 0)
        self._next_id = top + 1

    def attach(self, bus: EventBus) -> None:
        self._unsubscribe = bus.subscribe(self.on_state_changed, DeviceStateChangedEvent)

    def keeps_history(self, name: str) -> bool:
        return self.policy.raw_days(name) > 0

    def _series_id(self, url: str, name: str) -> int:
        sid = self.series.get((url, name))
        if sid is None:
            sid = self.series[(url, name)] = self._next_id
            self._next_id += 1
            self._writer.queue(INSERT_SERIES, (sid, url, name))
        return sid

    def on_state_changed(self, event: DeviceStateChangedEvent) -> None:
        queue = self._writer.queue
        url, ts = event.device_url, event.timestamp
        for state in event.device_states:
            raw_value = state["value"]
            value = json.dumps(raw_value)
            name = state["name"]
            queue(UPSERT_STATE, (url, name, state["type"], value, ts))
            # A PASSWORD state is a secret: its current value is kept (the device needs it), never its history.
            if state["type"] != DataType.PASSWORD and self.keeps_history(name):
                sid = self._series_id(url, name)
                queue(INSERT_RAW, (sid, ts, value))
                self.rollups.add(sid, ts, raw_value, value)

    def _queue_rollups(self) -> None:
        queue = self._writer.queue
        for row in self.rollups.drain():
            queue(UPSERT_ROLLUP, row)

    async def sweep(self, now_ms: int | None = None) -> int:
        """Apply retention in bounded transactions (see HistoryRetention). Returns rows deleted."""
        return await self.retention.sweep(now_ms)

    def close(self) -> None:
        self._unsubscribe()
        self.reader.close()
