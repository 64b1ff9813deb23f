"""The rows of the zones (``/setup/zones``): each zone's body as JSON, with its times."""

from __future__ import annotations

import json
from typing import Any

from hearth.model.place import Zone, ZoneItem
from hearth.store.database import Database

# What a zone's row body keeps; the oid and the times have their own columns.
_BODY_FIELDS = ("label", "type", "items", "externalOID", "metadata")


class ZoneRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Zone]:
        zones = []
        for oid, body, created, updated in await self._db.fetchall(
            "SELECT oid, body, creation_time, last_update_time FROM zones"
        ):
            data: dict[str, Any] = json.loads(body)
            zones.append(
                Zone(
                    oid=oid,
                    label=data["label"],
                    type=data["type"],
                    items=[ZoneItem(i["deviceOID"], i["deviceURL"]) for i in data["items"]],
                    external_oid=data.get("externalOID"),
                    metadata=data.get("metadata"),
                    creation_time=created,
                    last_update_time=updated,
                )
            )
        return zones

    async def save(self, zone: Zone) -> None:
        body = {k: v for k, v in zone.to_json().items() if k in _BODY_FIELDS}
        await self._db.execute(
            "INSERT INTO zones (oid, body, creation_time, last_update_time) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (oid) DO UPDATE SET body = excluded.body, last_update_time = excluded.last_update_time",
            (zone.oid, json.dumps(body), zone.creation_time, zone.last_update_time),
        )

    async def delete(self, oid: str) -> None:
        await self._db.execute("DELETE FROM zones WHERE oid = ?", (oid,))
