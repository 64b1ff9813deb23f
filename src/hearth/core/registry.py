"""The devices of the setup, by deviceURL, kept in memory and written through to the store."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.catalogue import Catalogue
from hearth.model.datatype import infer_datatype
from hearth.model.device import Attribute, Device
from hearth.model.device_url import DeviceURL, InvalidDeviceURL
from hearth.model.errors import ApiError
from hearth.model.events import (
    DeviceCreatedEvent,
    DeviceDisabledEvent,
    DeviceRemovedEvent,
    DeviceUpdatedEvent,
    now_ms,
)
from hearth.store.repositories import DeviceRepository, DeviceRow, attributes_from_json


class UnknownControllable(ValueError):
    """A driver declared a device of a controllable the catalogue does not have."""


class DeviceRegistry:
    def __init__(self, catalogue: Catalogue, bus: EventBus, repo: DeviceRepository) -> None:
        self._catalogue = catalogue
        self._bus = bus
        self._repo = repo
        self._by_url: dict[str, Device] = {}

    def load(self, rows: Iterable[DeviceRow]) -> list[str]:
        """Fill the registry from the store. Returns the URLs whose controllable is no longer known."""
        orphans = []
        for row in rows:
            controllable = self._catalogue.get(row.controllable)
            if controllable is None:
                orphans.append(row.url)
                continue
            device = Device(
                url=DeviceURL.parse(row.url),
                oid=row.oid,
                label=row.label,
                controllable=controllable,
                place_oid=row.place_oid,
                metadata=row.metadata,
                enabled=row.enabled,
                available=row.available,
                creation_time=row.creation_time,
                last_update_time=row.last_update_time,
                attributes=attributes_from_json(row.attributes),
            )
            self._by_url[device.url_text] = device
        return orphans

    def __len__(self) -> int:
        return len(self._by_url)

    def get(self, url: str) -> Device | None:
        return self._by_url.get(url)

    def require(self, url: str) -> Device:
        """The device at ``url``, or the End-User API's NO_SUCH_DEVICE error."""
        device = self._by_url.get(url)
        if device is None:
            try:
                DeviceURL.parse(url)
            except InvalidDeviceURL as exc:
                raise ApiError.bad_request(str(exc)) from None
            raise ApiError.no_such_device(url)
        return device

    def all(self) -> list[Device]:
        return list(self._by_url.values())

    def by_oid(self, oid: str) -> Device | None:
        for device in self._by_url.values():
            if device.oid == oid:
                return device
        return None

    def by_controllable(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for device in self._by_url.values():
            out.setdefault(device.controllable.name, []).append(device.url_text)
        return out

    async def add(
        self,
        url: DeviceURL,
        controllable_name: str,
        label: str,
        *,
        attributes: dict[str, Any] | None = None,
        place_oid: str | None = None,
    ) -> tuple[Device, bool]:
        """Declare a device; an existing one keeps its oid, label and place. Returns (device, created)."""
        controllable = self._catalogue.get(controllable_name)
        if controllable is None:
            raise UnknownControllable(f"{url}: controllable {controllable_name!r} is not in the catalogue")
        attrs = {
            a["name"]: Attribute(a["name"], infer_datatype(a.get("value")), a.get("value"))
            for a in controllable.attributes
        }
        for name, value in (attributes or {}).items():
            attrs[name] = Attribute(name, infer_datatype(value), value)
        now = now_ms()
        existing = self._by_url.get(str(url))
        if existing is not None:
            if existing.controllable is controllable and existing.attributes == attrs:
                return existing, False
            existing.controllable = controllable
            existing.attributes = attrs
            existing.last_update_time = now
            await self._repo.save(existing)
            self._publish_updated(existing)
            return existing, False
        device = Device(
            url=url,
            oid=str(uuid.uuid4()),
            label=label[:256],
            controllable=controllable,
            place_oid=place_oid,
            creation_time=now,
            last_update_time=now,
            attributes=attrs,
        )
        await self._repo.save(device)
        self._by_url[device.url_text] = device
        self._bus.publish(
            DeviceCreatedEvent(
                device_url=device.url_text,
                controllable_name=controllable.name,
                label=device.label,
                place_oid=device.place_oid,
                metadata=device.metadata,
                device_attributes=[a.to_json() for a in attrs.values()],
            )
        )
        return device, True

    async def update(
        self, device: Device, *, label: str | None = None, place_oid: str | None = None, metadata: str | None = None
    ) -> None:
        if label is not None:
            device.label = label
        if place_oid is not None:
            device.place_oid = place_oid
        if metadata is not None:
            device.metadata = metadata
        device.last_update_time = now_ms()
        await self._repo.save(device)
        self._publish_updated(device)

    async def set_enabled(self, device: Device, enabled: bool) -> None:
        if device.enabled == enabled:
            return
        device.enabled = enabled
        device.last_update_time = now_ms()
        await self._repo.save(device)
        if enabled:
            self._publish_updated(device)
        else:
            self._bus.publish(DeviceDisabledEvent(device_url=device.url_text))

    async def remove(self, device: Device) -> None:
        await self._repo.delete(device.url_text)
        self._by_url.pop(device.url_text, None)
        self._bus.publish(DeviceRemovedEvent(device_url=device.url_text, controllable_name=device.controllable.name))

    async def clear_place(self, place_oids: set[str]) -> None:
        """Devices of deleted places go back to no place (the root)."""
        for device in self._by_url.values():
            if device.place_oid in place_oids:
                device.place_oid = None
                await self._repo.save(device)
                self._publish_updated(device)

    def _publish_updated(self, device: Device) -> None:
        self._bus.publish(
            DeviceUpdatedEvent(
                device_url=device.url_text,
                controllable_name=device.controllable.name,
                label=device.label,
                place_oid=device.place_oid,
                metadata=device.metadata,
            )
        )
