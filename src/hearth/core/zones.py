"""Zones: named groups of devices (``/setup/zones``)."""

from __future__ import annotations

import uuid
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.registry import DeviceRegistry
from hearth.model.errors import ApiError
from hearth.model.events import ZoneCreatedEvent, ZoneDeletedEvent, ZoneUpdatedEvent, now_ms
from hearth.model.place import Zone, ZoneItem
from hearth.store.database import Database
from hearth.store.zones import ZoneRepository


class ZoneStore:
    def __init__(self, db: Database, bus: EventBus, registry: DeviceRegistry) -> None:
        self._rows = ZoneRepository(db)
        self._bus = bus
        self._registry = registry
        self._zones: dict[str, Zone] = {}

    async def load(self) -> None:
        for zone in await self._rows.all():
            self._zones[zone.oid] = zone

    def all(self) -> list[Zone]:
        return list(self._zones.values())

    def get(self, oid: str) -> Zone:
        zone = self._zones.get(oid)
        if zone is None:
            raise ApiError.not_found(f"No such zone : {oid}")
        return zone

    def items_from(self, raw: Any) -> list[ZoneItem]:
        """Zone items from a client: each names a device of the setup by deviceURL or deviceOID."""
        if not isinstance(raw, list):
            raise ApiError.bad_request("items: expected a list")
        items = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise ApiError.bad_request(f"items[{i}]: expected an object")
            device = None
            if isinstance(entry.get("deviceURL"), str):
                device = self._registry.require(entry["deviceURL"])
            elif isinstance(entry.get("deviceOID"), str):
                device = self._registry.by_oid(entry["deviceOID"])
                if device is None:
                    raise ApiError.bad_request(f"items[{i}]: no device with OID {entry['deviceOID']}")
            else:
                raise ApiError.bad_request(f"items[{i}]: needs deviceURL or deviceOID")
            items.append(ZoneItem(device.oid, device.url_text))
        return items

    async def create(
        self, label: str, type: int, items: list[ZoneItem], external_oid: str | None, metadata: str | None
    ) -> Zone:
        now = now_ms()
        zone = Zone(
            oid=str(uuid.uuid4()),
            label=label,
            type=type,
            items=items,
            external_oid=external_oid,
            metadata=metadata,
            creation_time=now,
            last_update_time=now,
        )
        await self._save(zone)
        self._bus.publish(
            ZoneCreatedEvent(
                zone_oid=zone.oid,
                type=zone.type,
                label=zone.label,
                device_urls=self._urls(zone),
                place_oids=self._places(zone),
            )
        )
        return zone

    async def update(self, zone: Zone) -> None:
        zone.last_update_time = now_ms()
        await self._save(zone)
        self._bus.publish(
            ZoneUpdatedEvent(
                zone_oid=zone.oid,
                type=zone.type,
                label=zone.label,
                device_urls=self._urls(zone),
                place_oids=self._places(zone),
            )
        )

    async def delete(self, zone: Zone) -> None:
        await self._rows.delete(zone.oid)
        self._zones.pop(zone.oid, None)
        self._bus.publish(ZoneDeletedEvent(zone_oid=zone.oid))

    async def forget_device(self, device_url: str) -> None:
        for zone in self._zones.values():
            if any(i.device_url == device_url for i in zone.items):
                zone.items = [i for i in zone.items if i.device_url != device_url]
                await self.update(zone)

    def _urls(self, zone: Zone) -> list[str]:
        return [i.device_url for i in zone.items]

    def _places(self, zone: Zone) -> list[str]:
        places = []
        for item in zone.items:
            device = self._registry.get(item.device_url)
            if device is not None and device.place_oid and device.place_oid not in places:
                places.append(device.place_oid)
        return places

    async def _save(self, zone: Zone) -> None:
        await self._rows.save(zone)
        self._zones[zone.oid] = zone
