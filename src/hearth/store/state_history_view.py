"""One state's value at a time, read through the ``state_history`` view (url, name, time, value) that
migration 0010 keeps over the series tables: what the growing-index deltas of ``/setup/devices/...`` need."""

from __future__ import annotations

import json
from typing import Any

from hearth.store.database import Database


class StateHistoryView:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def value_at(self, device_url: str, state: str, at_ms: int) -> Any:
        """The value of the last point at or before ``at_ms``, else (the history began later) of the first after
        it; None when the history has no point of that state."""
        row = await self._db.fetchone(
            "SELECT value FROM state_history WHERE url = ? AND name = ? AND time <= ? ORDER BY time DESC LIMIT 1",
            (device_url, state, at_ms),
        )
        if row is None:
            row = await self._db.fetchone(
                "SELECT value FROM state_history WHERE url = ? AND name = ? AND time > ? ORDER BY time LIMIT 1",
                (device_url, state, at_ms),
            )
        return None if row is None else json.loads(row[0])
