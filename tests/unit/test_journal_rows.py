"""The execution journal's rows on a real SQLite file: what a restart would read after each transition.

Clean completions are written as one UPDATE per run of ranks (not one upsert per command); these tests
check that the rows on disk end the same as with one upsert each: state, failure, message, and parameters
masked once the command may no longer be sent.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hearth.core.execution import MASK, CommandRun, Execution
from hearth.model.execution import ExecutionState, ExecutionSubType, ExecutionType, FailureType
from hearth.store.database import Database
from hearth.store.journal import ExecutionJournal, _runs
from hearth.store.writer import BatchWriter

S = ExecutionState


def _execution(exec_id: str, count: int) -> Execution:
    commands = [
        CommandRun(
            rank=k,
            device_url=f"virtual://1234/{1000 + k}",
            name="setCode" if k == 0 else "on",
            parameters=["secret"] if k == 0 else [],
            sensitive=(0,) if k == 0 else (),
            delay=0,
            lock_level=None,
            due_time=0,
        )
        for k in range(count)
    ]
    return Execution(
        id=exec_id,
        label="test",
        metadata=None,
        owner="test",
        source="local",
        type=ExecutionType.IMMEDIATE,
        sub_type=ExecutionSubType.MANUAL_CONTROL,
        action_group_oid=None,
        action_group={"label": "test", "actions": []},
        commands=commands,
        start_time=1,
    )


def _rows(path: Path, exec_id: str) -> list[tuple[int, str, int, str | None, list[object]]]:
    conn = sqlite3.connect(path)
    try:
        return [
            (rank, state, failure, message, json.loads(parameters))
            for rank, state, failure, message, parameters in conn.execute(
                "SELECT rank, state, failure, message, parameters FROM execution_commands WHERE exec_id = ? "
                "ORDER BY rank",
                (exec_id,),
            )
        ]
    finally:
        conn.close()


def test_runs_of_ranks() -> None:
    assert _runs([0]) == [(0, 0)]
    assert _runs([3, 1, 2, 0]) == [(0, 3)]
    assert _runs([0, 1, 2, 5, 7, 8, 8]) == [(0, 2), (5, 5), (7, 8)]


async def test_completions_reach_the_disk_as_one_upsert_each_would(tmp_path: Path) -> None:
    db = Database(tmp_path / "hearth.db")
    await db.open()
    writer = BatchWriter(db, window_ms=10_000)  # no tick: only the journal's own flushes write
    writer.start()
    journal = ExecutionJournal(db, writer)
    try:
        execution = _execution("e1", 6)
        execution.commands[0].state = S.TRANSMITTED  # sent with the registration: its row is masked
        await journal.register(execution)
        before = _rows(tmp_path / "hearth.db", "e1")
        assert [r[1] for r in before] == ["TRANSMITTED"] + ["INITIALIZED"] * 5
        assert before[0][4] == [MASK]

        for command in execution.commands[1:]:
            command.state = S.TRANSMITTED
            await journal.before_send(execution, command)
        # 0, 1, 2 and 4 complete cleanly; 3 fails; 5 completes with a message (its own upsert).
        for k in (2, 0, 1, 4):
            execution.commands[k].state = S.COMPLETED
            journal.note_command(execution, execution.commands[k])
        failed = execution.commands[3]
        failed.state, failed.failure, failed.message = S.FAILED, FailureType.DEVICE_NO_ANSWER, "no answer"
        journal.note_command(execution, failed)
        last = execution.commands[5]
        last.state, last.message = S.COMPLETED, "read back"
        journal.note_command(execution, last)
        # Nothing is written until a flush: the completions are held in memory like queued rows are.
        assert [r[1] for r in _rows(tmp_path / "hearth.db", "e1")] == ["TRANSMITTED"] * 6

        await writer.sync_journal()
        assert _rows(tmp_path / "hearth.db", "e1") == [
            (0, "COMPLETED", 0, None, [MASK]),
            (1, "COMPLETED", 0, None, []),
            (2, "COMPLETED", 0, None, []),
            (3, "FAILED", int(FailureType.DEVICE_NO_ANSWER), "no answer", []),
            (4, "COMPLETED", 0, None, []),
            (5, "COMPLETED", 0, "read back", []),
        ]
        # What a restart reads: the execution and its commands, final.
        loaded = await journal.get("e1")
        assert loaded is not None
        assert [c.state for c in loaded.commands] == [S.COMPLETED] * 3 + [S.FAILED] + [S.COMPLETED] * 2
        assert loaded.commands[0].parameters == [MASK]
    finally:
        await writer.close()
        await db.close()


async def test_completions_of_other_executions_stay_theirs(tmp_path: Path) -> None:
    db = Database(tmp_path / "hearth.db")
    await db.open()
    writer = BatchWriter(db, window_ms=10_000)
    writer.start()
    journal = ExecutionJournal(db, writer)
    try:
        one, two = _execution("one", 3), _execution("two", 3)
        for execution in (one, two):
            for command in execution.commands:
                command.state = S.TRANSMITTED
            await journal.register(execution)
        one.commands[1].state = S.COMPLETED
        journal.note_command(one, one.commands[1])
        # The next durable commit (another execution's registration) carries the completion with it.
        await journal.register(_execution("three", 1))
        assert [r[1] for r in _rows(tmp_path / "hearth.db", "one")] == ["TRANSMITTED", "COMPLETED", "TRANSMITTED"]
        assert [r[1] for r in _rows(tmp_path / "hearth.db", "two")] == ["TRANSMITTED"] * 3
    finally:
        await writer.close()
        await db.close()
