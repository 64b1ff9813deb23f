"""History retention on a real SQLite file: old rows go, per-state rules and the row cap hold."""

from __future__ import annotations

import json
from pathlib import Path

from hearth.core.bus import EventBus
from hearth.model.events import DeviceStateChangedEvent
from hearth.store.database import Database
from hearth.store.history import DAY_MS, StateRecorder
from hearth.store.writer import BatchWriter


async def test_retention_rules(tmp_path: Path) -> None:
    db = Database(tmp_path / "h.db")
    await db.open()
    writer = BatchWriter(db, window_ms=50)
    recorder = StateRecorder(
        db,
        writer,
        retention_days=7,
        per_state_days={"core:TemperatureState": 30, "core:NameState": 0},
        max_rows_per_state=5,
    )
    await recorder.load()
    bus = EventBus()
    recorder.attach(bus)
    now = 100 * DAY_MS

    def report(url: str, name: str, value: object, age_days: float) -> None:
        bus.publish(
            DeviceStateChangedEvent(
                timestamp=int(now - age_days * DAY_MS),
                device_url=url,
                device_states=[{"name": name, "type": 2, "value": value}],
            )
        )

    report("a", "core:TemperatureState", 20.0, 20)  # kept: temperature keeps 30 days
    report("a", "core:TemperatureState", 21.0, 40)  # dropped
    report("a", "core:LuminanceState", 5, 8)  # dropped: default 7 days
    report("a", "core:LuminanceState", 6, 1)  # kept
    report("a", "core:NameState", "x", 0)  # never recorded in history, but its state is kept
    for i in range(8):
        report("b", "core:LuminanceState", i, i / 100)  # only the newest 5 stay
    await writer.flush()
    deleted = await recorder.sweep(now_ms=now)
    assert deleted == 2 + 3
    rows = await db.fetchall("SELECT url, name, value FROM state_history ORDER BY url, name, time")
    assert ("a", "core:TemperatureState", "20.0") in rows and ("a", "core:LuminanceState", "6") in rows
    assert [json.loads(r[2]) for r in rows if r[0] == "b"] == [4, 3, 2, 1, 0]
    assert not [r for r in rows if r[1] == "core:NameState"]
    states = await db.fetchall("SELECT name FROM device_states WHERE url = 'a'")
    assert {"core:NameState", "core:TemperatureState", "core:LuminanceState"} == {r[0] for r in states}
    recorder.close()
    await writer.close()
    await db.close()
