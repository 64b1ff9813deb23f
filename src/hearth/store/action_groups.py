"""The rows of the action groups (scenarios): each group's body as JSON, its label, its times."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hearth.model.action import ActionGroup
from hearth.store.database import Database


@dataclass(frozen=True, slots=True)
class StoredActionGroup:
    oid: str
    group: ActionGroup
    creation_time: int
    last_update_time: int


class ActionGroupRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[StoredActionGroup]:
        return [
            StoredActionGroup(oid, ActionGroup.model_validate(json.loads(body)), created, updated)
            for oid, body, created, updated in await self._db.fetchall(
                "SELECT oid, body, creation_time, last_update_time FROM action_groups"
            )
        ]

    async def save(self, oid: str, group: ActionGroup, created: int, updated: int) -> None:
        # Parameters are kept in clear: they are needed to run the group. Only the API masks them.
        body = json.dumps(group.model_dump(by_alias=True, exclude_none=True))
        await self._db.execute(
            "INSERT INTO action_groups (oid, label, body, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (oid) DO UPDATE SET label = excluded.label, body = excluded.body, "
            "last_update_time = excluded.last_update_time",
            (oid, group.label, body, created, updated),
        )

    async def delete(self, oid: str) -> None:
        await self._db.execute("DELETE FROM action_groups WHERE oid = ?", (oid,))
