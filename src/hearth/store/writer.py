"""The one batched writer of the store.

Two kinds of writes share it:
- ``queue``: the high-rate stream (state reports, history). Flushed every window; a crash loses at most one
  window, the documented bargain (README: "What survives a crash").
- ``commit``: writes that must be on disk before an act (an execution, a command about to be sent, a
  schedule). The caller awaits the flush that carries its row; rows committed meanwhile share that
  transaction and its sync (group commit), so a burst costs one sync, not one per row.

Rows of one statement are applied in the order they were given. Statements that touch the same row must
therefore be one statement (an upsert), never an insert followed by an update.

A commit does not carry the stream's rows: those go in their own transactions, in chunks, on the window's
tick, so that a commit never waits behind a large stream flush nor makes one bigger. Two things keep a commit
(an execution about to be sent) from waiting behind the stream at all:
- It is sent to the database thread at once, by a task of its own (one journal flush in flight at a time; the
  rows committed meanwhile go together in the next), not by the writer's loop: it queues right behind the chunk
  on the thread, not after that chunk's answer has come back to the loop and woken the writer.
- A chunk on the thread looks, every ``STEP`` rows, whether a journal flush has been queued behind it, and if so
  commits what it has written and hands the rest back, to go after the journal's rows. Without it a commit
  waited for the whole chunk, which takes several ms while the loop holds the GIL (each row's step gives the GIL
  up and waits to get it back).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from hearth.store.database import Database

log = logging.getLogger(__name__)


Rows = list[Sequence[Any]]
T = TypeVar("T")


class BatchWriter:
    CHUNK = 250  # rows of the stream in one transaction
    STEP = 25  # rows a chunk writes between two looks for a journal flush waiting behind it

    def __init__(self, db: Database, window_ms: int = 250, max_rows: int = 5000) -> None:
        self._db = db
        self.window_s = window_ms / 1000
        self.max_rows = max_rows
        self._pending: dict[str, Rows] = {}
        self._count = 0
        self._durable: dict[str, Rows] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None  # the journal flushes a commit started
        # Journal flushes queued that someone waits for: a stream chunk on the thread that sees it move yields.
        self._commits_queued = 0
        self._closing = False
        self.rows_written = 0
        self.batches_written = 0
        self.last_flush_ms = 0.0
        self.failures = 0
        self._before_stream: list[Callable[[], None]] = []
        self._before_durable: list[Callable[[], None]] = []

    def queue(self, sql: str, row: Sequence[Any]) -> None:
        rows = self._pending.get(sql)
        if rows is None:
            rows = self._pending[sql] = []
        rows.append(row)
        self._count += 1
        if self._count >= self.max_rows:
            self._wake.set()

    async def commit(self, sql: str, row: Sequence[Any]) -> None:
        """Write ``row`` and return once it is on disk (raises if the write failed)."""
        self._durable.setdefault(sql, []).append(row)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._task is None or self._task.done():
            await self.flush()  # not started (or closed): write through
        elif self._sender is None:
            self._sender = asyncio.create_task(self._send_commits(), name="journal-commit")
        await waiter

    async def _send_commits(self) -> None:
        """Journal flushes, one after the other, while commits wait for one (see the module's docstring)."""
        try:
            while self._waiters:
                await self._flush_durable()
        finally:
            self._sender = None

    def commit_later(self, sql: str, row: Sequence[Any]) -> None:
        """Queue a journal row for the next commit or window tick, whichever comes first; nobody waits."""
        self._durable.setdefault(sql, []).append(row)

    def before_stream_flush(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` before each stream flush: a producer that coalesces rows in memory queues them then."""
        self._before_stream.append(hook)

    def before_durable_flush(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` before each journal flush: a producer that holds journal rows in memory (to write many as
        one) queues them then, with ``commit_later``; they go in that flush, after the rows already queued."""
        self._before_durable.append(hook)

    @property
    def backlog(self) -> int:
        return self._count

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def _run(self) -> None:
        next_tick = time.monotonic() + self.window_s
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_tick - time.monotonic()))
            except TimeoutError:
                pass
            self._wake.clear()
            await self._flush_durable()
            if time.monotonic() >= next_tick or self._count >= self.max_rows:
                await self._flush_stream()
                next_tick = time.monotonic() + self.window_s

    async def sync_journal(self) -> None:
        """Write the journal rows queued with ``commit_later`` now: readers of the journal see their own
        gateway's latest word."""
        await self._flush_durable()

    async def flush(self) -> None:
        """Write everything pending now."""
        await self._flush_durable()
        await self._flush_stream()

    async def _flush_durable(self) -> None:
        for hook in self._before_durable:
            hook()
        if not self._durable:
            return
        durable, self._durable = self._durable, {}
        waiters, self._waiters = self._waiters, []
        rows = sum(map(len, durable.values()))
        if waiters:
            self._commits_queued += 1  # read by a stream chunk on the database thread: it yields
        try:
            await self._timed(self._db.run_batch(durable.items()))
        except Exception as exc:
            # Not retried: the callers are told, and must not see their rows land later.
            self.failures += 1
            log.exception("journal write of %d rows failed", rows)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.rows_written += rows

    async def _flush_stream(self) -> None:
        """Write the stream's rows pending now: one window's worth, in chunks.

        The hooks run once, first, so that the rows they hold (rollups) go with the points they summarise. Rows
        queued while this flush writes wait for the next window: a flush that also took those would never end
        under a steady stream (each chunk's write lets the next chunk's rows arrive), and every commit would
        then find a chunk in the way.
        """
        for hook in self._before_stream:
            hook()
        if not self._count:
            return
        pending, self._pending = self._pending, {}
        self._count = 0
        # (statement, rows) in the order given; a chunk takes from the front, and what it hands back goes back
        # in front, so the rows of a statement are written in their order.
        segments: deque[tuple[str, Rows]] = deque(pending.items())
        while segments:
            batch: list[tuple[str, Rows]] = []
            room = self.CHUNK
            while segments and room:
                sql, rows = segments.popleft()
                if len(rows) > room:
                    segments.appendleft((sql, rows[room:]))
                    rows = rows[:room]
                batch.append((sql, rows))
                room -= len(rows)
            try:
                # Only the last chunk syncs: its sync makes the whole window durable, the documented bargain
                # (a power cut loses at most a window), without a disk sync per chunk.
                left = await self._write_chunk(batch, sync=not segments)
            except Exception:
                # This chunk and the ones after it go back in front of the queue for the next window; a full
                # disk is reported, not fatal.
                self.failures += 1
                unwritten = [*batch, *segments]
                rest = sum(len(rows) for _, rows in unwritten)
                requeued: dict[str, Rows] = {}
                for sql, rows in [*unwritten, *self._pending.items()]:
                    requeued.setdefault(sql, []).extend(rows)
                log.exception("batch write of %d rows failed; will retry", rest)
                self._pending = requeued
                self._count += rest
                if not self._closing:
                    await asyncio.sleep(min(5.0, self.window_s * 5))
                return
            self.rows_written += sum(len(rows) for _, rows in batch) - sum(len(rows) for _, rows in left)
            segments.extendleft(reversed(left))

    async def _write_chunk(self, batch: list[tuple[str, Rows]], *, sync: bool) -> list[tuple[str, Rows]]:
        """One transaction of the stream; returns the rows it left to let a journal flush go first."""
        seen = self._commits_queued

        def apply(conn: sqlite3.Connection) -> list[tuple[str, Rows]]:
            steps = 0
            for index, (sql, rows) in enumerate(batch):
                for start in range(0, len(rows), self.STEP):
                    # A journal flush queued behind: end here. Never before the first step, so that the stream
                    # moves on however many commits come.
                    if steps and self._commits_queued != seen:
                        return [(sql, rows[start:]), *batch[index + 1 :]]
                    conn.executemany(sql, rows[start : start + self.STEP])
                    steps += 1
            return []

        return await self._timed(self._db.atomic(apply, sync=sync))

    async def _timed(self, write: Awaitable[T]) -> T:
        """Await one transaction, counted and timed (``batches_written``, ``last_flush_ms``)."""
        started = time.perf_counter()
        result = await write
        self.batches_written += 1
        self.last_flush_ms = (time.perf_counter() - started) * 1000
        return result

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._sender is not None:
            await self._sender
        await self.flush()
