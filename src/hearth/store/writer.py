"""The one batched writer of the store.

Two kinds of writes share it:
- ``queue``: the high-rate stream (state reports, history). Flushed every window; a crash loses at most one
  window, the documented bargain (README: "What survives a crash").
- ``commit``: writes that must be on disk before an act (an execution, a command about to be sent, a
  schedule). The caller awaits the flush that carries its row; rows committed meanwhile share that
  transaction and its sync (group commit), so a burst costs one sync, not one per row.

Rows of one statement are applied in the order they were given. Statements that touch the same row must
therefore be one statement (an upsert), never an insert followed by an update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from hearth.store.database import Database

log = logging.getLogger(__name__)


class BatchWriter:
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
        """Queue a journal row for the next flush, now, without waiting for it."""
        self._durable.setdefault(sql, []).append(row)
        self._wake.set()

    @property
    def backlog(self) -> int:
        return self._count

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def _run(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.window_s)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        if not self._count and not self._durable:
            return
        pending, self._pending, count, self._count = self._pending, {}, self._count, 0
        durable, self._durable = self._durable, {}
        waiters, self._waiters = self._waiters, []
        started = time.perf_counter()
        try:
            # Journal rows first: if the window rows are bad, the journal still lands (see except).
            await self._db.run_batch([*durable.items(), *pending.items()])
        except Exception as exc:
            self.failures += 1
            log.exception("batch write of %d rows failed", count + sum(map(len, durable.values())))
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            # The stream rows wait for the next window; a full disk is reported, not fatal. The journal
            # rows are not retried: their callers were told, and must not see them land later.
            for sql, rows in pending.items():
                self._pending.setdefault(sql, [])[:0] = rows
            self._count += count
            if not self._closing:
                await asyncio.sleep(min(5.0, self.window_s * 5))
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.rows_written += count + sum(map(len, durable.values()))
        self.batches_written += 1
        self.last_flush_ms = (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()
