"""The execution journal: executions and their commands, written before the acts they record."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hearth.core.execution import CommandRun, Execution
from hearth.model.execution import ExecutionState, ExecutionSubType, ExecutionType, FailureType
from hearth.store.database import Database
from hearth.store.writer import BatchWriter

UPSERT_EXECUTION = (
    "INSERT INTO executions (id, state, failure, internal, owner, source, type, sub_type, label, metadata, "
    "action_group_oid, trigger_id, high_priority, start_time, effective_start_time, end_time, action_group) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "state = excluded.state, failure = excluded.failure, effective_start_time = excluded.effective_start_time, "
    "end_time = excluded.end_time"
)
UPSERT_COMMAND = (
    "INSERT INTO execution_commands (exec_id, rank, device_url, name, parameters, sensitive, delay, lock_level, "
    "due_time, state, failure, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (exec_id, rank) DO UPDATE SET parameters = excluded.parameters, state = excluded.state, "
    "failure = excluded.failure, message = excluded.message"
)

# The clean end of a run of commands (COMPLETED, no failure, no message): one statement for many rows. Their
# parameters are left as they are: the row was last written TRANSMITTED, which is masked already.
COMPLETE_COMMANDS = (
    "UPDATE execution_commands SET state = 'COMPLETED', failure = 0, message = NULL "
    "WHERE exec_id = ? AND rank BETWEEN ? AND ?"
)

_EXEC_COLUMNS = (
    "id, state, failure, internal, owner, source, type, sub_type, label, metadata, action_group_oid, "
    "trigger_id, high_priority, start_time, effective_start_time, end_time, action_group"
)


def _execution_row(e: Execution) -> tuple[Any, ...]:
    if e.action_group_json is None:
        e.action_group_json = json.dumps(e.action_group)
    return (
        e.id,
        e.state.value,
        int(e.failure),
        int(e.internal),
        e.owner,
        e.source,
        int(e.type),
        int(e.sub_type),
        e.label,
        e.metadata,
        e.action_group_oid,
        e.trigger_id,
        int(e.high_priority),
        e.start_time,
        e.effective_start_time,
        e.end_time,
        e.action_group_json,
    )


def _command_row(exec_id: str, c: CommandRun) -> tuple[Any, ...]:
    # Clear values only while the command may still have to be sent after a restart.
    masked = c.is_final or c.state is ExecutionState.TRANSMITTED
    sensitive = json.dumps(list(c.sensitive)) if c.sensitive else "[]"
    return (
        exec_id,
        c.rank,
        c.device_url,
        c.name,
        c.parameters_json(masked),
        sensitive,
        c.delay,
        c.lock_level,
        c.due_time,
        c.state.value,
        int(c.failure),
        c.message,
    )


def _runs(ranks: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of ranks, (first, last) each: [0, 1, 2, 5] -> [(0, 2), (5, 5)]."""
    ordered = sorted(set(ranks))
    runs: list[tuple[int, int]] = []
    first = last = ordered[0]
    for rank in ordered[1:]:
        if rank != last + 1:
            runs.append((first, last))
            first = rank
        last = rank
    runs.append((first, last))
    return runs


