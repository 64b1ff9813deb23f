"""One aiosqlite connection in WAL mode, and the versioned plain-SQL migrations."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)
T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(RuntimeError):
    """The database cannot be opened or migrated; the message says which file and why."""


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every bundled migration, in order."""
    found = []
    for entry in resources.files("hearth.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise DatabaseError(f"migration {name}: expected version {expected:04d}")
    return found


class Database:
    """The gateway's SQLite file. Every write goes through this one connection, in order."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._conn: aiosqlite.Connection | None = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise DatabaseError("database is not open")
        return self._conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except Exception as exc:
            raise DatabaseError(f"cannot open {self.path}: {exc}") from exc
        self._conn = conn
        # WAL: readers never block the writer and a crash leaves the file consistent. FULL syncs the
        # WAL on every commit, so a commit survives a power cut, not just a killed process.
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={self.synchronous}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA temp_store=MEMORY")
        await conn.execute("PRAGMA busy_timeout=5000")
        # Checkpoints (copying the WAL back into the database) are not left to whichever commit crosses the
        # threshold, where one would hold every write for tens of ms: ``checkpoint`` runs them on a second
        # connection, in passive mode, which never blocks the writer.
        await conn.execute("PRAGMA wal_autocheckpoint=0")
        await self._migrate()

    async def _migrate(self) -> None:
        row = await self.fetchone("PRAGMA user_version")
        current = int(row[0]) if row else 0
        known = migrations()
        if current > len(known):
            raise DatabaseError(
                f"{self.path} has schema version {current}, newer than this Hearth knows ({len(known)})"
            )
        for version, name, sql in known[current:]:
            log.info("applying migration %s", name)
            # executescript commits first; the script is wrapped so it applies whole or not at all.
            await self.conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;")

    async def checkpoint(self) -> None:
        """Copy what the WAL holds back into the database file without blocking the writer."""

        def run() -> None:
            side = sqlite3.connect(self.path, timeout=1.0)
            try:
                side.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                side.close()

        await asyncio.to_thread(run)

    async def close(self) -> None:
        if self._conn is not None:
            # The last checkpoint, truncating the WAL: a clean stop leaves one file. Another process on the
            # same file (the `hearth token` command beside a running gateway) may hold it: then leave it.
            try:
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.debug("final checkpoint skipped: %s", exc)
            await self._conn.close()
            self._conn = None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; returns the number of rows changed."""
        cursor = await self.conn.execute(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.conn.execute(sql, params) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        async with self.conn.execute(sql, params) as cursor:
            row = await cursor.fetchone()
            return tuple(row) if row is not None else None

    async def atomic(self, work: Callable[[sqlite3.Connection], T], *, sync: bool = True) -> T:
        """Run ``work(connection)`` as one transaction, in a single hop to the database thread.

        Never BEGIN and COMMIT as separate awaited calls: the batched writer's flush could land between
        them, inside our transaction.

        ``sync=False``: this commit does not sync the WAL (synchronous=NORMAL for it alone), for work that may
        be lost in a power cut and simply done again (retention's deletes); the next synced commit makes it
        durable too. It keeps the write path free of a disk sync per batch.
        """

        def run(conn: sqlite3.Connection) -> T:
            if not sync:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if not sync:
                    conn.execute(f"PRAGMA synchronous={self.synchronous}")
            return result

        # One hop to the database thread for the whole transaction.
        return await self.conn._execute(run, self.conn._conn)  # type: ignore[no-untyped-call,no-any-return]

    async def run_batch(self, batches: Iterable[tuple[str, list[Sequence[Any]]]]) -> None:
        """Several executemany in one transaction."""
        work = list(batches)

        def apply(conn: sqlite3.Connection) -> None:
            for sql, rows in work:
                conn.executemany(sql, rows)

        await self.atomic(apply)
