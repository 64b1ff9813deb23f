"""The gateway's side of the attribute namespace: the value of an attribute of a device, now.

Target ids are resolved here: a deviceURL is itself, a device oid becomes its deviceURL (see
``hearth.alerts.attributes`` for the naming rule and the meaning of each ``system.*`` attribute).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from hearth.alerts.aggregates import Aggregate, AggregateBook
from hearth.alerts.attributes import AttributeName, Kind
from hearth.alerts.operators import MISSING
from hearth.core.clock import Clock
from hearth.core.places import PlaceTree
from hearth.core.registry import DeviceRegistry
from hearth.model.device import Device
from hearth.model.device_url import DeviceURL, InvalidDeviceURL


class Observation(NamedTuple):
    value: Any  # MISSING when there is none
    ref_time: int | None  # ms of the data point
    aggregate: Aggregate | None = None


NOTHING = Observation(MISSING, None)


class TargetView:
    def __init__(
        self, registry: DeviceRegistry, places: PlaceTree, aggregates: AggregateBook, clock: Clock, gateway_id: str
    ) -> None:
        self._registry = registry
        self._places = places
        self._aggregates = aggregates
        self._clock = clock
        self._gateway_id = gateway_id
        self._oids: dict[str, str] | None = None
        self.comm_changes: dict[str, int] = {}  # deviceURL -> ms of the last availability change seen

    def devices_changed(self) -> None:
        self._oids = None

    def url_of(self, target_id: str) -> str:
        """The deviceURL a targetId names (an oid of no device is returned as is, and matches nothing)."""
        if self._registry.get(target_id) is not None:
            return target_id
        if self._oids is None:
            self._oids = {d.oid: d.url_text for d in self._registry.all()}
        return self._oids.get(target_id, target_id)

    def exists(self, target_id: str) -> bool:
        """A target a rule may name: a well-formed deviceURL (its device may be paired later) or a device's oid."""
        if self.url_of(target_id) != target_id:
            return True
        try:
            DeviceURL.parse(target_id)
        except InvalidDeviceURL:
            return False
        return True

    def devices(self) -> list[Device]:
        return self._registry.all()

    def observe(self, url: str, name: AttributeName, function: str | None) -> Observation:
        if name.kind is Kind.AGG:
            assert name.scale is not None
            agg = self._aggregates.current((url, name.key, name.scale), self._clock.now())
            return Observation(agg.component(function or "MEAN"), agg.last, agg)
        device = self._registry.get(url)
        if device is None:
            return NOTHING
        if name.kind is Kind.DATA:
            state = device.states.get(name.key)
            return NOTHING if state is None else Observation(state.value, state.last_update_time)
        if name.kind is Kind.SYSTEM:
            value = self._system(device, name.key)
            return NOTHING if value is MISSING else Observation(value, int(self._clock.now() * 1000))
        return NOTHING

    def _system(self, device: Device, name: str) -> Any:
        if name == "system.id":
            return device.url_text
        if name == "system.name":
            return device.label
        if name == "system.labels":
            return self._place_labels(device.place_oid)
        if name == "system.state":
            return "DEPLOYED" if device.enabled else "SUSPENDED"
        if name == "system.commStatus":
            return "OK" if device.available else "ERROR"
        if name == "system.commStatus.changeDate":
            return self.comm_changes.get(device.url_text, MISSING)
        if name == "system.lastCommDate":
            stamps = [s.last_update_time for s in device.states.values()]
            return max(stamps) if stamps else MISSING
        if name == "system.comm.protocol":
            return device.url.protocol
        if name in ("gateway.id", "gateway.serial.number"):
            return self._gateway_id
        return MISSING

    def _place_labels(self, place_oid: str | None) -> list[str]:
        labels = []
        seen: set[str] = set()
        while place_oid is not None and place_oid not in seen:
            seen.add(place_oid)
            place = self._places.get(place_oid)
            if place is None or place.parent_oid is None:  # the root is the home itself
                break
            labels.append(place.label)
            place_oid = place.parent_oid
        return labels
