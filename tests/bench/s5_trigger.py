"""S5 trigger reaction: a device state change -> trigger condition -> action group -> first command handed
to the driver.

What is measured: a real ``hearth.app.Gateway`` on this loop (temp data folder, real SQLite, the virtual
driver with 400 generated devices, no API). 300 ifThenSetupTriggers are created through
``gateway.triggers.create`` (validated, persisted, indexed, as the API does it), each watching the
temperature of its own sensor (``GREATER_THAN 25``) and switching a light on: the one under test and 299
others, so that the engine has to find the right one through its (deviceURL, stateName) index. One run =
the sensor reported at 20 (the condition ends), then at 30 through the driver's ``ctx.report_states`` (the
path a radio report takes); the figure is the time from just before that report to the moment the
trigger's first command reaches the driver's ``execute`` (a wrapper timestamps it, as in S4). It includes
the state store, the bus, the trigger index and condition, the execution's journal commit (synced to disk
with the default ``synchronous=FULL``: the journal is written before anything is sent), and the executor's
gates. 300 runs after 20 warm-up runs, p50 and p99; the same with ``synchronous=NORMAL`` shows what the
journal's sync costs. Every run must register exactly one execution of subType IFT_CONDITION.

Baseline, same run, same gateway and driver wrapper: the same action group given to ``executor.submit``
directly (no state change, no trigger), timed the same way. The difference is the trigger path's own cost.
For information: the part up to the moment the engine hands the effect to ``executor.submit`` (state
store, bus, index, condition, one loop hop: the trigger path proper; the rest is the executor's journal and
gates, as in the baseline, plus the history rows of the state change sharing the journal's flush), and the
engine's own share, the time its bus handler takes per state change (p50 and p99, in us).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hearth.model.action import ActionGroup
from hearth.model.events import DeviceStateChangedEvent, ExecutionRegisteredEvent
from hearth.model.execution import ExecutionSubType
from hearth.sdk.driver import CommandCall
from tests.bench.common import Results, Row, in_process_gateway, percentile

RUNS = 300
WARMUP = 20
DEVICES = 400
TRIGGERS = 300
TEMPERATURE = "core:TemperatureState"


class Stopwatch:
    """Wraps the driver's execute: notes when the first command of a run is handed over."""

    def __init__(self, driver: Any) -> None:
        self.first: float | None = None
        self.handed = asyncio.Event()
        original = driver.execute

        async def execute(call: CommandCall) -> None:
            if self.first is None:
                self.first = time.perf_counter()
                self.handed.set()
            await original(call)

        driver.execute = execute

    def reset(self) -> None:
        self.first = None
        self.handed.clear()


def _by_kind(gateway: Any, controllable: str) -> list[Any]:
    driver = gateway.drivers.by_protocol["virtual"]
    return [sim for sim in driver.devices.values() if sim.controllable.name == controllable]


def _group(light: Any) -> dict[str, Any]:
    return {"label": f"on {light.url}", "actions": [{"deviceURL": str(light.url), "commands": [{"name": "on"}]}]}


