"""Action groups pushed from the cloud, with versions, and the rule when the home edited them meanwhile.

The cloud sends ``{"id", "oid", "version", "actionGroup"}`` (or ``"deleted": true``). Versions only go up:
one not newer than the last applied is stale and ignored. The rule for a conflict, which loses nothing silently:

- an object edited here (through the local API) after the last version the cloud sent keeps the local edit;
- the cloud's version is not applied, and the result says so: ``{"commandId", "conflict": {"oid", "version",
  "local": <the object as it is here>}}``, so the cloud sees both and can merge;
- the conflict is then settled: the next, newer version the cloud sends applies (that is the cloud's merge).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hearth.model import events as ev
from hearth.model.action import ActionGroup

log = logging.getLogger(__name__)
KIND = "actionGroup"


class CloudObjects:
    def __init__(self, db: Any, bus: Any, action_groups: Any) -> None:
        self._db = db
        self._groups = action_groups
        self._applying: str | None = None
        self._unsubscribe = bus.subscribe(self._on_local_edit, ev.ActionGroupCreatedEvent,
                                          ev.ActionGroupUpdatedEvent, ev.ActionGroupDeletedEvent)
        self._marks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        self._unsubscribe()

    def _on_local_edit(self, event: Any) -> None:
        """An edit through the local API: remembered on disk (it decides the next cloud version's fate)."""
        if event.action_group_oid == self._applying:
            return
        task = asyncio.get_running_loop().create_task(self._mark(event.action_group_oid))
        self._marks.add(task)
        task.add_done_callback(self._marks.discard)

    async def _mark(self, oid: str) -> None:
        await self._db.execute("UPDATE cloud_objects SET edited_here = 1 WHERE kind = ? AND oid = ?", (KIND, oid))

    async def _flush_marks(self) -> None:
        if self._marks:
            await asyncio.gather(*self._marks, return_exceptions=True)

    async def apply(self, command_id: str, body: dict[str, Any]) -> dict[str, Any]:
        await self._flush_marks()
        oid, version = body.get("oid"), body.get("version")
        if not isinstance(oid, str) or not 1 <= len(oid) <= 64:
            raise ValueError("an action group from the cloud needs its oid")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError("an action group from the cloud needs a version (an integer, 0 or more)")
        row = await self._db.fetchone("SELECT cloud_version, edited_here FROM cloud_objects WHERE kind = ? AND oid = ?",
                                      (KIND, oid))
        if row is not None and version <= row[0]:
            return {"commandId": command_id, "stale": {"oid": oid, "version": version, "applied": row[0]}}
        if row is not None and row[1]:
            local = self._groups.to_json(oid) if oid in self._groups else None
            await self._record(oid, version, edited_here=False)  # settled: the next newer version applies
            log.info("cloud action group %s v%d conflicts with a local edit: the local one is kept", oid, version)
            return {"commandId": command_id, "conflict": {"oid": oid, "version": version, "local": local}}
        self._applying = oid
        try:
            if body.get("deleted"):
                if oid in self._groups:
                    await self._groups.delete(oid)
            else:
                group = ActionGroup.model_validate(body.get("actionGroup"))
                if oid in self._groups:
                    group.oid = oid
                    await self._groups.update(group)
                else:
                    await self._groups.create(group, oid)
        finally:
            self._applying = None
        await self._record(oid, version, edited_here=False)
        return {"commandId": command_id, "applied": {"oid": oid, "version": version}}

    async def _record(self, oid: str, version: int, *, edited_here: bool) -> None:
        await self._db.execute(
            "INSERT INTO cloud_objects (kind, oid, cloud_version, edited_here) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, oid) DO UPDATE SET cloud_version = excluded.cloud_version, "
            "edited_here = excluded.edited_here", (KIND, oid, version, int(edited_here)))

