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
    CHUNK = 1000

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
        while True:
            # Before every chunk: rows a hook holds for what was queued while the last chunk was written go in
            # this flush too, not a window later.
            for hook in self._before_stream:
                hook()
            if not self._count:
                break
            # Chunks of at most CHUNK rows, so that a commit arriving meanwhile waits for one chunk only.
            chunk: dict[str, list[Sequence[Any]]] = {}
            taken = 0
            for sql in list(self._pending):
                rows = self._pending[sql]
                part, rest = rows[: self.CHUNK - taken], rows[self.CHUNK - taken :]
                chunk[sql] = part
                taken += len(part)
                if rest:
                    self._pending[sql] = rest
                    break
                del self._pending[sql]
            self._count -= taken
            try:
                await self._timed(chunk.items())
            except Exception:
                # Back in the queue for the next window; a full disk is reported, not fatal.
                self.failures += 1
                log.exception("batch write of %d rows failed; will retry", taken)
                for sql, rows in chunk.items():
                    self._pending.setdefault(sql, [])[:0] = rows
                self._count += taken
                if not self._closing:
                    await asyncio.sleep(min(5.0, self.window_s * 5))
                return
            self.rows_written += taken
            if self._durable and self._waiters:
                await self._flush_durable()  # a commit that arrived meanwhile goes next, not after the stream

    async def _timed(self, batches: Any) -> None:
        started = time.perf_counter()
        await self._db.run_batch(batches)
        self.batches_written += 1
        self.last_flush_ms = (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()
