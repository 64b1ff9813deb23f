"""The batched writer on a real SQLite file: a stream flush writes one window and ends, commits go first.

The defect these guard against: a stream flush that also took the rows queued while it wrote never ended
under a steady stream (each chunk's write let the next chunk's rows arrive), so every commit (an execution
about to be sent) found a chunk of the stream in its way.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hearth.store.database import Database
from hearth.store.writer import BatchWriter

T = TypeVar("T")

INSERT_POINT = "INSERT INTO points (n) VALUES (?)"
INSERT_SUMMARY = "INSERT INTO summaries (upto) VALUES (?)"
INSERT_JOURNAL = "INSERT INTO journal (n) VALUES (?)"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "hearth.db")
    await database.open()
    await database.execute("CREATE TABLE points (n INTEGER)")
    await database.execute("CREATE TABLE summaries (upto INTEGER)")
    await database.execute("CREATE TABLE journal (n INTEGER)")
    yield database
    await database.close()


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


class Recorder:
    """Records the statements of each transaction the writer sends to the database: (statement, rows) each."""

    def __init__(self, db: Database) -> None:
        self.transactions: list[list[tuple[str, int]]] = []
        self.syncs: list[bool] = []
        original = db.atomic

        async def atomic(work: Callable[[Any], T], *, sync: bool = True) -> T:
            statements: list[tuple[str, int]] = []

            class Recording:
                def __init__(self, conn: sqlite3.Connection) -> None:
                    self.conn = conn

                def executemany(self, sql: str, rows: Sequence[Any]) -> Any:
                    if statements and statements[-1][0] == sql:  # one statement, written in steps
                        statements[-1] = (sql, statements[-1][1] + len(rows))
                    else:
                        statements.append((sql, len(rows)))
                    return self.conn.executemany(sql, rows)

            result = await original(lambda conn: work(Recording(conn)), sync=sync)
            self.transactions.append(statements)
            self.syncs.append(sync)
            return result

        db.atomic = atomic  # type: ignore[method-assign]


async def test_a_flush_under_a_steady_stream_writes_its_window_and_ends(db: Database) -> None:
    writer = BatchWriter(db, window_ms=10_000)
    writer.CHUNK = 50
    recorder = Recorder(db)
    for n in range(200):
        writer.queue(INSERT_POINT, (n,))
    stop = asyncio.Event()

    async def steady_stream() -> None:
        await asyncio.sleep(0)  # the flush starts first
        n = 1000
        while not stop.is_set():
            writer.queue(INSERT_POINT, (n,))
            n += 1
            await asyncio.sleep(0)

    producer = asyncio.create_task(steady_stream())
    try:
        await asyncio.wait_for(writer._flush_stream(), timeout=10)
    finally:
        stop.set()
        await producer
    # The 200 rows pending at the start, in chunks of 50; what came meanwhile waits for the next window.
    assert [sum(n for _, n in t) for t in recorder.transactions] == [50, 50, 50, 50]
    assert _count(db.path, "points") == 200
    assert writer.backlog > 0
    # Only the window's last chunk syncs the disk.
    assert recorder.syncs == [False, False, False, True]
    await writer.flush()
    assert writer.backlog == 0


async def test_a_commit_goes_between_the_chunks_of_a_stream_flush(db: Database) -> None:
    writer = BatchWriter(db, window_ms=10_000)
    writer.CHUNK = 50
    recorder = Recorder(db)
    writer.start()
    try:
        for n in range(500):
            writer.queue(INSERT_POINT, (n,))
        flushing = asyncio.create_task(writer._flush_stream())
        await asyncio.sleep(0)  # the first chunk is on its way
        await writer.commit(INSERT_JOURNAL, (1,))
        # The commit did not wait for the ten chunks: it is on disk while stream chunks are still to come.
        assert _count(db.path, "journal") == 1
        assert _count(db.path, "points") < 500
        await flushing
    finally:
        await writer.close()
    journal_at = next(i for i, t in enumerate(recorder.transactions) if t[0][0] == INSERT_JOURNAL)
    assert journal_at <= 2
    assert _count(db.path, "points") == 500


async def test_rows_a_hook_holds_go_with_the_window_they_summarise(db: Database) -> None:
    writer = BatchWriter(db, window_ms=10_000)
    writer.CHUNK = 10
    held: list[int] = []

    def queue_summaries() -> None:
        # A producer that coalesces in memory (as the history's rollups do): one row for the points so far.
        if held:
            writer.queue(INSERT_SUMMARY, (max(held),))
            held.clear()

    writer.before_stream_flush(queue_summaries)
    for n in range(30):
        writer.queue(INSERT_POINT, (n,))
        held.append(n)
    await writer._flush_stream()
    assert _count(db.path, "points") == 30
    assert _count(db.path, "summaries") == 1
    assert not held


async def test_a_failed_chunk_goes_back_in_front_of_the_queue(db: Database) -> None:
    writer = BatchWriter(db, window_ms=10)
    writer.CHUNK = 10
    original = db.atomic
    calls = 0

    async def failing_second(work: Callable[[Any], T], *, sync: bool = True) -> T:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return await original(work, sync=sync)

    db.atomic = failing_second  # type: ignore[method-assign]
    for n in range(30):
        writer.queue(INSERT_POINT, (n,))
    await writer._flush_stream()
    assert writer.failures == 1
    assert _count(db.path, "points") == 10
    assert writer.backlog == 20
    writer.queue(INSERT_POINT, (99,))
    await writer._flush_stream()
    conn = sqlite3.connect(db.path)
    try:
        order = [n for (n,) in conn.execute("SELECT n FROM points ORDER BY rowid")]
    finally:
        conn.close()
    # Nothing lost, nothing twice, and the failed rows kept their place before the newer one.
    assert order == [*range(30), 99]


async def test_a_chunk_on_the_thread_hands_its_rest_back_to_let_a_commit_go_first(db: Database) -> None:
    # Slow rows (a trigger doing real work on the database thread for each insert): a chunk of 250 takes long.
    await db.execute(
        "CREATE TRIGGER slow_points AFTER INSERT ON points BEGIN "
        "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) "
        "SELECT x FROM c); END"
    )
    writer = BatchWriter(db, window_ms=10_000)
    recorder = Recorder(db)
    writer.start()
    try:
        for n in range(writer.CHUNK):
            writer.queue(INSERT_POINT, (n,))
        flushing = asyncio.create_task(writer._flush_stream())
        await asyncio.sleep(0.005)  # the one chunk is on the thread
        await writer.commit(INSERT_JOURNAL, (1,))
        # The commit did not wait for the chunk: the chunk ended early, and its rest is still to be written.
        assert _count(db.path, "journal") == 1
        points_then = _count(db.path, "points")
        assert points_then < writer.CHUNK
        assert points_then % writer.STEP == 0  # ended between two steps
        await flushing
    finally:
        await writer.close()
    assert [t[0][0] for t in recorder.transactions[:3]] == [INSERT_POINT, INSERT_JOURNAL, INSERT_POINT]
    conn = sqlite3.connect(db.path)
    try:
        order = [n for (n,) in conn.execute("SELECT n FROM points ORDER BY rowid")]
    finally:
        conn.close()
    assert order == list(range(writer.CHUNK))  # all of them, once, in their order
    # The window's sync was not lost: the transaction that wrote the rest synced.
    assert recorder.syncs[:3] == [True, True, True]
