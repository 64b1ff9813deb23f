"""The cloud outbox on a real SQLite file: order per stream, acknowledgement, bounds, and the inbound log."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hearth.store.database import Database
from hearth.store.outbox import InboundLog, NewRecord, Outbox


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "hearth.db")
    await database.open()
    yield database
    await database.close()


async def test_records_keep_their_order_per_stream_until_acknowledged(db: Database) -> None:
    outbox = Outbox(db)
    ids = [await outbox.append("executions", {"n": i}) for i in range(5)]
    await outbox.append("states", {"n": "s"}, telemetry_key="lamp/core:OnOffState")
    pending = await outbox.pending("executions")
    assert [r.body["n"] for r in pending] == [0, 1, 2, 3, 4]
    assert [r.event_id for r in pending] == ids
    seqs = [r.seq for r in pending]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert await outbox.ack("executions", seqs[2]) == 3
    assert [r.body["n"] for r in await outbox.pending("executions")] == [3, 4]
    assert (await outbox.depth())["states"] == 1
    # A record sent again with the same id is the same record.
    await outbox.append("executions", {"n": "again"}, event_id=ids[4])
    assert [r.body["n"] for r in await outbox.pending("executions")] == [3, 4]
    # Sequence numbers are never reused, even once everything is acknowledged.
    await outbox.ack("executions", seqs[-1])
    await outbox.append("executions", {"n": 5})
    assert (await outbox.pending("executions"))[0].seq > seqs[-1]


async def test_full_outbox_drops_older_telemetry_first_and_never_a_record(db: Database) -> None:
    outbox = Outbox(db, max_rows=10)
    await outbox.append_many([NewRecord("executions", {"exec": i}) for i in range(4)])
    for i in range(6):
        await outbox.append("states", {"value": i}, telemetry_key="lamp/core:LightIntensityState")
    await outbox.append("alerts", {"alert": 1})
    await outbox.append("states", {"value": "plug"}, telemetry_key="plug/core:OnOffState")
    depth = await outbox.depth()
    assert sum(depth.values()) == 10 and outbox.dropped == 2
    assert depth["executions"] == 4 and depth["alerts"] == 1
    states = [r.body["value"] for r in await outbox.pending("states")]
    assert states[-2:] == [5, "plug"] and 0 not in states  # the oldest lamp values went, its latest stayed
    # Only records left: nothing more can go, and nothing is lost.
    await outbox.append_many([NewRecord("events", {"event": i}) for i in range(20)])
    depth = await outbox.depth()
    assert depth["states"] == 0 and depth["events"] == 20 and depth["executions"] == 4 and depth["alerts"] == 1


async def test_inbound_commands_run_once_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    db = Database(path)
    await db.open()
    log = InboundLog(db)
    assert await log.first_time("cmd-1") is True
    assert await log.first_time("cmd-1") is False
    await log.answer("cmd-1", {"execId": "e1"})
    await db.close()
    again = Database(path)
    await again.open()
    try:
        assert await InboundLog(again).first_time("cmd-1") is False
        assert await InboundLog(again).result("cmd-1") == {"execId": "e1"}
    finally:
        await again.close()


def test_an_appended_record_survives_sigkill(tmp_path: Path) -> None:
    """append() returns once the record is on disk: a process killed right after loses nothing."""
    script = textwrap.dedent(f"""
        import asyncio, os, signal, sys
        from pathlib import Path
        from hearth.store.outbox import Outbox
        from hearth.store.database import Database
        async def main():
            db = Database(Path({str(tmp_path / "k.db")!r}))
            await db.open()
            outbox = Outbox(db)
            for i in range(50):
                await outbox.append("executions", {{"n": i}})
            print("appended", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        asyncio.run(main())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "appended" in result.stdout and result.returncode == -9, result.stderr

    async def check() -> list[int]:
        db = Database(tmp_path / "k.db")
        await db.open()
        try:
            return [r.body["n"] for r in await Outbox(db).pending("executions", limit=100)]
        finally:
            await db.close()

    assert asyncio.run(check()) == list(range(50))
