"""S1 bus fan-out: typed events through ``hearth.core.bus.EventBus.publish`` with synchronous subscribers.

What is measured: the whole loop, timed from the first publish to the return of the last one (the
listeners run inline, so when the loop ends every listener has run; nothing is left queued):
- 1M ``DeviceStateChangedEvent`` objects, **pre-built** (a pool of 1024 distinct, fully populated events
  cycled through, so the figure is the bus and not the allocator), 1 subscriber;
- the same with the events **built in the loop** (one dataclass per publish, as StateUpdater.report does);
- 200k pre-built events with 50 subscribers.
Each subscriber is the same trivial counter. Each figure is the best of 3 passes, interleaved with the
baseline's passes (the machine may be shared: best-of filters out the neighbours' noise).

Baseline, same run, same interpreter, same events and same subscriber function: a bare dict-of-lists
dispatch (``for listener in subs[type(event)]: listener(event)``) behind one function call per event,
i.e. what the bus does without its error isolation, its cached dispatch tuple and its method call. It is
the floor any Python bus can reach, so ratio = how close the real bus gets to it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from hearth.core.bus import EventBus
from hearth.model.events import DeviceStateChangedEvent, now_ms
from tests.bench.common import Results, Row

POOL = 1024
REPEATS = 3
GATEWAY = "1234-5678-9012"


def _pool() -> list[DeviceStateChangedEvent]:
    return [
        DeviceStateChangedEvent(
            timestamp=now_ms(),
            device_url=f"virtual://{GATEWAY}/{1000 + i}",
            device_states=[{"name": "core:TemperatureState", "type": 2, "value": 20.0 + i % 50 / 10}],
        )
        for i in range(POOL)
    ]


def _counter() -> tuple[list[int], Callable[[Any], None]]:
    count = [0]

    def subscriber(event: Any) -> None:
        count[0] += 1

    return count, subscriber


def _drive_prebuilt(publish: Callable[[Any], None], n: int, pool: list[DeviceStateChangedEvent]) -> float:
    mask = POOL - 1
    gc.collect()
    start = time.perf_counter()
    for i in range(n):
        publish(pool[i & mask])
    return time.perf_counter() - start


def _drive_built(publish: Callable[[Any], None], n: int) -> float:
    urls = [f"virtual://{GATEWAY}/{1000 + i}" for i in range(POOL)]
    mask = POOL - 1
    gc.collect()
    start = time.perf_counter()
    for i in range(n):
        # As the state updater builds it (positionally: see DeviceStateChangedEvent).
        publish(
            DeviceStateChangedEvent(
                urls[i & mask], [{"name": "core:TemperatureState", "type": 2, "value": 20.5}], now_ms()
            )
        )
    return time.perf_counter() - start


def _hearth_bus(subscribers: int) -> tuple[list[int], Callable[[Any], None]]:
    bus = EventBus()
    count, subscriber = _counter()
    for _ in range(subscribers):
        bus.subscribe(subscriber, DeviceStateChangedEvent)
    return count, bus.publish


def _bare_bus(subscribers: int) -> tuple[list[int], Callable[[Any], None]]:
    count, subscriber = _counter()
    subs: dict[type, list[Callable[[Any], None]]] = {DeviceStateChangedEvent: [subscriber] * subscribers}

    def publish(event: Any) -> None:
        for listener in subs.get(type(event), ()):
            listener(event)

    return count, publish


def _case(results: Results, label: str, subscribers: int, n: int, built: bool, target: float) -> None:
    pool = _pool()
    figures = {"baseline": 0.0, "hearth": 0.0}
    for _ in range(REPEATS):  # interleaved, best of REPEATS: the machine may be shared and noisy
        for name, factory in (("baseline", _bare_bus), ("hearth", _hearth_bus)):
            count, publish = factory(subscribers)
            seconds = _drive_built(publish, n) if built else _drive_prebuilt(publish, n, pool)
            if count[0] != n * subscribers:
                results.errors.append(f"S1 {label} {name}: {count[0]} deliveries, expected {n * subscribers}")
            figures[name] = max(figures[name], n / seconds)
    results.add(Row("S1 bus", label, figures["hearth"], "ev/s", ">=", target, figures["baseline"]))


def run(results: Results) -> None:
    _case(results, "1M pre-built, 1 sub", 1, 1_000_000, False, 1_500_000)
    _case(results, "1M built in loop, 1 sub", 1, 1_000_000, True, 1_500_000)
    _case(results, "200k pre-built, 50 subs", 50, 200_000, False, 100_000)
