"""The durable outbox: what the cloud must hear, ordered per stream, kept until acknowledged.

Every record gets an ``event_id`` (the cloud's idempotency key) and the gateway's sequence number (``seq``): a
cloud that sees a seq twice drops the second, and a gap says records were dropped (only telemetry ever is).
Delivery is at least once: rows leave the table only when the cloud has acknowledged them, so a crash
between sending and acknowledging sends them again, with the same ids.

Bounded: past ``max_rows``, telemetry is downsampled first (of one device's state, older values go before the
latest), then dropped oldest first; executions, events, alerts and command results are never dropped.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hearth.store.database import Database

log = logging.getLogger(__name__)

STREAMS = ("states", "executions", "events", "alerts")
TABLES = ("outbox", "outbox_smartsolar", "outbox_airvantage")


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    seq: int
    stream: str
    event_id: str
    created: int
    body: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "eventId": self.event_id,
            "stream": self.stream,
            "time": self.created,
            "record": self.body,
        }


@dataclass(frozen=True, slots=True)
class NewRecord:
    stream: str
    body: Mapping[str, Any]
    telemetry_key: str | None = None
    event_id: str | None = None


class Outbox:
    def __init__(self, db: Database, max_rows: int = 100_000, table: str = "outbox") -> None:
        """``table``: "outbox" for the primary connector; another connector keeps its own (same columns)."""
        if table not in TABLES:
            raise ValueError(f"unknown outbox table {table!r}")
        self._db = db
        self.table = table
        self.max_rows = max_rows
        self.dropped = 0  # telemetry rows dropped to stay under max_rows, since start
        self._count: int | None = None  # rows in the table, known after the first append or depth()

    async def append(
        self, stream: str, body: Mapping[str, Any], *, telemetry_key: str | None = None, event_id: str | None = None
    ) -> str:
        """Write one record durably (it is on disk when this returns); its event id."""
        return (await self.append_many([NewRecord(stream, body, telemetry_key, event_id)]))[0]

    async def append_many(self, records: list[NewRecord]) -> list[str]:
        """Write records in one transaction (one disk sync for all); their event ids, in order."""
        now = time.time_ns() // 1_000_000
        rows = []
        for record in records:
            if record.stream not in STREAMS:
                raise ValueError(f"unknown outbox stream {record.stream!r}")
            rows.append(
                (
                    record.stream,
                    record.event_id or str(uuid.uuid4()),
                    record.telemetry_key,
                    now,
                    json.dumps(record.body, separators=(",", ":")),
                )
            )

        def work(conn: sqlite3.Connection) -> None:
            if self._count is None:
                self._count = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]
            before = conn.total_changes
            conn.executemany(
                f"INSERT OR IGNORE INTO {self.table} (stream, event_id, telemetry_key, created, body) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._count += conn.total_changes - before
            if self._count > self.max_rows:
                self._count -= self._bound(conn, self._count - self.max_rows)

        await self._db.atomic(work)
        return [row[1] for row in rows]

    def _bound(self, conn: sqlite3.Connection, excess: int) -> int:
        """Drop ``excess`` telemetry rows (never records); how many went."""
        # Older values of a key that has a newer one first: the cloud still gets every device's latest state.
        t = self.table
        superseded = conn.execute(
            f"DELETE FROM {t} WHERE seq IN (SELECT o.seq FROM {t} o WHERE o.telemetry_key IS NOT NULL AND "
            f"EXISTS (SELECT 1 FROM {t} n WHERE n.telemetry_key = o.telemetry_key AND n.seq > o.seq) "
            "ORDER BY o.seq LIMIT ?)",
            (excess,),
        ).rowcount
        oldest = 0
        if excess > superseded:
            oldest = conn.execute(
                f"DELETE FROM {t} WHERE seq IN (SELECT seq FROM {t} WHERE telemetry_key IS NOT NULL "
                "ORDER BY seq LIMIT ?)",
                (excess - superseded,),
            ).rowcount
        gone = int(superseded + oldest)
        if gone:
            self.dropped += gone
            log.warning("cloud outbox full (%d rows): %d telemetry rows dropped", self.max_rows, gone)
        return gone

    async def pending(self, stream: str, limit: int = 500, after: int = 0) -> list[OutboxRecord]:
        rows = await self._db.fetchall(
            f"SELECT seq, stream, event_id, created, body FROM {self.table} WHERE stream = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (stream, after, limit),
        )
        return [OutboxRecord(seq, s, eid, created, json.loads(body)) for seq, s, eid, created, body in rows]

    async def ack(self, stream: str, upto_seq: int) -> int:
        """The cloud has the stream's records up to ``upto_seq``: they go. How many went."""
        gone = await self._db.execute(f"DELETE FROM {self.table} WHERE stream = ? AND seq <= ?", (stream, upto_seq))
        if self._count is not None:
            self._count -= gone
        return gone

    async def depth(self) -> dict[str, int]:
        rows = await self._db.fetchall(f"SELECT stream, count(*) FROM {self.table} GROUP BY stream")
        counts = dict.fromkeys(STREAMS, 0)
        counts.update({stream: n for stream, n in rows})
        return counts


class InboundLog:
    """Commands pushed by the cloud, by id: recorded before they run, so a second delivery runs nothing."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, command_id: str) -> bool:
        """Record ``command_id``; True if it was new (run it), False if it was seen before (do not)."""
        changed = await self._db.execute(
            "INSERT OR IGNORE INTO inbound_commands (id, received) VALUES (?, ?)",
            (command_id, time.time_ns() // 1_000_000),
        )
        return changed == 1

    async def answer(self, command_id: str, result: Mapping[str, Any]) -> None:
        await self._db.execute(
            "UPDATE inbound_commands SET result = ? WHERE id = ?",
            (json.dumps(result, separators=(",", ":")), command_id),
        )

    async def result(self, command_id: str) -> dict[str, Any] | None:
        row = await self._db.fetchone("SELECT result FROM inbound_commands WHERE id = ?", (command_id,))
        return json.loads(row[0]) if row and row[0] else None

    async def results(self, prefix: str) -> list[dict[str, Any]]:
        """The results kept under ``prefix``."""
        rows = await self._db.fetchall(
            "SELECT result FROM inbound_commands WHERE result IS NOT NULL AND id LIKE ? || '%'", (prefix,)
        )
        return [json.loads(row[0]) for row in rows]

    async def unanswered(self, prefix: str) -> list[str]:
        """Ids under ``prefix`` recorded but never answered: a crash came between taking them and running them."""
        rows = await self._db.fetchall(
            "SELECT id FROM inbound_commands WHERE result IS NULL AND id LIKE ? || '%'", (prefix,)
        )
        return [row[0] for row in rows]

    async def forget_before(self, cutoff_ms: int) -> int:
        return await self._db.execute("DELETE FROM inbound_commands WHERE received < ?", (cutoff_ms,))
