"""The rows of the edge alert rules (``hearth.alerts``): rules, operation triggers, AlertStates, aggregates,
pending trigger runs and history.

The engine builds rows with the ``*_row`` functions and hands them back to the repository to queue (batched, may
wait for the next flush) or to write (on disk when the call returns); it never writes SQL itself.

Retention: alerts and state changes older than ``MAX_AGE_DAYS`` go, and at most ``MAX_ROWS`` of each are
kept (the newest); swept at start, every hour and after every ``SWEEP_EVERY`` new rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hearth.alerts.aggregates import AggKey, Aggregate
from hearth.alerts.records import Alert, AlertState, StateChange
from hearth.alerts.triggers import TriggerRun
from hearth.store.database import Database
from hearth.store.writer import BatchWriter

MAX_AGE_DAYS = 90
MAX_ROWS = 10_000
SWEEP_EVERY = 1_000

Row = tuple[str, Sequence[Any]]

UPSERT_RULE = (
    "INSERT INTO alert_rules (id, name, body, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, body = excluded.body, "
    "last_update_time = excluded.last_update_time"
)
UPSERT_TRIGGER = (
    "INSERT INTO operation_triggers (uid, rule_id, body, creation_time) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (uid) DO UPDATE SET rule_id = excluded.rule_id, body = excluded.body"
)
UPSERT_STATE = (
    "INSERT INTO alert_states (rule_id, target_id, state, state_change_ts, first_alert_id, last_alert_id, "
    "attributes, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule_id, target_id) DO UPDATE SET "
    "state = excluded.state, state_change_ts = excluded.state_change_ts, first_alert_id = excluded.first_alert_id, "
    "last_alert_id = excluded.last_alert_id, attributes = excluded.attributes, version = excluded.version "
    "WHERE excluded.version > alert_states.version"
)
INSERT_ALERT = (
    "INSERT OR IGNORE INTO alerts (id, ts, rule_id, target_id, state, state_change_ts, attributes) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_STATE_CHANGE = (
    "INSERT OR IGNORE INTO alert_state_history (id, ts, rule_id, target_id, state, first_alert_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
UPSERT_AGGREGATE = (
    "INSERT INTO alert_aggregates (target_id, data_id, scale, bucket_start, min, max, sum, cnt, last) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target_id, data_id, scale) DO UPDATE SET "
    "bucket_start = excluded.bucket_start, min = excluded.min, max = excluded.max, sum = excluded.sum, "
    "cnt = excluded.cnt, last = excluded.last"
)
INSERT_RUN = (
    "INSERT OR IGNORE INTO alert_trigger_runs (id, trigger_uid, action_group_oid, rule_id, target_id, "
    "created) VALUES (?, ?, ?, ?, ?, ?)"
)
DELETE_RUN = "DELETE FROM alert_trigger_runs WHERE id = ?"
DELETE_STATES_OF_RULE = "DELETE FROM alert_states WHERE rule_id = ?"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def state_row(state: AlertState) -> Row:
    return UPSERT_STATE, (
        state.rule_id,
        state.target_id,
        int(state.state),
        state.state_change_ts,
        state.first_alert_id,
        state.last_alert_id,
        _dumps(state.attributes),
        state.version,
    )


def alert_row(alert: Alert) -> Row:
    return INSERT_ALERT, (
        alert.id,
        alert.ts,
        alert.rule_id,
        alert.target_id,
        _flag(alert.state),
        alert.state_change_ts,
        _dumps(alert.attributes),
    )


def state_change_row(change: StateChange) -> Row:
    return INSERT_STATE_CHANGE, (
        change.id,
        change.ts,
        change.rule_id,
        change.target_id,
        int(change.state),
        change.first_alert_id,
    )


def aggregate_row(key: AggKey, agg: Aggregate) -> Row:
    return UPSERT_AGGREGATE, (*key, agg.start, agg.min, agg.max, agg.sum, agg.cnt, agg.last)


def run_row(run: TriggerRun) -> Row:
    return INSERT_RUN, (run.id, run.trigger_uid, run.action_group_oid, run.rule_id, run.target_id, run.created)


def run_done_row(run_id: str) -> Row:
    return DELETE_RUN, (run_id,)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


class AlertRepository:
    def __init__(self, db: Database, writer: BatchWriter) -> None:
        self._db = db
        self._writer = writer

    # ------------------------------------------------------------------ configuration

    async def rules(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (rid, json.loads(body))
            for rid, body in await self._db.fetchall("SELECT id, body FROM alert_rules ORDER BY creation_time")
        ]

    async def save_rule(self, rule_id: str, name: str, body: dict[str, Any], now: int) -> None:
        await self._writer.commit(UPSERT_RULE, (rule_id, name, _dumps(body), now, now))

    async def delete_rule(self, rule_id: str) -> None:
        self._writer.commit_later(DELETE_STATES_OF_RULE, (rule_id,))
        await self._writer.commit("DELETE FROM alert_rules WHERE id = ?", (rule_id,))

    async def triggers(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (uid, json.loads(body))
            for uid, body in await self._db.fetchall("SELECT uid, body FROM operation_triggers ORDER BY creation_time")
        ]

    async def save_trigger(self, uid: str, rule_id: str, body: dict[str, Any], now: int) -> None:
        await self._writer.commit(UPSERT_TRIGGER, (uid, rule_id, _dumps(body), now))

    async def delete_trigger(self, uid: str) -> None:
        await self._writer.commit("DELETE FROM operation_triggers WHERE uid = ?", (uid,))

    # ------------------------------------------------------------------ running state

    def queue(self, rows: Sequence[Row]) -> None:
        """Rows for the writer's next batch: not waited for (lost in a crash before the flush, like any batch)."""
        for sql, params in rows:
            self._writer.queue(sql, params)

    def write_later(self, row: Row) -> None:
        """A row for the same transaction as the next commit (a trigger run leaves with its execution's rows)."""
        self._writer.commit_later(*row)

    async def write(self, rows: Sequence[Row]) -> None:
        """Rows in one transaction, on disk when this returns."""
        if not rows:
            return
        for sql, params in rows[:-1]:
            self._writer.commit_later(sql, params)
        await self._writer.commit(*rows[-1])

    async def forget_states(self, rule_id: str) -> None:
        await self._writer.commit(DELETE_STATES_OF_RULE, (rule_id,))

    async def states(self) -> list[AlertState]:
        rows = await self._db.fetchall(
            "SELECT rule_id, target_id, state, state_change_ts, first_alert_id, last_alert_id, attributes, version "
            "FROM alert_states"
        )
        return [AlertState(r[0], r[1], bool(r[2]), r[3], r[4], r[5], json.loads(r[6]), r[7]) for r in rows]

    async def drop_states_of_unknown_rules(self, known: set[str]) -> None:
        for (rule_id,) in await self._db.fetchall("SELECT DISTINCT rule_id FROM alert_states"):
            if rule_id not in known:
                await self._db.execute("DELETE FROM alert_states WHERE rule_id = ?", (rule_id,))

    async def aggregates(self) -> list[tuple[AggKey, Aggregate]]:
        rows = await self._db.fetchall(
            "SELECT target_id, data_id, scale, bucket_start, min, max, sum, cnt, last FROM alert_aggregates"
        )
        return [((r[0], r[1], r[2]), Aggregate(r[3], r[4], r[5], r[6], r[7], r[8])) for r in rows]

    async def runs(self) -> list[TriggerRun]:
        rows = await self._db.fetchall(
            "SELECT id, trigger_uid, action_group_oid, rule_id, target_id, created FROM alert_trigger_runs "
            "ORDER BY created"
        )
        return [TriggerRun(*r) for r in rows]

    # ------------------------------------------------------------------ history

    @staticmethod
    def _window(
        target_id: str | None, rule_ids: list[str] | None, start: int, end: int, asc: bool
    ) -> tuple[str, list[Any]]:
        # asc: [from, to[ oldest first; else ]from, to] newest first (seed 001).
        where = "ts >= ? AND ts < ?" if asc else "ts > ? AND ts <= ?"
        params: list[Any] = [start, end]
        if target_id is not None:
            where += " AND target_id = ?"
            params.append(target_id)
        if rule_ids:
            where += f" AND rule_id IN ({', '.join('?' * len(rule_ids))})"
            params.extend(rule_ids)
        order = "ASC" if asc else "DESC"
        return f"WHERE {where} ORDER BY ts {order}, rowid {order} LIMIT ?", params

    async def alerts(
        self, target_id: str | None, rule_ids: list[str] | None, start: int, end: int, asc: bool, size: int
    ) -> list[Alert]:
        await self._writer.flush()  # the rows of the current window too
        tail, params = self._window(target_id, rule_ids, start, end, asc)
        rows = await self._db.fetchall(
            f"SELECT id, ts, rule_id, target_id, state, state_change_ts, attributes FROM alerts {tail}", (*params, size)
        )
        return [Alert(r[0], r[1], r[2], r[3], _bool(r[4]), r[5], json.loads(r[6])) for r in rows]

    async def alert(self, alert_id: str) -> Alert | None:
        await self._writer.flush()
        r = await self._db.fetchone(
            "SELECT id, ts, rule_id, target_id, state, state_change_ts, attributes FROM alerts WHERE id = ?",
            (alert_id,),
        )
        return None if r is None else Alert(r[0], r[1], r[2], r[3], _bool(r[4]), r[5], json.loads(r[6]))

    async def state_changes(
        self, target_id: str | None, rule_ids: list[str] | None, start: int, end: int, asc: bool, size: int
    ) -> list[StateChange]:
        await self._writer.flush()
        tail, params = self._window(target_id, rule_ids, start, end, asc)
        rows = await self._db.fetchall(
            f"SELECT id, ts, rule_id, target_id, state, first_alert_id FROM alert_state_history {tail}", (*params, size)
        )
        return [StateChange(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    async def sweep(self, now_ms: int) -> int:
        """Apply the retention; returns the number of rows removed."""
        cutoff = now_ms - MAX_AGE_DAYS * 86_400_000
        removed = 0
        for table in ("alerts", "alert_state_history"):
            removed += await self._db.execute(f"DELETE FROM {table} WHERE ts < ?", (cutoff,))
            removed += await self._db.execute(
                f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} ORDER BY ts DESC, rowid DESC "
                "LIMIT -1 OFFSET ?)",
                (MAX_ROWS,),
            )
        return removed
