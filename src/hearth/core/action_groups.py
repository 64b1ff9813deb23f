"""Persisted action groups (scenarios): kept in memory, written through to the store."""

from __future__ import annotations

import uuid
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.executor import Executor
from hearth.model.action import AUTHENTICATION_MASK, ActionGroup
from hearth.model.datatype import infer_datatype
from hearth.model.errors import ApiError
from hearth.model.events import ActionGroupCreatedEvent, ActionGroupDeletedEvent, ActionGroupUpdatedEvent, now_ms
from hearth.store.action_groups import ActionGroupRepository
from hearth.store.database import Database


def event_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions of ActionGroup{Created,Updated}Event: commands with their delay and typed parameters
    (``[{type, value}]``, as the seed's events type them); sensitive values already masked."""
    return [
        {
            "deviceURL": action["deviceURL"],
            "commands": [
                {
                    "name": c["name"],
                    "delay": c.get("delay", 0),
                    "parameters": [{"type": int(infer_datatype(p)), "value": p} for p in c.get("parameters", [])],
                }
                for c in action["commands"]
            ],
        }
        for action in actions
    ]


def _keep_masked_authentication(old: ActionGroup, new: ActionGroup) -> None:
    """A group read from the API and sent back carries its commands' authentication masked: the stored value
    stays (the mask is never a credential)."""
    for action, before in zip(new.actions, old.actions, strict=False):
        for command, previous in zip(action.commands, before.commands, strict=False):
            if command.authentication == AUTHENTICATION_MASK:
                command.authentication = previous.authentication


class ActionGroupStore:
    def __init__(self, db: Database, bus: EventBus, executor: Executor) -> None:
        self._rows = ActionGroupRepository(db)
        self._bus = bus
        self._executor = executor
        self._groups: dict[str, tuple[ActionGroup, int, int]] = {}  # oid -> (group, created, updated)

    async def load(self) -> None:
        for row in await self._rows.all():
            self._groups[row.oid] = (row.group, row.creation_time, row.last_update_time)

    def __contains__(self, oid: object) -> bool:
        return oid in self._groups

    def __len__(self) -> int:
        return len(self._groups)

    def get(self, oid: str) -> ActionGroup:
        entry = self._groups.get(oid)
        if entry is None:
            raise ApiError.not_found(f"No such action group : {oid}")
        return entry[0]

    def to_json(self, oid: str) -> dict[str, Any]:
        group, created, updated = self._groups[oid]
        out = group.wire(self._executor.sensitive_masks(group))
        out.update({"creationTime": created, "lastUpdateTime": updated, "oid": oid})
        return out

    def all_oids(self) -> list[str]:
        return list(self._groups)

    def stamp(self, oid: str) -> dict[str, Any]:
        """What a running stored group shows besides its body (``/exec/current``): its oid and times."""
        _, created, updated = self._groups[oid]
        return {"creationTime": created, "lastUpdateTime": updated, "oid": oid}

    def all_json(self) -> list[dict[str, Any]]:
        return [self.to_json(oid) for oid in self._groups]

    async def create(self, group: ActionGroup, oid: str | None = None) -> str:
        """Store a new group; ``oid`` when another system chose it (the cloud), else a new one."""
        self._executor.plan(group, 0)  # every device and command must exist and fit
        oid = oid or str(uuid.uuid4())
        if oid in self._groups:
            raise ApiError.bad_request(f"Action group {oid} exists already")
        now = now_ms()
        group.oid = None
        await self._save(oid, group, now, now)
        self._bus.publish(
            ActionGroupCreatedEvent(
                action_group_oid=oid,
                action_group_label=group.label,
                metadata=group.metadata,
                notification_condition=group.notification_condition,
                actions=event_actions(group.wire(self._executor.sensitive_masks(group))["actions"]),
            )
        )
        return oid

    async def update(self, group: ActionGroup) -> None:
        if not group.oid or group.oid not in self._groups:
            raise ApiError.not_found(f"No such action group : {group.oid}")
        self._executor.plan(group, 0)
        oid, created = group.oid, self._groups[group.oid][1]
        _keep_masked_authentication(self._groups[oid][0], group)
        group.oid = None
        await self._save(oid, group, created, now_ms())
        self._bus.publish(
            ActionGroupUpdatedEvent(
                action_group_oid=oid,
                action_group_label=group.label,
                metadata=group.metadata,
                notification_condition=group.notification_condition,
                actions=event_actions(group.wire(self._executor.sensitive_masks(group))["actions"]),
            )
        )

    async def delete(self, oid: str) -> None:
        self.get(oid)
        await self._rows.delete(oid)
        del self._groups[oid]
        self._bus.publish(ActionGroupDeletedEvent(action_group_oid=oid))

    async def drop_device(self, device_urls: set[str]) -> None:
        """Take the devices out of every action group; a group left with no action goes."""
        for oid, (group, _, _) in list(self._groups.items()):
            kept = [a for a in group.actions if a.device_url not in device_urls]
            if len(kept) == len(group.actions):
                continue
            if not kept:
                await self.delete(oid)
                continue
            edited = group.model_copy(update={"actions": kept, "oid": oid})
            await self.update(edited)

    async def _save(self, oid: str, group: ActionGroup, created: int, updated: int) -> None:
        await self._rows.save(oid, group, created, updated)  # parameters in clear; only the API masks them
        self._groups[oid] = (group, created, updated)
