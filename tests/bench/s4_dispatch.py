"""S4 action-group dispatch: the gateway's overhead between ``Executor.submit`` and the radio.

What is measured: a real ``hearth.app.Gateway`` on this loop (temp data folder, real SQLite with the
default ``synchronous=FULL``, the virtual driver with 200 generated devices, no API). The driver's
``execute`` is wrapped to timestamp each command as it is handed over and as the driver returns, and to
yield one loop turn before the virtual device answers, as a radio's answer comes after its frame (see
``Stopwatch``). One run =
``submit`` of one action group of 50 commands, then waiting for the execution to finish. Two figures:
- the spec's: submit -> last command handed to the driver, minus transport time, that is minus the time spent
  inside the driver's ``execute`` before that moment. A virtual light answers inside ``execute`` itself
  (its state report goes through the state store, history and subscribers there and then), so without the
  subtraction the 49 answers before the last command would count as dispatch; a radio answers after its
  frame has left, while the gateway goes on dispatching.
- submit -> last command handed, answers included (what this bench printed before; information only).
Both include everything the executor does before a command may leave: validation against the catalogue, the
journal's durable commit of the execution, per-device and per-radio gates, and the durable ``before_send``
journal row of each command (group-committed). 200 runs (after 10 warm-up runs), p50 and p99:
- 50 devices x 1 command (a scene: every light and plug on or off), and
- 10 devices x 5 commands (on, setIntensity, off, ... : per-device order makes them sequential);
the first case is also run with ``synchronous=NORMAL`` to show what the journal's syncs cost.
Every execution must end COMPLETED with all 50 commands handed over: refusals and failures are counted.
Also the event loop thread's CPU time per command (``time.thread_time``), which other work on the machine
inflates far less than it inflates latencies.

Baseline, same run, same driver instance and wrapper: the same 50 calls made directly with
``asyncio.gather(driver.execute(call) ...)``, timed the same way. That is the floor of handing 50
commands to a driver from asyncio; the difference is the gateway's own overhead.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hearth.model.action import Action, ActionGroup, Command
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionState
from hearth.sdk.driver import CommandCall
from tests.bench.common import Results, Row, in_process_gateway, percentile

RUNS = 200
WARMUP = 10
DEVICES = 200


def _actuators(gateway: Any) -> list[Any]:
    driver = gateway.drivers.by_protocol["virtual"]
    return [
        sim
        for sim in driver.devices.values()
        if sim.controllable.name in ("zigbee:DimmableLightComponent", "zigbee:SmartPlugComponent")
    ]


def _group(sims: list[Any], per_device: int, run: int) -> ActionGroup:
    actions = []
    for sim in sims:
        dimmable = "setIntensity" in sim.controllable.commands
        commands = []
        for k in range(per_device):
            step = run * per_device + k
            if dimmable and k % 3 == 1:
                commands.append(Command(name="setIntensity", parameters=[step % 100 + 1]))
            else:
                commands.append(Command(name="on" if step % 2 else "off"))
        actions.append(Action(deviceURL=str(sim.url), commands=commands))
    return ActionGroup(label=f"bench {run}", actions=actions)


class Stopwatch:
    """Wraps the driver's execute: records when each command is handed over, and when the driver returned.

    It is also the bench's transport. A radio's answer comes over the wire after its frame has left, in a
    later turn of the loop (a Zigbee light's 20-30 ms later), so the gateway hands all 50 frames before it
    handles any answer. A virtual light answers inside ``execute`` itself, without yielding, and the
    executor would then handle each command's completion (event, journal row, gates) before it hands the
    next one: the figure would count 49 completions that a radio's answers do not put in the way. So the
    wrapper yields once (``asyncio.sleep(0)``: the answer arrives in the next turn) before the virtual
    device answers; both the gateway runs and the direct baseline go through it.
    """

    def __init__(self, driver: Any) -> None:
        self.handed: list[float] = []
        self.inside: list[tuple[float, float]] = []  # (handed, returned) of each call
        original = driver.execute
        handed, inside = self.handed, self.inside

        async def execute(call: CommandCall) -> None:
            started = time.perf_counter()
            handed.append(started)
            try:
                await asyncio.sleep(0)  # the frame is out; the answer comes in a later turn
                await original(call)
            finally:
                inside.append((started, time.perf_counter()))

        driver.execute = execute
        self.original = original

    def clear(self) -> None:
        self.handed.clear()
        self.inside.clear()

    def dispatch_ms(self, start: float) -> tuple[float, float]:
        """(submit -> last handed, the same minus the time inside ``execute`` before then), in ms."""
        last = max(self.handed)
        spans = sorted((max(a, start), min(b, last)) for a, b in self.inside if a < last)
        transport = 0.0
        reach = start
        for a, b in spans:  # the union of the calls' spans, clipped to [start, last]
            a = max(a, reach)
            if b > a:
                transport += b - a
                reach = b
        return (last - start) * 1000, (last - start - transport) * 1000


async def _gateway_runs(
    gateway: Any, sims: list[Any], per_device: int, watch: Stopwatch
) -> tuple[list[tuple[float, float]], int, int, list[str], float]:
    executor = gateway.executor
    overheads: list[tuple[float, float]] = []
    refused = failed = 0
    reasons: list[str] = []
    groups = [_group(sims, per_device, run) for run in range(RUNS + WARMUP)]
    expected = len(sims) * per_device
    cpu_started = 0.0
    for run, group in enumerate(groups):
        if run == WARMUP:
            cpu_started = time.thread_time()
        watch.clear()
        start = time.perf_counter()
        try:
            execution = await executor.submit(group, owner="bench")
        except ApiError as exc:
            refused += 1
            reasons.append(f"run {run}: refused: {exc.message}")
            continue
        except Exception as exc:  # not a refusal the API would make: a failure of the gateway
            failed += 1
            reasons.append(f"run {run}: submit raised {type(exc).__name__}: {exc}")
            continue
        await executor.wait(execution.id)
        if execution.state is not ExecutionState.COMPLETED or len(watch.handed) != expected:
            failed += 1
            bad = [c for c in execution.commands if c.state is not ExecutionState.COMPLETED]
            detail = f"{bad[0].failure.name}: {bad[0].message}" if bad else "?"
            reasons.append(
                f"run {run}: {execution.state.name}, {len(watch.handed)}/{expected} commands sent, "
                f"{len(bad)} not completed ({detail})"
            )
            continue
        if run >= WARMUP:
            overheads.append(watch.dispatch_ms(start))
    cpu_us = (time.thread_time() - cpu_started) * 1e6 / (RUNS * expected)
    return overheads, refused, failed, reasons, cpu_us


async def _direct_runs(
    gateway: Any, sims: list[Any], per_device: int, watch: Stopwatch
) -> tuple[list[tuple[float, float]], float]:
    driver = gateway.drivers.by_protocol["virtual"]
    overheads = []
    cpu_started = 0.0
    for run in range(RUNS + WARMUP):
        if run == WARMUP:
            cpu_started = time.thread_time()
        group = _group(sims, per_device, run)
        calls = [
            CommandCall(device_url=sim.url, name=c.name, parameters=list(c.parameters), exec_id="direct", rank=k)
            for sim, action in zip(sims, group.actions, strict=True)
            for k, c in enumerate(action.commands)
        ]
        watch.clear()
        start = time.perf_counter()
        await asyncio.gather(*(driver.execute(call) for call in calls))
        if run >= WARMUP:
            overheads.append(watch.dispatch_ms(start))
    return overheads, (time.thread_time() - cpu_started) * 1e6 / (RUNS * len(sims) * per_device)


async def _case(results: Results, label: str, n_devices: int, per_device: int, synchronous: str) -> None:
    async with in_process_gateway(DEVICES, synchronous=synchronous) as gateway:
        sims = _actuators(gateway)[:n_devices]
        watch = Stopwatch(gateway.drivers.by_protocol["virtual"])
        direct, direct_cpu = await _direct_runs(gateway, sims, per_device, watch)
        measured, refused, failed, reasons, cpu = await _gateway_runs(gateway, sims, per_device, watch)
    if refused or failed:
        results.note(f"S4 {label}: {refused} refused, {failed} failed: {'; '.join(reasons[:3])}")
    dispatch = [d for _, d in measured]
    with_answers = [w for w, _ in measured]
    direct_dispatch = [d for _, d in direct]
    direct_with_answers = [w for w, _ in direct]
    results.add(
        Row("S4 dispatch", f"{label} p50", percentile(dispatch, 50), "ms", "", None, percentile(direct_dispatch, 50)),
        # The spec's S4 is 50 commands to 50 devices: the target is for that case. Five commands to each device
        # go one after the other, each written to disk before it leaves (see the note).
        Row(
            "S4 dispatch",
            f"{label} p99",
            percentile(dispatch, 99),
            "ms",
            "<" if per_device == 1 else "",
            5.0 if per_device == 1 else None,
            percentile(direct_dispatch, 99),
        ),
        Row(
            "S4 dispatch",
            f"{label} p99, answers included",
            percentile(with_answers, 99),
            "ms",
            "",
            None,
            percentile(direct_with_answers, 99),
        ),
        Row("S4 dispatch", f"{label} refusals+failures", refused + failed, "runs", "<", 1, None),
        Row("S4 dispatch", f"{label} loop CPU per command", cpu, "us", "", None, direct_cpu),
    )


def run(results: Results) -> None:
    asyncio.run(_case(results, "50 dev x 1 cmd, FULL", 50, 1, "FULL"))
    asyncio.run(_case(results, "10 dev x 5 cmd, FULL", 10, 5, "FULL"))
    asyncio.run(_case(results, "50 dev x 1 cmd, NORMAL", 50, 1, "NORMAL"))
    results.note(
        f"S4: {RUNS} runs per case after {WARMUP} warm-up runs; overhead = submit -> last command "
        "handed to the driver, minus transport time (the time inside the driver's execute before then: a "
        "virtual light's answer is handled inside it); 'answers included' without the subtraction. "
        "Loop CPU per command: "
        "the event loop thread's CPU time over the timed runs (to COMPLETED, journal and events included; "
        "the database thread not counted) divided by the commands; less sensitive to other load than the "
        "latencies. Baseline: the same for the direct calls (the driver's own work, its state reports "
        "through the state store, history and subscribers). The target (p99 < 5 ms) is the spec's, for its "
        "scenario: 50 commands to 50 devices (50 x 1). With 5 commands a device, a device's commands go one "
        "after the other, and each of the 4 after the first is written to disk (its durable before-send row) "
        "once the one before it has finished: 5 syncs in a row, the registration's and 4 more, which is the price "
        "of knowing after a crash which commands never left. With a radio each of them waits for the device's "
        "answer anyway (20-120 ms), beside which a sync (0.3-1 ms here) is small; the figure is shown without a "
        "target."
    )
