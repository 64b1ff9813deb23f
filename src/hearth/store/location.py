"""The row of the setup's location (``/setup/location``): one row, its body as JSON, with its times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hearth.store.database import Database
from hearth.store.writer import BatchWriter

UPSERT = (
    "INSERT INTO setup_location (id, body, creation_time, last_update_time) VALUES (1, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET body = excluded.body, last_update_time = excluded.last_update_time"
)


@dataclass(frozen=True, slots=True)
class StoredLocation:
    body: dict[str, Any]
    creation_time: int
    last_update_time: int


class LocationRepository:
    def __init__(self, db: Database, writer: BatchWriter) -> None:
        self._db = db
        self._writer = writer

    async def get(self) -> StoredLocation | None:
        row = await self._db.fetchone("SELECT body, creation_time, last_update_time FROM setup_location")
        return None if row is None else StoredLocation(json.loads(row[0]), row[1], row[2])

    async def save(self, body: dict[str, Any], created: int, updated: int) -> None:
        """On disk when this returns (through the batch writer, so in order with every other write)."""
        await self._writer.commit(UPSERT, (json.dumps(body), created, updated))
