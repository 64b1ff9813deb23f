"""A device of the setup, its states and attributes, and their End-User API JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hearth.model.datatype import DataType
from hearth.model.definition import Controllable
from hearth.model.device_url import DeviceURL


@dataclass(slots=True)
class State:
    name: str
    type: DataType
    value: Any
    last_update_time: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": int(self.type), "value": self.value, "lastUpdateTime": self.last_update_time}

    def to_event_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": int(self.type), "value": self.value}


@dataclass(slots=True)
class Attribute:
    name: str
    type: DataType
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": int(self.type), "value": self.value}


@dataclass(slots=True, eq=False)
class Device:
    url: DeviceURL
    oid: str
    label: str
    controllable: Controllable
    place_oid: str | None = None
    metadata: str | None = None
    enabled: bool = True
    available: bool = True
    creation_time: int = 0
    last_update_time: int = 0
    attributes: dict[str, Attribute] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    url_text: str = ""

    def __post_init__(self) -> None:
        self.url_text = str(self.url)

    def to_json(self) -> dict[str, Any]:
        c = self.controllable
        out: dict[str, Any] = {
            "creationTime": self.creation_time,
            "lastUpdateTime": self.last_update_time,
            "label": self.label,
            "deviceURL": self.url_text,
            "shortcut": False,
            "controllableName": c.name,
            "definition": c.definition_json(),
            "states": [s.to_json() for s in self.states.values()],
            "attributes": [a.to_json() for a in self.attributes.values()],
            "available": self.available,
            "enabled": self.enabled,
            "widget": c.widget,
            "type": c.product_type,
            "oid": self.oid,
            "uiClass": c.ui_class,
        }
        if self.place_oid is not None:
            out["placeOID"] = self.place_oid
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.url.subsystem is not None:
            out["subsystemId"] = self.url.subsystem
        return out
