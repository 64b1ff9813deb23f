"""Run inside Home Assistant's interpreter by tests/bench/ha_bus.py: Home Assistant's bus and Hearth's, side by side.

Both in this one process, on one asyncio loop, interleaved pass by pass (best of REPEATS), with the same
subscriber (a counter) and the same payload, so that the ratio compares the buses and nothing else:
- Home Assistant: ``hass.bus.async_fire_internal(EVENT_STATE_CHANGED, data)`` with ``@callback`` listeners
  (run inline, as the bus's fast path does); the bus builds its ``Event`` (and its ``Context``) at each fire;
- Hearth: ``EventBus.publish(event)`` of a ``DeviceStateChangedEvent``.
What each producer hands to its bus (Home Assistant's ``data`` dict, our typed event) is either taken from a
pool made beforehand ("payload pre-built": the bus alone) or made for each event ("payload built per
event": what a state change costs a producer and its bus together).
Rates are per second of this thread's CPU time (``time.thread_time``), not of the wall clock: on a shared
machine the neighbours' work would otherwise land on whichever bus happened to run at that moment.
Prints one JSON object: events per CPU second of each, per case.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
import time
from typing import Any

REPEATS = 3
GATEWAY = "1234-5678-9012"
CASES = [("1 sub", 1, 300_000), ("50 subs", 50, 60_000)]


async def main() -> None:
    from homeassistant.const import EVENT_STATE_CHANGED, __version__
    from homeassistant.core import HomeAssistant, callback

    from hearth.core.bus import EventBus
    from hearth.model.events import DeviceStateChangedEvent, now_ms

    config_dir = tempfile.mkdtemp(prefix="hearth-bench-ha-")
    hass = HomeAssistant(config_dir)
    urls = [f"virtual://{GATEWAY}/{1000 + i}" for i in range(1024)]
    entity_ids = [f"sensor.t{i}" for i in range(1024)]
    states = [{"name": "core:TemperatureState", "type": 2, "value": 20.5}]
    payloads = [{"entity_id": entity_ids[i], "device_states": states} for i in range(1024)]
    events = [
        DeviceStateChangedEvent(timestamp=now_ms(), device_url=urls[i], device_states=states) for i in range(1024)
    ]

    def ha_pass(subscribers: int, n: int, built: bool) -> float:
        count = [0]

        @callback
        def listener(event: Any) -> None:
            count[0] += 1

        removers = [hass.bus.async_listen(EVENT_STATE_CHANGED, listener) for _ in range(subscribers)]
        fire = hass.bus.async_fire_internal
        gc.collect()
        start = time.thread_time()
        if built:
            for i in range(n):
                fire(EVENT_STATE_CHANGED, {"entity_id": entity_ids[i & 1023], "device_states": states})
        else:
            for i in range(n):
                fire(EVENT_STATE_CHANGED, payloads[i & 1023])
        seconds = time.thread_time() - start
        for remove in removers:
            remove()
        assert count[0] == n * subscribers, (count[0], n * subscribers)
        return n / seconds

    def hearth_pass(subscribers: int, n: int, built: bool) -> float:
        count = [0]

        def listener(event: Any) -> None:
            count[0] += 1

        bus = EventBus()
        for _ in range(subscribers):
            bus.subscribe(listener, DeviceStateChangedEvent)
        publish = bus.publish
        gc.collect()
        start = time.thread_time()
        if built:
            for i in range(n):
                # As the state updater builds it (positionally: see DeviceStateChangedEvent).
                publish(DeviceStateChangedEvent(urls[i & 1023], states, now_ms()))
        else:
            for i in range(n):
                publish(events[i & 1023])
        seconds = time.thread_time() - start
        assert count[0] == n * subscribers, (count[0], n * subscribers)
        return n / seconds

    out: dict[str, Any] = {"home_assistant": __version__, "python": sys.version.split()[0], "cases": {}}
    for built in (False, True):
        for label, subscribers, n in CASES:
            best = {"home_assistant": 0.0, "hearth": 0.0}
            for _ in range(REPEATS):
                best["home_assistant"] = max(best["home_assistant"], ha_pass(subscribers, n, built))
                best["hearth"] = max(best["hearth"], hearth_pass(subscribers, n, built))
            out["cases"][f"payload {'built per event' if built else 'pre-built'}, {label}"] = best
    await hass.async_stop(force=True)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