async def _case(results: Results, synchronous: str) -> None:
    async with in_process_gateway(DEVICES, synchronous=synchronous) as gateway:
        driver = gateway.drivers.by_protocol["virtual"]
        sensors = _by_kind(gateway, "zigbee:TemperatureSensorComponent")[:TRIGGERS]
        lights = _by_kind(gateway, "zigbee:DimmableLightComponent")
        for i, sensor in enumerate(sensors):
            driver.ctx.report_states(sensor.url, {TEMPERATURE: 20.0})
            await gateway.triggers.create(
                {
                    "ifThenSetupTrigger": {
                        "label": f"bench {i}",
                        "rootConditionBlock": {
                            "staticDeviceStateCondition": {
                                "deviceURL": str(sensor.url),
                                "stateName": TEMPERATURE,
                                "operator": "GREATER_THAN",
                                "value1": "25",
                            }
                        },
                        "effects": [{"actionGroupEffect": {"localActionGroup": _group(lights[i % len(lights)])}}],
                    }
                }
            )
        sensor, light = sensors[0], lights[0]
        watch = Stopwatch(driver)
        registered: list[ExecutionRegisteredEvent] = []
        gateway.bus.subscribe(registered.append, ExecutionRegisteredEvent)
        engine_ns: list[int] = []
        handler = gateway.triggers._on_states

        def timed(event: DeviceStateChangedEvent) -> None:
            started = time.perf_counter_ns()
            handler(event)
            engine_ns.append(time.perf_counter_ns() - started)

        # The engine's bus handler, timed where the bus calls it.
        gateway.bus._typed[DeviceStateChangedEvent] = [
            timed if listener == handler else listener for listener in gateway.bus._typed[DeviceStateChangedEvent]
        ]
        gateway.bus._dispatch.clear()

        # Baseline: the same group straight to the executor.
        direct: list[float] = []
        group = ActionGroup.model_validate(_group(light))
        for run in range(RUNS + WARMUP):
            watch.reset()
            start = time.perf_counter()
            execution = await gateway.executor.submit(group, owner="bench")
            await watch.handed.wait()
            if run >= WARMUP:
                direct.append((watch.first - start) * 1000)  # type: ignore[operator]
            await gateway.executor.wait(execution.id)

        # When the engine hands the effect to the executor: the split between the trigger path and the
        # executor's own work (journal commits before and at the send, gates), which S4 measures.
        submitted: list[float] = []
        submit = gateway.executor.submit

        async def timed_submit(*args: Any, **kwargs: Any) -> Any:
            submitted.append(time.perf_counter())
            return await submit(*args, **kwargs)

        gateway.executor.submit = timed_submit  # type: ignore[method-assign]
        measured: list[float] = []
        to_submit: list[float] = []
        wrong = 0
        for run in range(RUNS + WARMUP):
            driver.ctx.report_states(sensor.url, {TEMPERATURE: 20.0})
            await asyncio.sleep(0)
            registered.clear()
            submitted.clear()
            if run < WARMUP:
                engine_ns.clear()
            watch.reset()
            start = time.perf_counter()
            driver.ctx.report_states(sensor.url, {TEMPERATURE: 30.0})
            try:
                await asyncio.wait_for(watch.handed.wait(), 5)
            except TimeoutError:
                wrong += 1
                continue
            if run >= WARMUP:
                measured.append((watch.first - start) * 1000)  # type: ignore[operator]
                to_submit.append((submitted[0] - start) * 1000)
            await gateway.triggers.settle()
            if len(registered) != 1 or registered[0].sub_type != ExecutionSubType.IFT_CONDITION:
                wrong += 1
                continue
            await gateway.executor.wait(registered[0].exec_id)
        watchers = len(gateway.triggers.watching(str(sensor.url), TEMPERATURE))
    if wrong or watchers != 1:
        results.errors.append(
            f"S5 {synchronous}: {wrong} runs without exactly one IFT_CONDITION execution; "
            f"{watchers} triggers indexed on the sensor (expected 1)"
        )
    label = f"state change -> 1st command, {synchronous}"
    results.add(
        Row("S5 trigger", f"{label} p50", percentile(measured, 50), "ms", "", None, percentile(direct, 50)),
        Row("S5 trigger", f"{label} p99", percentile(measured, 99), "ms", "<", 2.0, percentile(direct, 99)),
        Row("S5 trigger", f"  of which change -> submit p50, {synchronous}", percentile(to_submit, 50), "ms"),
        Row("S5 trigger", f"  of which change -> submit p99, {synchronous}", percentile(to_submit, 99), "ms"),
        Row("S5 trigger", f"engine per change p50, {synchronous}", percentile(engine_ns, 50) / 1000, "us"),
        Row("S5 trigger", f"engine per change p99, {synchronous}", percentile(engine_ns, 99) / 1000, "us"),
        Row("S5 trigger", f"runs without their execution, {synchronous}", wrong, "runs", "<", 1),
    )


def run(results: Results) -> None:
    asyncio.run(_case(results, "FULL"))
    asyncio.run(_case(results, "NORMAL"))
    results.note(
        f"S5: {TRIGGERS} triggers on {TRIGGERS} sensors, {RUNS} runs after {WARMUP} warm-up runs; "
        "baseline = the same action group submitted to the executor directly."
    )
