"""Action groups, condition groups and setup triggers pushed from the cloud, with versions, and the rule when the
home edited one meanwhile.

The cloud sends ``{"id", "oid", "version", "actionGroup" | "conditionGroup" | "trigger"}`` (or ``"deleted": true``)
on ``down/actionGroup``, ``down/conditionGroup`` or ``down/trigger``. Versions only go up: one not newer than the
last applied is stale and ignored. The rule for a conflict, which loses nothing silently:

- an object edited here (through the local API) after the last version the cloud sent keeps the local edit;
- the cloud's version is not applied, and the result says so: ``{"commandId", "conflict": {"oid", "version",
  "local": <the object as it is here>}}``, so the cloud sees both and can merge;
- the conflict is then settled: the next, newer version the cloud sends applies (that is the cloud's merge).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hearth.model import events as ev
from hearth.model.action import ActionGroup
from hearth.store.cloud_objects import CloudObjectRepository
from hearth.store.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Kind:
    """How one kind of object is read, written and noticed when edited locally."""

    name: str
    events: tuple[type[ev.Event], ...]
    oid_of: Callable[[Any], str]
    exists: Callable[[str], bool]
    local: Callable[[str], dict[str, Any]]
    create: Callable[[dict[str, Any], str], Awaitable[Any]]
    update: Callable[[dict[str, Any], str], Awaitable[Any]]
    delete: Callable[[str], Awaitable[Any]]


def _kinds(action_groups: Any, condition_groups: Any, triggers: Any) -> dict[str, _Kind]:
    kinds: dict[str, _Kind] = {}
    if action_groups is not None:

        async def ag_update(body: dict[str, Any], oid: str) -> None:
            group = ActionGroup.model_validate(body)
            group.oid = oid
            await action_groups.update(group)

        kinds["actionGroup"] = _Kind(
            "actionGroup",
            (ev.ActionGroupCreatedEvent, ev.ActionGroupUpdatedEvent, ev.ActionGroupDeletedEvent),
            lambda e: e.action_group_oid,
            lambda oid: oid in action_groups,
            action_groups.to_json,
            lambda body, oid: action_groups.create(ActionGroup.model_validate(body), oid),
            ag_update,
            action_groups.delete,
        )
    if condition_groups is not None:
        kinds["conditionGroup"] = _Kind(
            "conditionGroup",
            (ev.ConditionGroupCreatedEvent, ev.ConditionGroupUpdatedEvent, ev.ConditionGroupDeletedEvent),
            lambda e: e.condition_group_oid,
            lambda oid: oid in condition_groups,
            lambda oid: condition_groups.get(oid).to_json(),
            lambda body, oid: condition_groups.create(body, oid),
            lambda body, oid: condition_groups.update({**body, "oid": oid}),
            condition_groups.delete,
        )
    if triggers is not None:

        async def trigger_delete(oid: str) -> None:
            trigger = triggers.find(oid)
            await triggers.delete(trigger.type.value, oid)

        kinds["trigger"] = _Kind(
            "trigger",
            (ev.SetupTriggerCreatedEvent, ev.SetupTriggerUpdatedEvent, ev.SetupTriggerDeletedEvent),
            lambda e: e.setup_trigger_oid,
            lambda oid: triggers.find(oid) is not None,
            lambda oid: triggers.find(oid).to_json(),
            lambda body, oid: triggers.create(body, oid=oid),
            lambda body, oid: triggers.update(_with_inner_oid(body, oid)),
            trigger_delete,
        )
    return kinds


def _with_inner_oid(body: dict[str, Any], oid: str) -> dict[str, Any]:
    """A trigger is ``{"<type>": {...}}``: its oid goes inside."""
    return {kind: {**inner, "oid": oid} if isinstance(inner, dict) else inner for kind, inner in body.items()}


class CloudObjects:
    def __init__(
        self, db: Database, bus: Any, action_groups: Any, condition_groups: Any = None, triggers: Any = None
    ) -> None:
        self._versions = CloudObjectRepository(db)
        self.kinds = _kinds(action_groups, condition_groups, triggers)
        self._applying: tuple[str, str] | None = None
        self._marks: set[asyncio.Task[None]] = set()
        self._unsubscribe = [
            bus.subscribe(lambda e, k=kind: self._on_local_edit(k, e), *kind.events) for kind in self.kinds.values()
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _on_local_edit(self, kind: _Kind, event: Any) -> None:
        """An edit through the local API: remembered on disk (it decides the next cloud version's fate)."""
        oid = kind.oid_of(event)
        if self._applying == (kind.name, oid):
            return
        task = asyncio.get_running_loop().create_task(self._versions.mark_edited_here(kind.name, oid))
        self._marks.add(task)
        task.add_done_callback(self._marks.discard)

    async def apply(self, kind_name: str, command_id: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = self.kinds.get(kind_name)
        if kind is None:
            raise ValueError(f"{kind_name} objects are not taken from the cloud")
        if self._marks:  # local edits noticed just before: on disk first
            await asyncio.gather(*self._marks, return_exceptions=True)
        oid, version = body.get("oid"), body.get("version")
        if not isinstance(oid, str) or not 1 <= len(oid) <= 64:
            raise ValueError(f"a {kind.name} from the cloud needs its oid")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError(f"a {kind.name} from the cloud needs a version (an integer, 0 or more)")
        known = await self._versions.get(kind.name, oid)
        if known is not None and version <= known.version:
            return {"commandId": command_id, "stale": {"oid": oid, "version": version, "applied": known.version}}
        if known is not None and known.edited_here:
            local = kind.local(oid) if kind.exists(oid) else None
            await self._versions.record(kind.name, oid, version)  # settled: the next newer version applies
            log.info("cloud %s %s v%d conflicts with a local edit: the local one is kept", kind.name, oid, version)
            return {"commandId": command_id, "conflict": {"oid": oid, "version": version, "local": local}}
        self._applying = (kind.name, oid)
        try:
            if body.get("deleted"):
                if kind.exists(oid):
                    await kind.delete(oid)
            else:
                payload = body.get(kind.name)
                if not isinstance(payload, dict):
                    raise ValueError(f"a {kind.name} from the cloud needs its {kind.name} (an object) or deleted")
                await (kind.update if kind.exists(oid) else kind.create)(payload, oid)
        finally:
            self._applying = None
        await self._versions.record(kind.name, oid, version)
        return {"commandId": command_id, "applied": {"oid": oid, "version": version}}
