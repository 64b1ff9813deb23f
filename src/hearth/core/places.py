"""The tree of places (house, floors, rooms), with a fixed root."""

from __future__ import annotations

import uuid
from typing import Any

from hearth.core.bus import EventBus
from hearth.model.errors import ApiError
from hearth.model.events import PlaceCreatedEvent, PlaceDeletedEvent, PlaceUpdatedEvent, now_ms
from hearth.model.place import Place
from hearth.store.repositories import PlaceRepository

ROOT_TYPE = 1  # the End-User API's example type for the root ("a house")


class PlaceTree:
    def __init__(self, repo: PlaceRepository, bus: EventBus) -> None:
        self._repo = repo
        self._bus = bus
        self._by_oid: dict[str, Place] = {}
        self.root: Place | None = None

    async def load(self, root_label: str, seed: list[dict[str, Any]]) -> None:
        """Read the tree; on first start make the root and the places given by the configuration."""
        places = await self._repo.all()
        for place in places:
            self._by_oid[place.oid] = place
        for place in places:
            if place.parent_oid is None:
                self.root = place
            elif place.parent_oid in self._by_oid:
                self._by_oid[place.parent_oid].children.append(place)
        if self.root is None:
            now = now_ms()
            self.root = Place(
                oid=str(uuid.uuid4()),
                label=root_label,
                type=ROOT_TYPE,
                parent_oid=None,
                creation_time=now,
                last_update_time=now,
            )
            self._by_oid[self.root.oid] = self.root
            await self._repo.save(self.root)
            for entry in seed:
                await self._seed(self.root, entry)

    async def _seed(self, parent: Place, entry: dict[str, Any]) -> None:
        place = await self.create(parent.oid, label=entry["label"], type=entry.get("type", 2), announce=False)
        for child in entry.get("children", []):
            await self._seed(place, child)

    def get(self, oid: str) -> Place | None:
        return self._by_oid.get(oid)

    def require(self, oid: str) -> Place:
        place = self._by_oid.get(oid)
        if place is None:
            raise ApiError.not_found(f"No such place : {oid}")
        return place

    def find_by_label(self, label: str) -> Place | None:
        for place in self._by_oid.values():
            if place.label == label:
                return place
        return None

    def all(self) -> list[Place]:
        return list(self._by_oid.values())

    def subtree_oids(self, place: Place) -> set[str]:
        out = {place.oid}
        for child in place.children:
            out |= self.subtree_oids(child)
        return out

    async def create(
        self, parent_oid: str, *, label: str, type: int | str, metadata: str | None = None, announce: bool = True
    ) -> Place:
        parent = self.require(parent_oid)
        now = now_ms()
        place = Place(
            oid=str(uuid.uuid4()),
            label=label,
            type=type,
            parent_oid=parent.oid,
            metadata=metadata,
            creation_time=now,
            last_update_time=now,
        )
        await self._repo.save(place)
        self._by_oid[place.oid] = place
        parent.children.append(place)
        if announce:
            self._bus.publish(
                PlaceCreatedEvent(
                    place_oid=place.oid,
                    parent_place_oid=parent.oid,
                    type=place.type,
                    label=place.label,
                    metadata=place.metadata,
                )
            )
        return place

    async def update(
        self, place: Place, *, label: str | None = None, type: int | str | None = None, metadata: str | None = None
    ) -> None:
        if label is not None:
            place.label = label
        if type is not None:
            place.type = type
        if metadata is not None:
            place.metadata = metadata
        place.last_update_time = now_ms()
        await self._repo.save(place)
        self._announce_update(place)

    async def move(self, place: Place, new_parent_oid: str) -> None:
        new_parent = self.require(new_parent_oid)
        if place is self.root:
            raise ApiError.bad_request("The root place cannot be moved")
        if new_parent.oid in self.subtree_oids(place):
            raise ApiError.bad_request("A place cannot be moved under itself or one of its sub-places")
        old_parent = self._by_oid[place.parent_oid] if place.parent_oid else None
        if old_parent is not None:
            old_parent.children.remove(place)
        new_parent.children.append(place)
        place.parent_oid = new_parent.oid
        place.last_update_time = now_ms()
        await self._repo.save(place)
        self._announce_update(place)

    async def delete(self, place: Place) -> set[str]:
        """Delete a place and its sub-places; returns their oids (their devices go to the root)."""
        if place is self.root:
            raise ApiError.bad_request("The root place cannot be deleted")
        oids = self.subtree_oids(place)
        parent = self._by_oid.get(place.parent_oid or "")
        if parent is not None:
            parent.children.remove(place)
        # Children first: a place row references its parent.
        for oid in sorted(oids, key=lambda o: -self._depth(o)):
            await self._repo.delete(oid)
        for oid in oids:
            self._by_oid.pop(oid, None)
            self._bus.publish(PlaceDeletedEvent(place_oid=oid))
        return oids

    def _depth(self, oid: str) -> int:
        depth, place = 0, self._by_oid.get(oid)
        while place is not None and place.parent_oid is not None:
            depth, place = depth + 1, self._by_oid.get(place.parent_oid)
        return depth

    def _announce_update(self, place: Place) -> None:
        self._bus.publish(
            PlaceUpdatedEvent(
                place_oid=place.oid,
                parent_place_oid=place.parent_oid,
                type=place.type,
                label=place.label,
                metadata=place.metadata,
            )
        )