class ExecutionJournal:
    def __init__(self, db: Database, writer: BatchWriter) -> None:
        self._db = db
        self._writer = writer
        # Commands that completed cleanly since the last journal flush, by execution: written at that flush as
        # one UPDATE per run of ranks instead of one upsert per command (an action group of 50 lights: one
        # statement, not 50). They wait no longer than a row of ``note_command`` would.
        self._completed: dict[str, list[int]] = {}
        writer.before_durable_flush(self._queue_completed)

    async def register(self, execution: Execution) -> None:
        """On disk before the execution id is given out."""
        for command in execution.commands:
            self._writer.commit_later(UPSERT_COMMAND, _command_row(execution.id, command))
        await self._writer.commit(UPSERT_EXECUTION, _execution_row(execution))

    async def before_send(self, execution: Execution, command: CommandRun) -> None:
        """On disk before the command reaches the radio: after a crash it is known to have been in flight."""
        await self._writer.commit(UPSERT_COMMAND, _command_row(execution.id, command))

    def note_command(self, execution: Execution, command: CommandRun) -> None:
        """Queue the command's row for the next journal flush (a transition nothing has to wait for)."""
        if command.state is ExecutionState.COMPLETED and command.message is None:
            # The last write of this row: every earlier one (registration, before_send) is on disk already or
            # queued before it, so the UPDATE queued at flush time (after them) cannot be overtaken.
            ranks = self._completed.get(execution.id)
            if ranks is None:
                ranks = self._completed[execution.id] = []
            ranks.append(command.rank)
            return
        self._writer.commit_later(UPSERT_COMMAND, _command_row(execution.id, command))

    def _queue_completed(self) -> None:
        if not self._completed:
            return
        completed, self._completed = self._completed, {}
        for exec_id, ranks in completed.items():
            for first, last in _runs(ranks):
                self._writer.commit_later(COMPLETE_COMMANDS, (exec_id, first, last))

    def note_execution(self, execution: Execution) -> None:
        self._writer.commit_later(UPSERT_EXECUTION, _execution_row(execution))

    async def unfinished(self) -> list[Execution]:
        rows = await self._db.fetchall(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE state NOT IN ('COMPLETED', 'FAILED')"
        )
        return [await self._load(row) for row in rows]

    async def get(self, exec_id: str) -> Execution | None:
        await self._writer.sync_journal()
        row = await self._db.fetchone(f"SELECT {_EXEC_COLUMNS} FROM executions WHERE id = ?", (exec_id,))
        return await self._load(row) if row else None

    async def history(self, limit: int, before: int | None = None) -> list[Execution]:
        await self._writer.sync_journal()
        rows = await self._db.fetchall(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE internal = 0 AND state IN ('COMPLETED', 'FAILED') "
            "AND start_time < ? ORDER BY start_time DESC LIMIT ?",
            (before or 2**62, limit),
        )
        return [await self._load(row) for row in rows]

    async def delete_history(self) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM execution_commands WHERE exec_id IN "
                "(SELECT id FROM executions WHERE state IN ('COMPLETED', 'FAILED'))"
            )
            conn.execute("DELETE FROM executions WHERE state IN ('COMPLETED', 'FAILED')")

        await self._db.atomic(work)

    async def sweep(self, older_than_ms: int, keep_last: int) -> int:
        """Forget finished executions older than the retention, always keeping the newest ``keep_last``."""
        doomed = (
            "SELECT id FROM executions WHERE state IN ('COMPLETED', 'FAILED') AND start_time < ? "
            "AND id NOT IN (SELECT id FROM executions ORDER BY start_time DESC LIMIT ?)"
        )

        def work(conn: sqlite3.Connection) -> int:
            conn.execute(f"DELETE FROM execution_commands WHERE exec_id IN ({doomed})", (older_than_ms, keep_last))
            return conn.execute(f"DELETE FROM executions WHERE id IN ({doomed})", (older_than_ms, keep_last)).rowcount

        return await self._db.atomic(work)

    async def _load(self, row: tuple[Any, ...]) -> Execution:
        commands = [
            CommandRun(
                rank=r[0],
                device_url=r[1],
                name=r[2],
                parameters=json.loads(r[3]),
                sensitive=tuple(json.loads(r[4])),
                delay=r[5],
                lock_level=r[6],
                due_time=r[7],
                state=ExecutionState(r[8]),
                failure=FailureType(r[9]),
                message=r[10],
            )
            for r in await self._db.fetchall(
                "SELECT rank, device_url, name, parameters, sensitive, delay, lock_level, due_time, state, "
                "failure, message FROM execution_commands WHERE exec_id = ? ORDER BY rank",
                (row[0],),
            )
        ]
        return Execution(
            id=row[0],
            state=ExecutionState(row[1]),
            failure=FailureType(row[2]),
            internal=bool(row[3]),
            owner=row[4],
            source=row[5],
            type=ExecutionType(row[6]),
            sub_type=ExecutionSubType(row[7]),
            label=row[8],
            metadata=row[9],
            action_group_oid=row[10],
            trigger_id=row[11],
            high_priority=bool(row[12]),
            start_time=row[13],
            effective_start_time=row[14],
            end_time=row[15],
            action_group=json.loads(row[16]),
            commands=commands,
            devices=list(dict.fromkeys(c.device_url for c in commands)),
        )
