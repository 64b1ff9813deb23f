"""The setup triggers' rows: their definitions, their timers, the runs missed while down, their global switch.

Tables of migration 0004 (``setup_triggers``, ``trigger_timers``, ``trigger_missed_runs``) and the key
``triggers.enabled`` of ``gateway_settings``. Every write but the start's clean-up goes through the batch
writer: ``save``, ``delete`` and ``set_enabled`` await the flush that carries their row (on disk before the
answer); ``queue_timer`` and ``queue_missed`` wait for the next flush, so that a timer row lands in the same
transaction as the execution it becomes (the executor's journal commit) or as the definition it belongs to.
A timer row is one upsert statement whatever it does (arm or retire), so the rows of one flush keep their order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hearth.store.database import Database
from hearth.store.repositories import SettingsRepository
from hearth.store.writer import BatchWriter

UPSERT_TRIGGER = (
    "INSERT INTO setup_triggers (oid, id, type, mode, body, creation_time, last_update_time) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (oid) DO UPDATE SET mode = excluded.mode, body = excluded.body, "
    "last_update_time = excluded.last_update_time"
)
DELETE_TRIGGER = "DELETE FROM setup_triggers WHERE oid = ?"
UPSERT_TIMER = (
    "INSERT INTO trigger_timers (trigger_oid, timer, due_time, active, payload) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (trigger_oid, timer) DO UPDATE SET due_time = excluded.due_time, active = excluded.active, "
    "payload = excluded.payload"
)
INSERT_MISSED = "INSERT INTO trigger_missed_runs (trigger_oid, timer, due_time, recorded_time) VALUES (?, ?, ?, ?)"
UPSERT_SETTING = (
    "INSERT INTO gateway_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
ENABLED_KEY = "triggers.enabled"


@dataclass(frozen=True, slots=True)
class StoredTrigger:
    """A row of ``setup_triggers``: ``body`` is the inner object of ``{"<type>": {...}}`` (JSON text in the row)."""

    oid: str
    setup_id: str
    type: str
    mode: int
    body: dict[str, Any]
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class TriggerTimerRow:
    """A row of ``trigger_timers``: what a trigger waits for (``timer``: 'delay:<blockId>', 'window',
    'command:<i>.<j>', 'once', 'regulation'), until when (epoch ms), and whether it still waits."""

    trigger_oid: str
    timer: str
    due_ms: int
    active: bool
    payload: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def armed(
        cls, trigger_oid: str, timer: str, due_ms: int, payload: Mapping[str, Any] | None = None
    ) -> TriggerTimerRow:
        """A wait that has started (kept across a restart)."""
        return cls(trigger_oid, timer, due_ms, True, payload or {})

    @classmethod
    def retired(cls, trigger_oid: str, timer: str, due_ms: int = 0) -> TriggerTimerRow:
        """A wait that is over: run, cancelled or missed (deleted at the next start)."""
        return cls(trigger_oid, timer, due_ms, False)


class TriggerRepository:
    def __init__(self, db: Database, writer: BatchWriter) -> None:
        self._db = db
        self._writer = writer
        self._settings = SettingsRepository(db)

    # ------------------------------------------------------------------ the global switch

    async def enabled(self) -> bool:
        """The switch of ``/triggers/status``: on unless it was switched off."""
        return await self._settings.get(ENABLED_KEY) != "false"

    async def set_enabled(self, enabled: bool) -> None:
        # Through the writer (not SettingsRepository.put): on disk with the flush it shares, before the answer.
        await self._writer.commit(UPSERT_SETTING, (ENABLED_KEY, "true" if enabled else "false"))

    # ------------------------------------------------------------------ definitions

    async def triggers(self) -> list[StoredTrigger]:
        rows = await self._db.fetchall(
            "SELECT oid, id, type, mode, body, creation_time, last_update_time FROM setup_triggers"
        )
        return [
            StoredTrigger(oid, setup_id, type_text, mode, json.loads(body), created, updated)
            for oid, setup_id, type_text, mode, body, created, updated in rows
        ]

    async def save(self, trigger: StoredTrigger) -> None:
        """Write the definition (a new one, or its mode, body and last update) and return once it is on disk."""
        await self._writer.commit(
            UPSERT_TRIGGER,
            (
                trigger.oid,
                trigger.setup_id,
                trigger.type,
                trigger.mode,
                json.dumps(trigger.body),
                trigger.created,
                trigger.updated,
            ),
        )

    async def delete(self, oid: str) -> None:
        await self._writer.commit(DELETE_TRIGGER, (oid,))

    # ------------------------------------------------------------------ timers

    async def drop_retired_timers(self) -> None:
        """At start, before reading: the rows of waits that are over, or of triggers that are gone."""
        await self._db.execute(
            "DELETE FROM trigger_timers WHERE active = 0 OR trigger_oid NOT IN (SELECT oid FROM setup_triggers)"
        )

    async def active_timers(self) -> list[TriggerTimerRow]:
        rows = await self._db.fetchall(
            "SELECT trigger_oid, timer, due_time, payload FROM trigger_timers WHERE active = 1"
        )
        return [
            TriggerTimerRow(oid, timer, due_ms, True, json.loads(payload or "{}"))
            for oid, timer, due_ms, payload in rows
        ]

    def queue_timer(self, row: TriggerTimerRow) -> None:
        """For the next flush (the next commit: an execution's journal write, a definition)."""
        self._writer.commit_later(
            UPSERT_TIMER, (row.trigger_oid, row.timer, row.due_ms, int(row.active), json.dumps(dict(row.payload)))
        )

    def queue_missed(self, trigger_oid: str, timer: str, due_ms: int, recorded_ms: int) -> None:
        """A run due while the gateway was down and later than the grace: not run, recorded."""
        self._writer.commit_later(INSERT_MISSED, (trigger_oid, timer, due_ms, recorded_ms))

    async def sync(self) -> None:
        """Write the queued rows now (a new definition's timers are on disk before it is answered)."""
        await self._writer.sync_journal()
