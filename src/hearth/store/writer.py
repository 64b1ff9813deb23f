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
tick, so that a commit never waits behind a large stream flush nor makes one bigger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from hearth.store.database import Database

log = logging.getLogger(__name__)


class BatchWriter:
    # A stream chunk is sized to take about CHUNK_MS on the database thread: that is how long a commit (an
    # execution about to be sent) can find itself waiting behind one. The rows a chunk can take are learnt from
    # the chunks written (the cost of a row depends on the disk, the board and the indexes), within bounds.
    CHUNK_MS = 1.0
    CHUNK_MIN = 25
    CHUNK_MAX = 1000

    def __init__(self, db: Database, window_ms: int = 250, max_rows: int = 5000) -> None:
        self._db = db
        self.window_s = window_ms / 1000
        self.max_rows = max_rows
        self._pending: dict[str, list[Sequence[Any]]] = {}
        self._count = 0
        self._durable: dict[str, list[Sequence[Any]]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.chunk_rows = 250  # the rows of the next stream chunk (see CHUNK_MS)
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
        self._wake.set()
        if self._task is None or self._task.done():
            await self.flush()  # not started (or closed): write through
        await waiter

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
        try:
            await self._timed(durable.items())
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
        chunks: list[dict[str, list[Sequence[Any]]]] = []
        chunk: dict[str, list[Sequence[Any]]] = {}
        size = room = self.chunk_rows
        for sql, rows in pending.items():
            start = 0
            while start < len(rows):
                part = rows[start : start + room]
                chunk.setdefault(sql, []).extend(part)
                start += len(part)
                room -= len(part)
                if room == 0:
                    chunks.append(chunk)
                    chunk, room = {}, size
        if chunk:
            chunks.append(chunk)
        for index, batch in enumerate(chunks):
            last = index == len(chunks) - 1
            rows_in_batch = sum(map(len, batch.values()))
            try:
                # Only the last chunk syncs: its sync makes the whole window durable, the documented bargain
                # (a power cut loses at most a window), without a disk sync per chunk.
                await self._timed(batch.items(), sync=last)
                if not last:  # the synced chunk's time is mostly the disk's, not its rows'
                    self._learn_chunk(rows_in_batch, self.last_flush_ms)
            except Exception:
                # This chunk and the ones after it go back in front of the queue for the next window; a full
                # disk is reported, not fatal.
                self.failures += 1
                rest = sum(sum(map(len, c.values())) for c in chunks[index:])
                log.exception("batch write of %d rows failed; will retry", rest)
                requeued: dict[str, list[Sequence[Any]]] = {}
                for failed in chunks[index:]:
                    for sql, rows in failed.items():
                        requeued.setdefault(sql, []).extend(rows)
                for sql, rows in self._pending.items():
                    requeued.setdefault(sql, []).extend(rows)
                self._pending = requeued
                self._count += rest
                if not self._closing:
                    await asyncio.sleep(min(5.0, self.window_s * 5))
                return
            self.rows_written += rows_in_batch
            if self._durable and self._waiters:
                await self._flush_durable()  # a commit that arrived meanwhile goes next, not after the stream

    def _learn_chunk(self, rows: int, took_ms: float) -> None:
        """Move the chunk size halfway towards the rows that would have taken CHUNK_MS at this chunk's pace."""
        if rows < self.CHUNK_MIN or took_ms <= 0:
            return
        fits = rows * self.CHUNK_MS / took_ms
        self.chunk_rows = int(min(self.CHUNK_MAX, max(self.CHUNK_MIN, (self.chunk_rows + fits) / 2)))

    async def _timed(self, batches: Any, *, sync: bool = True) -> None:
        started = time.perf_counter()
        await self._db.run_batch(batches, sync=sync)
        self.batches_written += 1
        self.last_flush_ms = (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()
