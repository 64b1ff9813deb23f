"""Zigbee: the gateway's overhead per command on top of the radio's own round trip.

What is measured: a real ``hearth.app.Gateway`` on this loop (temp data folder, real SQLite, ``synchronous=FULL``)
with the Zigbee driver on the real zigpy and zigpy-znp, talking to the Z-Stack emulator of tests/peers/znp over
TCP on the same loop, its reply delay set to 0. One on/off light is paired through the stack device first. Then
300 executions of one command each (on, off, ...), one after the other: submit -> COMPLETED. That includes
what the executor does (validation, the execution's durable journal commit, gates, the before-send row), the
driver's mapping to a ZCL command, the state report, and the radio round trip.

Baseline, same run, same light, same zigpy application: the same ZCL command sent straight through zigpy
(``cluster.on()`` / ``cluster.off()``), timed the same way. That is the round trip of zigpy, zigpy-znp and the
emulator; the difference of the two medians is our overhead per command (target < 1 ms). The two kinds of run
alternate. Most of the overhead is the execution's journal row reaching the disk before the command may leave
(synchronous=FULL: an fsync), shown on its own line.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from hearth.model.action import Action, ActionGroup, Command
from hearth.model.execution import ExecutionState
from tests.bench.common import Results, Row, in_process_gateway, percentile

RUNS = 300
WARMUP = 20
LIGHT = "00:0d:6f:00:0b:12:34:01"


async def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("the Zigbee bench set-up did not converge (light not paired)")
        await asyncio.sleep(0.02)


def _one(url: str, name: str) -> ActionGroup:
    return ActionGroup(label=f"zigbee {name}", actions=[Action(deviceURL=url, commands=[Command(name=name)])])


async def _pair(gateway: Any, emulator: Any, sim: Any) -> str:
    stack = f"zigbee://{gateway.identity.gateway_id}/stack"
    execution = await gateway.executor.submit(_one(stack, "openNetwork"), owner="bench")
    await gateway.executor.wait(execution.id)
    light = sim.on_off_light(LIGHT)
    emulator.add_device(light)
    await emulator.join(light.ieee)
    url = f"zigbee://{gateway.identity.gateway_id}/{LIGHT}"
    await _wait(lambda: gateway.registry.get(url) is not None)
    return url


async def _scenario(results: Results) -> None:
    from tests.peers.znp import devices as sim
    from tests.peers.znp.emulator import ZnpEmulator

    folder = Path(tempfile.mkdtemp(prefix="hearth-bench-znp-"))
    emulator = await ZnpEmulator.start(folder, transport="tcp")
    emulator.reply_delay = 0.0
    env = {
        "HEARTH_DRIVERS__ZIGBEE__ENABLED": "true",
        "HEARTH_DRIVERS__ZIGBEE__RADIO": "znp",
        "HEARTH_DRIVERS__ZIGBEE__PORT": emulator.port_path,
        "HEARTH_DRIVERS__VIRTUAL__ENABLED": "false",
    }
    try:
        async with in_process_gateway(0, extra=env) as gateway:
            url = await _pair(gateway, emulator, sim)
            app = gateway.drivers.by_protocol["zigbee"].app
            on_off = app.get_device(ieee=app.get_device(nwk=emulator.device(LIGHT).nwk).ieee).endpoints[1].on_off

            # Interleaved, one of each per run, so the machine's moods weigh on both sides alike.
            direct: list[float] = []
            measured: list[float] = []
            journal: list[float] = []
            failed = 0
            writer = gateway.writer
            for run in range(RUNS + WARMUP):
                name = "on" if run % 2 else "off"
                start = time.perf_counter()
                await (on_off.on() if run % 2 else on_off.off())
                took = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                execution = await gateway.executor.submit(_one(url, name), owner="bench")
                await gateway.executor.wait(execution.id)
                if execution.state is not ExecutionState.COMPLETED:
                    failed += 1
                elif run >= WARMUP:
                    measured.append((time.perf_counter() - start) * 1000)
                    direct.append(took)
                    journal.append(writer.last_flush_ms)
            received = len(emulator.received(LIGHT))
    finally:
        await emulator.stop()
    overhead = percentile(measured, 50) - percentile(direct, 50)
    results.add(
        Row("Zigbee command", "through Hearth p50", percentile(measured, 50), "ms", "", None, percentile(direct, 50)),
        Row("Zigbee command", "through Hearth p99", percentile(measured, 99), "ms", "", None, percentile(direct, 99)),
        Row("Zigbee command", "our overhead (p50 - zigpy p50)", overhead, "ms", "<", 1.0, None),
        Row("Zigbee command", "of which journal commit p50", percentile(journal, 50), "ms", "", None, None),
        Row("Zigbee command", "failed executions", failed, "runs", "<", 1, None),
    )
    results.note(
        f"Zigbee: {RUNS} commands each way after {WARMUP} warm-up; baseline = the same ZCL command straight "
        f"through zigpy to the emulator (reply delay 0); the emulator saw {received} commands in all."
    )


def run(results: Results) -> None:
    asyncio.run(_scenario(results))
