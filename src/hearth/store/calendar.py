"""The calendar's rows: days, rules, the next run of its time triggers, and the runs missed while down.

Every write goes through the batch writer: a change that must be on disk before it is answered awaits
``commit``; rows queued with ``commit_later`` land in the same transaction as the next commit (so a set of
rules is written whole, and a timer row with the execution it becomes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hearth.store.database import Database
from hearth.store.writer import BatchWriter

UPSERT_DAY = (
    "INSERT INTO calendar_days (oid, body, creation_time, last_update_time) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (oid) DO UPDATE SET body = excluded.body, last_update_time = excluded.last_update_time"
)
DELETE_DAY = "DELETE FROM calendar_days WHERE oid = ?"
UPSERT_RULE = (
    "INSERT INTO calendar_rules (oid, id, body, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (oid) DO UPDATE SET body = excluded.body, last_update_time = excluded.last_update_time"
)
DELETE_RULE = "DELETE FROM calendar_rules WHERE oid = ?"
UPSERT_TIMER = (
    "INSERT INTO calendar_timers (timer, due_time, active, payload) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (timer) DO UPDATE SET due_time = excluded.due_time, active = excluded.active, "
    "payload = excluded.payload"
)
INSERT_MISSED = "INSERT INTO calendar_missed_runs (time_trigger_id, day, due_time, recorded_time) VALUES (?, ?, ?, ?)"
UPSERT_SETTING = (
    "INSERT INTO gateway_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
ENABLED_KEY = "calendar.enabled"


@dataclass(frozen=True, slots=True)
class StoredRow:
    oid: str
    id: str
    body: dict[str, Any]
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class TimerRow:
    due_ms: int
    payload: dict[str, Any]


class CalendarRepository:
    def __init__(self, db: Database, writer: BatchWriter) -> None:
        self._db = db
        self._writer = writer

    async def days(self) -> list[StoredRow]:
        rows = await self._db.fetchall(
            "SELECT oid, body, creation_time, last_update_time FROM calendar_days ORDER BY creation_time, oid"
        )
        return [StoredRow(oid, "", json.loads(body), created, updated) for oid, body, created, updated in rows]

    async def rules(self) -> list[StoredRow]:
        rows = await self._db.fetchall(
            "SELECT oid, id, body, creation_time, last_update_time FROM calendar_rules ORDER BY creation_time, oid"
        )
        return [StoredRow(oid, rid, json.loads(body), created, updated) for oid, rid, body, created, updated in rows]

    async def enabled(self) -> bool:
        row = await self._db.fetchone("SELECT value FROM gateway_settings WHERE key = ?", (ENABLED_KEY,))
        return row is None or row[0] != "false"

    async def write(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Several statements in one transaction, on disk when this returns."""
        if not rows:
            return
        for sql, params in rows[:-1]:
            self._writer.commit_later(sql, params)
        await self._writer.commit(*rows[-1])

    @staticmethod
    def day_row(oid: str, body: dict[str, Any], created: int, updated: int) -> tuple[str, Sequence[Any]]:
        return UPSERT_DAY, (oid, json.dumps(body), created, updated)

    @staticmethod
    def rule_row(oid: str, rule_id: str, body: dict[str, Any], created: int, updated: int) -> tuple[str, Sequence[Any]]:
        return UPSERT_RULE, (oid, rule_id, json.dumps(body), created, updated)

    async def set_enabled(self, enabled: bool) -> None:
        await self._writer.commit(UPSERT_SETTING, (ENABLED_KEY, "true" if enabled else "false"))

    # ------------------------------------------------------------------ the next run

    async def timer(self) -> TimerRow | None:
        row = await self._db.fetchone(
            "SELECT due_time, payload FROM calendar_timers WHERE timer = 'next' AND active = 1"
        )
        return None if row is None else TimerRow(row[0], json.loads(row[1] or "{}"))

    def queue_timer(self, due_ms: int | None, payload: dict[str, Any]) -> None:
        """The next run (None: nothing to wait for), for the next commit (the executions' journal write)."""
        self._writer.commit_later(UPSERT_TIMER, ("next", due_ms or 0, 0 if due_ms is None else 1, json.dumps(payload)))

    def queue_missed(self, trigger_id: str, day: str, due_ms: int, recorded_ms: int) -> None:
        self._writer.commit_later(INSERT_MISSED, (trigger_id, day, due_ms, recorded_ms))

    async def missed(self) -> list[tuple[str, str, int]]:
        return [
            (t, d, due)
            for t, d, due in await self._db.fetchall(
                "SELECT time_trigger_id, day, due_time FROM calendar_missed_runs ORDER BY due_time"
            )
        ]

    async def sync(self) -> None:
        await self._writer.sync_journal()
