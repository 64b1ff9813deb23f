"""S2 state pipeline: virtual devices -> StateUpdater -> bus -> 50 subscribers -> SQLite history.

A real ``hearth.app.Gateway`` runs on this loop (temp data folder, real SQLite file with its migrations,
the default ``synchronous=FULL``, the virtual driver with 1000 generated devices, no API). A paced producer
plays the radios: it calls the driver's ``ctx.report_states`` (the path a radio report takes) at a fixed
rate (10k changes/s, every report changes one state, so none is deduplicated away), for BENCH_S2_SECONDS
(default 10 s). The bus carries each change to the gateway's StateRecorder (-> BatchWriter -> SQLite: an
upsert of the current state, a history point and its three rollup upserts) and to 50 benchmark
subscribers: 40 synchronous listeners that keep an index (last timestamp per device) and 10
``AsyncConsumer`` queues drained by their own tasks (the shape of the WebSocket and MQTT bridges).

Reported:
- sustained rate (changes produced / wall time; every change is checked to have reached every subscriber);
- p99 ingress->subscriber latency: a monotonic timestamp taken just before ``report_states``, read in the
  last synchronous listener (inline dispatch) and in an async consumer's task (queue hop included);
- event-loop lag p99 from a 1 ms ticker;
- DB lag: rows still unwritten when the producer stops, and the time until the writer has written them all
  (checked against ``state_history``);
- CPU of the whole process (all threads, the SQLite thread too), in % of one core and in us per change.

Baseline, same run: the same gateway and the same pipeline with the StateRecorder detached (no SQLite), for
a shorter time. Same producer, same subscribers, same probes, so the ratio is the cost of persistence.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from hearth.model.events import DeviceStateChangedEvent
from tests.bench.common import (
    LoopLagProbe,
    Results,
    Row,
    cpu_seconds,
    in_process_gateway,
    maybe_await,
    percentile,
)

RATE = 10_000
DEVICES = 1000
SYNC_SUBSCRIBERS = 40
ASYNC_CONSUMERS = 10
MAX_BURST = 200  # at most this many reports per wake-up: if we fall behind, the rate shows it


def _changer(controllable: str) -> tuple[str, Any]:
    """(state name, function round -> a value that differs from the previous round's)."""
    if controllable.endswith("TemperatureSensorComponent"):
        return "core:TemperatureState", lambda r: 15.0 + (r % 100) / 10
    if controllable.endswith("DimmableLightComponent"):
        return "core:LightIntensityState", lambda r: r % 100
    if controllable.endswith("RollerShutterGenericComponent"):
        return "core:ClosureState", lambda r: r % 100
    return "core:OnOffState", lambda r: "on" if r % 2 else "off"


class Pipeline:
    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        driver = gateway.drivers.by_protocol["virtual"]
        self.ctx = driver.ctx
        self.targets = [(sim.url, *_changer(sim.controllable.name)) for sim in driver.devices.values()]
        self.ingress_ns = 0
        self.sync_lat_ns: list[int] = []
        self.async_lat_ns: list[int] = []
        self.stamps: dict[int, int] = {}
        self.index: dict[str, int] = {}
        self.sync_seen = 0
        self.async_seen = [0] * ASYNC_CONSUMERS
        self.measuring = False
        self.round = 1  # round 0 would repeat the initial values of lights and plugs
        self.position = 0
        self.published = 0
        bus = gateway.bus
        self._unsubs = []

        def stamp(event: Any) -> None:  # first: remembers the ingress time for the async consumer
            self.published += 1
            if self.measuring:
                self.stamps[id(event)] = self.ingress_ns

        self._unsubs.append(bus.subscribe(stamp, DeviceStateChangedEvent))
        index = self.index
        for _ in range(SYNC_SUBSCRIBERS - 1):

            def keep(event: Any) -> None:
                index[event.device_url] = event.timestamp

            self._unsubs.append(bus.subscribe(keep, DeviceStateChangedEvent))

        def last(event: Any) -> None:  # the last synchronous listener: inline latency
            index[event.device_url] = event.timestamp
            if self.measuring:
                self.sync_seen += 1
                self.sync_lat_ns.append(time.perf_counter_ns() - self.ingress_ns)

        self._unsubs.append(bus.subscribe(last, DeviceStateChangedEvent))
        # 40 sync + the stamp helper above; the 10 consumers make 50 real subscribers plus one probe.
        self.consumers = [
            bus.consumer(f"bench-{i}", 10_000, (DeviceStateChangedEvent,)) for i in range(ASYNC_CONSUMERS)
        ]
        self.tasks = [asyncio.create_task(self._drain(i)) for i in range(ASYNC_CONSUMERS)]

    async def _drain(self, i: int) -> None:
        consumer = self.consumers[i]
        while True:
            event = await consumer.get()
            if i == 0:
                ingress = self.stamps.pop(id(event), None)
                if ingress is not None:
                    self.async_lat_ns.append(time.perf_counter_ns() - ingress)
            if self.measuring:
                self.async_seen[i] += 1

    async def produce(self, seconds: float, rate: int) -> tuple[int, float]:
        report = self.ctx.report_states
        targets = self.targets
        n_targets = len(targets)
        clock = time.perf_counter
        produced = 0
        start = clock()
        end = start + seconds
        position = self.position
        while True:
            now = clock()
            if now >= end:
                break
            due = min(int((now - start) * rate), produced + MAX_BURST)
            while produced < due:
                url, name, value_of = targets[position]
                value = value_of(self.round)
                self.ingress_ns = time.perf_counter_ns()
                report(url, {name: value})
                produced += 1
                position += 1
                if position == n_targets:
                    position = 0
                    self.round += 1
            await asyncio.sleep(0.0005)
        self.position = position
        return produced, clock() - start

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for consumer in self.consumers:
            consumer.close()
        for unsub in self._unsubs:
            unsub()


async def _phase(pipe: Pipeline, seconds: float, with_db: bool) -> dict[str, float]:
    gw = pipe.gateway
    pipe.sync_lat_ns.clear()
    pipe.async_lat_ns.clear()
    pipe.stamps.clear()
    pipe.sync_seen = 0
    pipe.async_seen = [0] * ASYNC_CONSUMERS
    history_before = (await gw.db.fetchone("SELECT COUNT(*) FROM state_history"))[0] if with_db else 0
    written_before = gw.writer.rows_written
    published_before = pipe.published
    probe = LoopLagProbe().start()
    await asyncio.sleep(0.05)
    pipe.measuring = True
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    produced, elapsed = await pipe.produce(seconds, RATE)
    cpu = cpu_seconds() - cpu0
    wall = time.perf_counter() - wall0
    await asyncio.sleep(0.02)  # let the async consumers drain their last events
    pipe.measuring = False
    await probe.stop()
    out = {
        "rate": produced / elapsed,
        "sync_p99_ms": percentile(pipe.sync_lat_ns, 99) / 1e6,
        "async_p99_ms": percentile(pipe.async_lat_ns, 99) / 1e6,
        "lag_p99_ms": probe.p99,
        "lag_max_ms": probe.max,
        "cpu_pct": 100 * cpu / wall,
        "cpu_us": 1e6 * cpu / max(1, produced),
        "produced": produced,
        "deduplicated": produced - (pipe.published - published_before),
        "missing": produced * (1 + ASYNC_CONSUMERS) - pipe.sync_seen - sum(pipe.async_seen),
        "dropped": sum(c.dropped for c in pipe.consumers),
    }
    if with_db:
        # An upsert of the current state and a history point per published change, and rollups coalesced per
        # bucket: what is still queued (stream rows and rollups not yet handed over) is the backlog.
        stop_t = time.perf_counter()
        out["db_backlog_rows"] = gw.writer.backlog + len(gw.recorder.rollups)
        deadline = stop_t + 10
        target = gw.writer.rows_written - written_before + out["db_backlog_rows"]
        while (
            gw.writer.backlog or len(gw.recorder.rollups) or gw.writer.rows_written - written_before < target
        ) and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        out["db_drain_s"] = time.perf_counter() - stop_t
        history = (await gw.db.fetchone("SELECT COUNT(*) FROM state_history"))[0] - history_before
        out["history_rows"] = history
        out["history_missing"] = produced - history
    return out


async def _run(results: Results, seconds: float) -> None:
    async with in_process_gateway(DEVICES) as gateway:
        pipe = Pipeline(gateway)
        try:
            await pipe.produce(0.5, RATE)  # warm-up: every device reports once, caches and SQLite pages warm
            await asyncio.sleep(0.5)
            db = await _phase(pipe, seconds, True)
            await maybe_await(gateway.recorder.close())  # baseline: the same pipeline without SQLite
            base = await _phase(pipe, min(seconds, 3.0), False)
        finally:
            await pipe.close()
    for phase, figures in (("with SQLite", db), ("baseline", base)):
        if figures["missing"]:
            results.errors.append(
                f"S2 {phase}: {figures['missing']} deliveries missing ({figures['dropped']} dropped by slow consumers)"
            )
    for phase, figures in (("with SQLite", db), ("baseline", base)):
        if figures["deduplicated"]:
            results.errors.append(f"S2 {phase}: {figures['deduplicated']} reports changed nothing (bench bug)")
    if db.get("history_missing"):
        results.errors.append(f"S2: {db['history_missing']} history rows missing after the drain")
    s = "S2 pipeline"
    results.add(
        Row(
            s,
            f"sustained rate ({seconds:g} s)",
            db["rate"],
            "chg/s",
            ">=",
            RATE * 0.98,
            base["rate"],
            note="target: 10k/s offered, 2 % pacing slack",
        ),
        Row(s, "p99 ingress->sync sub", db["sync_p99_ms"], "ms", "<", 2.0, base["sync_p99_ms"]),
        Row(s, "p99 ingress->async consumer", db["async_p99_ms"], "ms", "<", 2.0, base["async_p99_ms"]),
        Row(s, "loop lag p99 (1 ms ticker)", db["lag_p99_ms"], "ms", "<", 5.0, base["lag_p99_ms"]),
        Row(s, "loop lag max", db["lag_max_ms"], "ms", "", None, base["lag_max_ms"]),
        Row(s, "DB rows unwritten at stop", db["db_backlog_rows"], "rows", "", None, None),
        Row(s, "DB drain time after stop", db["db_drain_s"], "s", "<", 1.0, None),
        Row(s, "CPU (all threads)", db["cpu_pct"], "% core", "<", 50.0, base["cpu_pct"]),
        Row(s, "CPU per change", db["cpu_us"], "us", "<", 50.0, base["cpu_us"]),
    )
    results.note(
        f"S2: {db['produced']:.0f} changes with SQLite ({db['history_rows']:.0f} history rows checked), "
        f"{base['produced']:.0f} in the baseline; 40 sync listeners + 10 async consumers; "
        f"synchronous=FULL."
    )


def run(results: Results) -> None:
    seconds = float(os.environ.get("BENCH_S2_SECONDS", "10"))
    asyncio.run(_run(results, seconds))
