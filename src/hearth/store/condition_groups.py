"""The condition_groups table (migration 0003): one row per condition group, its body kept as JSON text.

The body is the group as the API shows it, ``{label, metadata, conditions}``; the gateway compiles it again at
load (hearth.core.conditions), so the format of a condition lives in one place. The repository hands the body
back as the text it stored: the caller decodes it, so one row it cannot read is reported and skipped rather
than failing the whole load.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.store.database import Database


@dataclass(frozen=True, slots=True)
class ConditionGroupRow:
    oid: str
    label: str
    body: str  # JSON text: {"label", "metadata", "conditions"}
    creation_time: int
    last_update_time: int


class ConditionGroupRepository:
    """Reads and writes of the condition_groups table; each write is its own statement, awaited."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[ConditionGroupRow]:
        rows = await self._db.fetchall("SELECT oid, label, body, creation_time, last_update_time FROM condition_groups")
        return [ConditionGroupRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def save(self, row: ConditionGroupRow) -> None:
        """Insert the group, or replace its label and body (its creation time stays the first one)."""
        await self._db.execute(
            "INSERT INTO condition_groups (oid, label, body, creation_time, last_update_time) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (oid) DO UPDATE SET label = excluded.label, "
            "body = excluded.body, last_update_time = excluded.last_update_time",
            (row.oid, row.label, row.body, row.creation_time, row.last_update_time),
        )

    async def delete(self, oid: str) -> None:
        await self._db.execute("DELETE FROM condition_groups WHERE oid = ?", (oid,))
