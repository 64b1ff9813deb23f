"""The batched writer on a real SQLite file: a stream flush writes one window and ends, commits go first.

The defect these guard against: a stream flush that also took the rows queued while it wrote never ended
under a steady stream (each chunk's write let the next chunk's rows arrive), so every commit (an execution
about to be sent) found a chunk of the stream in its way.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hearth.store.database import Database
from hearth.store.writer import BatchWriter

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
    """Records the statements of each transaction the writer sends to the database."""

    def __init__(self, db: Database) -> None:
        self.transactions: list[list[tuple[str, int]]] = []
        self.syncs: list[bool] = []
        original = db.run_batch

        async def run_batch(batches: Any, *, sync: bool = True) -> None:
            work = [(sql, list(rows)) for sql, rows in batches]
            self.transactions.append([(sql, len(rows)) for sql, rows in work])
            self.syncs.append(sync)
            await original(work, sync=sync)

        db.run_batch = run_batch  # type: ignore[method-assign]


async def test_a_flush_under_a_steady_stream_writes_its_window_and_ends(db: Database) -> None:
    writer = BatchWriter(db, window_ms=10_000)
    writer.chunk_rows = 50
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
    writer.chunk_rows = 50
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
    writer.chunk_rows = 10
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
    writer.chunk_rows = 10
    original = db.run_batch
    calls = 0

    async def failing_second(batches: Sequence[Any], *, sync: bool = True) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise sqlite3.OperationalError("disk I/O error")
        await original(batches, sync=sync)

    db.run_batch = failing_second  # type: ignore[method-assign,assignment]
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


async def test_the_chunks_shrink_on_a_slow_disk_and_grow_on_a_fast_one(db: Database) -> None:
    # A chunk is sized to take about CHUNK_MS: that bounds how long a commit waits behind the stream.
    writer = BatchWriter(db, window_ms=10_000)
    writer.chunk_rows = 200
    original = db.run_batch
    slow = True

    async def timed_disk(batches: Sequence[Any], *, sync: bool = True) -> None:
        work = [(sql, list(rows)) for sql, rows in batches]
        if slow:  # 0.1 ms a row: ten rows fit in CHUNK_MS
            await asyncio.sleep(sum(len(rows) for _, rows in work) * 0.0001)
        await original(work, sync=sync)

    db.run_batch = timed_disk  # type: ignore[method-assign,assignment]
    for _ in range(6):
        for n in range(1000):
            writer.queue(INSERT_POINT, (n,))
        await writer._flush_stream()
    assert writer.chunk_rows == writer.CHUNK_MIN
    slow = False
    for _ in range(12):
        for n in range(2000):
            writer.queue(INSERT_POINT, (n,))
        await writer._flush_stream()
    assert writer.chunk_rows > 200  # SQLite writes a bare row here in a few microseconds
    assert _count(db.path, "points") == 6 * 1000 + 12 * 2000
