"""Places (a tree of rooms and floors) and zones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Place:
    oid: str
    label: str
    type: int | str
    parent_oid: str | None
    metadata: str | None = None
    creation_time: int = 0
    last_update_time: int = 0
    children: list[Place] = field(default_factory=list)

    def to_json(self, depth: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "creationTime": self.creation_time,
            "lastUpdateTime": self.last_update_time,
            "label": self.label,
            "type": self.type,
            "oid": self.oid,
            "subPlaces": [],
        }
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if depth is None or depth > 0:
            nxt = None if depth is None else depth - 1
            out["subPlaces"] = [c.to_json(nxt) for c in self.children]
        return out


@dataclass(slots=True)
class ZoneItem:
    device_oid: str
    device_url: str

    def to_json(self) -> dict[str, Any]:
        return {"itemType": "device", "deviceOID": self.device_oid, "deviceURL": self.device_url}


@dataclass(slots=True)
class Zone:
    oid: str
    label: str
    type: int
    items: list[ZoneItem]
    external_oid: str | None = None
    metadata: str | None = None
    creation_time: int = 0
    last_update_time: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "creationTime": self.creation_time,
            "lastUpdateTime": self.last_update_time,
            "label": self.label,
            "type": self.type,
            "items": [i.to_json() for i in self.items],
            "oid": self.oid,
        }
        if self.external_oid is not None:
            out["externalOID"] = self.external_oid
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out
