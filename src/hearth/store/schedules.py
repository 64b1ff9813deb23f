"""The rows of ``scheduled_runs`` (migration 0002): runs of an action group at a given time
(``POST /exec/schedule/{oid}/{utcTimestamp}``), kept until they fire or are cancelled.

``add`` and ``remove`` await the flush that carries their row (on disk before the answer); ``remove_later``
waits for the next flush, so that a run is removed in the same transaction that journals the execution it
becomes (the executor's commit), and fires exactly once across a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.store.database import Database
from hearth.store.writer import BatchWriter

DELETE_RUN = "DELETE FROM scheduled_runs WHERE trigger_id = ?"


@dataclass(frozen=True, slots=True)
class ScheduledRunRow:
    trigger_id: str
    action_group_oid: str
    label: str
    utc_time: int  # epoch ms
    creation_time: int  # epoch ms


class ScheduledRunRepository:
    def __init__(self, db: Database, writer: BatchWriter) -> None:
        self._db = db
        self._writer = writer

    async def runs(self) -> list[ScheduledRunRow]:
        rows = await self._db.fetchall(
            "SELECT trigger_id, action_group_oid, label, utc_time, creation_time FROM scheduled_runs"
        )
        return [ScheduledRunRow(*row) for row in rows]

    async def add(self, run: ScheduledRunRow) -> None:
        await self._writer.commit(
            "INSERT INTO scheduled_runs (trigger_id, action_group_oid, label, utc_time, creation_time) "
            "VALUES (?, ?, ?, ?, ?)",
            (run.trigger_id, run.action_group_oid, run.label, run.utc_time, run.creation_time),
        )

    async def remove(self, trigger_id: str) -> None:
        await self._writer.commit(DELETE_RUN, (trigger_id,))

    def remove_later(self, trigger_id: str) -> None:
        """Removed with the next flush: the journal rows of the execution the run becomes."""
        self._writer.commit_later(DELETE_RUN, (trigger_id,))

    async def drop_at_start(self, trigger_id: str) -> None:
        """At start, before the writer runs: a run missed by too long while the gateway was down."""
        await self._db.execute(DELETE_RUN, (trigger_id,))
