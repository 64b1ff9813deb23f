"""Which version of each object the cloud pushed was applied last, and whether the home edited it since
(``hearth.cloud.objects`` decides with them what a new version from the cloud does)."""

from __future__ import annotations

from dataclasses import dataclass

from hearth.store.database import Database


@dataclass(frozen=True, slots=True)
class CloudVersion:
    version: int  # the last version the cloud sent that was applied (or settled as a conflict)
    edited_here: bool  # edited through the local API after that version


class CloudObjectRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, kind: str, oid: str) -> CloudVersion | None:
        row = await self._db.fetchone(
            "SELECT cloud_version, edited_here FROM cloud_objects WHERE kind = ? AND oid = ?", (kind, oid)
        )
        return None if row is None else CloudVersion(row[0], bool(row[1]))

    async def mark_edited_here(self, kind: str, oid: str) -> None:
        """Only an object the cloud sent has a row: one made here has nothing to mark."""
        await self._db.execute("UPDATE cloud_objects SET edited_here = 1 WHERE kind = ? AND oid = ?", (kind, oid))

    async def record(self, kind: str, oid: str, version: int) -> None:
        """The cloud's ``version`` is applied (or its conflict settled): the local edit mark is cleared."""
        await self._db.execute(
            "INSERT INTO cloud_objects (kind, oid, cloud_version, edited_here) VALUES (?, ?, ?, 0) "
            "ON CONFLICT (kind, oid) DO UPDATE SET cloud_version = excluded.cloud_version, edited_here = 0",
            (kind, oid, version),
        )
