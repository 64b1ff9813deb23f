"""Repositories: the rows of the store as domain objects, and back."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from hearth.model.datatype import DataType
from hearth.model.device import Attribute, Device, State
from hearth.model.place import Place
from hearth.store.database import Database


class SettingsRepository:
    """Small named values of the gateway: its id, the setup OID."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM gateway_settings WHERE key = ?", (key,))
        return row[0] if row else None

    async def put(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO gateway_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


@dataclass(slots=True)
class DeviceRow:
    url: str
    oid: str
    label: str
    controllable: str
    place_oid: str | None
    metadata: str | None
    enabled: bool
    available: bool
    attributes: list[dict[str, Any]]
    creation_time: int
    last_update_time: int


class DeviceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[DeviceRow]:
        rows = await self._db.fetchall(
            "SELECT url, oid, label, controllable, place_oid, metadata, enabled, available, attributes, "
            "creation_time, last_update_time FROM devices"
        )
        return [
            DeviceRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7]), json.loads(r[8]), r[9], r[10])
            for r in rows
        ]

    async def save(self, device: Device) -> None:
        attributes = json.dumps([a.to_json() for a in device.attributes.values()])
        await self._db.execute(
            "INSERT INTO devices (url, oid, label, controllable, place_oid, metadata, enabled, available, "
            "attributes, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (url) DO UPDATE SET label = excluded.label, controllable = excluded.controllable, "
            "place_oid = excluded.place_oid, metadata = excluded.metadata, enabled = excluded.enabled, "
            "available = excluded.available, attributes = excluded.attributes, "
            "last_update_time = excluded.last_update_time",
            (
                device.url_text,
                device.oid,
                device.label,
                device.controllable.name,
                device.place_oid,
                device.metadata,
                int(device.enabled),
                int(device.available),
                attributes,
                device.creation_time,
                device.last_update_time,
            ),
        )

    async def delete(self, url: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM devices WHERE url = ?", (url,))
            conn.execute("DELETE FROM device_states WHERE url = ?", (url,))

        await self._db.atomic(work)

    async def states(self) -> dict[str, list[State]]:
        found: dict[str, list[State]] = {}
        for url, name, dtype, value, ts in await self._db.fetchall(
            "SELECT url, name, type, value, last_update_time FROM device_states"
        ):
            try:
                state = State(name, DataType(dtype), json.loads(value), ts)
            except ValueError:
                continue  # a row from a future version or a damaged value: skip it, never crash the start
            found.setdefault(url, []).append(state)
        return found


def attributes_from_json(items: list[dict[str, Any]]) -> dict[str, Attribute]:
    out = {}
    for item in items:
        out[item["name"]] = Attribute(item["name"], DataType(item.get("type", 3)), item.get("value"))
    return out


class PlaceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Place]:
        rows = await self._db.fetchall(
            "SELECT oid, parent_oid, label, type, metadata, creation_time, last_update_time FROM places "
            "ORDER BY position, creation_time"
        )
        return [
            Place(
                oid=r[0],
                parent_oid=r[1],
                label=r[2],
                type=json.loads(r[3]),
                metadata=r[4],
                creation_time=r[5],
                last_update_time=r[6],
            )
            for r in rows
        ]

    async def save(self, place: Place) -> None:
        await self._db.execute(
            "INSERT INTO places (oid, parent_oid, label, type, metadata, creation_time, last_update_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (oid) DO UPDATE SET parent_oid = excluded.parent_oid, "
            "label = excluded.label, type = excluded.type, metadata = excluded.metadata, "
            "last_update_time = excluded.last_update_time",
            (
                place.oid,
                place.parent_oid,
                place.label,
                json.dumps(place.type),
                place.metadata,
                place.creation_time,
                place.last_update_time,
            ),
        )

    async def delete(self, oid: str) -> None:
        await self._db.execute("DELETE FROM places WHERE oid = ?", (oid,))


class DriverDataRepository:
    """Crash-safe key-value data per driver: every put is committed before it returns."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, driver: str, key: str) -> Any:
        row = await self._db.fetchone("SELECT value FROM driver_data WHERE driver = ? AND key = ?", (driver, key))
        return json.loads(row[0]) if row else None

    async def put(self, driver: str, key: str, value: Any) -> None:
        await self._db.execute(
            "INSERT INTO driver_data (driver, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (driver, key) DO UPDATE SET value = excluded.value",
            (driver, key, json.dumps(value)),
        )

    async def delete(self, driver: str, key: str) -> None:
        await self._db.execute("DELETE FROM driver_data WHERE driver = ? AND key = ?", (driver, key))

    async def keys(self, driver: str) -> list[str]:
        return [r[0] for r in await self._db.fetchall("SELECT key FROM driver_data WHERE driver = ?", (driver,))]
