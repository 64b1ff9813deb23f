"""S10 MQTT bridge: device states published to a real mosquitto through hearth.bridge, as Home Assistant reads them.

A real ``hearth.app.Gateway`` on this loop (1000 generated virtual devices, no API) with the real MqttBridge
(hearth.bridge) on a local mosquitto. A paced producer plays the radios (the driver's ``ctx.report_states``,
one changed state per report, round robin over the devices) at 10k changes/s for BENCH_S10_SECONDS (default 5);
the bridge publishes each device's state object (about 100 B, QoS 0, retained, as in its default settings).
A separate ``mosquitto_sub`` counts what the broker delivered, so every figure is broker-confirmed.

Reported: states published per second (the bridge's count over the producing time), states delivered (the
subscriber's count, which must equal the published one), the event loop's lag p99 from a 1 ms ticker while it
runs, and a second, unpaced phase: the most states per second the bridge takes when the producer does not wait.

Baseline, same broker, same run: ``mosquitto_pub -l`` sending 50k lines of 100 B at QoS 0 (one message per
line), timed until the subscriber has them all: the broker's and the machine's own ceiling.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import LoopLagProbe, Results, Row, in_process_gateway

RATE = 10_000
DEVICES = 1000
BASELINE_MESSAGES = 50_000
MAX_BURST = 200


class Counter:
    """``mosquitto_sub`` on a topic, its output in a file: the number of lines is the number of messages."""

    def __init__(self, port: int, topic: str, folder: Path) -> None:
        self.file = folder / f"sub-{abs(hash(topic))}.txt"
        self.out = self.file.open("wb")
        self.proc = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "0"],
            stdout=self.out,
            stderr=subprocess.DEVNULL,
        )

    def count(self) -> int:
        self.out.flush()
        with self.file.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))

    async def wait_count(self, expected: int, timeout: float = 20) -> tuple[int, float]:
        """Wait until ``expected`` messages arrived (or nothing more arrives); (count, when it was reached)."""
        deadline = time.perf_counter() + timeout
        last, last_change = -1, time.perf_counter()
        while time.perf_counter() < deadline:
            n = self.count()
            if n >= expected:
                return n, time.perf_counter()
            if n != last:
                last, last_change = n, time.perf_counter()
            elif time.perf_counter() - last_change > 2:
                break
            await asyncio.sleep(0.01)
        return self.count(), time.perf_counter()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)
        self.out.close()


async def _baseline(port: int, folder: Path) -> float:
    """mosquitto_pub -l: BASELINE_MESSAGES lines of 100 B, until the subscriber has them all; messages per second."""
    lines = folder / "lines.txt"
    lines.write_bytes(b"".join(b"%099d\n" % i for i in range(BASELINE_MESSAGES)))
    counter = Counter(port, "bench/baseline", folder)
    await asyncio.sleep(0.3)  # subscribed
    start = time.perf_counter()
    with lines.open("rb") as stdin:
        pub = await asyncio.create_subprocess_exec(
            "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "bench/baseline", "-q", "0", "-l", stdin=stdin
        )
        await pub.wait()
    n, reached = await counter.wait_count(BASELINE_MESSAGES)
    counter.close()
    return n / (reached - start)


async def _produce(
    ctx: Any, targets: list[tuple[str, str, Any]], seconds: float, rate: int | None, first_round: int
) -> tuple[int, float, int]:
    """Report changes at ``rate`` per second (None: as fast as the loop goes); (produced, seconds, next round)."""
    clock = time.perf_counter
    produced, position, round_ = 0, 0, first_round
    start = clock()
    end = start + seconds
    while clock() < end:
        due = produced + MAX_BURST if rate is None else min(int((clock() - start) * rate), produced + MAX_BURST)
        while produced < due:
            url, name, value_of = targets[position]
            ctx.report_states(url, {name: value_of(round_)})
            produced += 1
            position += 1
            if position == len(targets):
                position, round_ = 0, round_ + 1
        await asyncio.sleep(0.0005 if rate is not None else 0)
    return produced, clock() - start, round_ + 1


async def _wait_idle(bridge: Any) -> None:
    for _ in range(2000):
        if bridge.connected and not (bridge._dirty_states or bridge._dirty_config or bridge._dirty_availability):
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the bridge did not connect or finish its announcements")


async def _scenario(results: Results) -> None:
    from hearth.bridge import MqttBridge
    from hearth.config import BridgeSettings
    from tests.bench.s2_pipeline import _changer
    from tests.peers.mosquitto import Mosquitto

    if shutil.which("mosquitto_sub") is None or shutil.which("mosquitto_pub") is None:
        results.note("S10: mosquitto-clients missing (make peers installs them); skipped")
        return
    seconds = float(os.environ.get("BENCH_S10_SECONDS", "5"))
    folder = Path(tempfile.mkdtemp(prefix="hearth-s10-"))
    broker = await Mosquitto(folder / "broker").start()
    try:
        baseline = await _baseline(broker.port, folder)
        async with in_process_gateway(DEVICES, synchronous="NORMAL") as gateway:
            driver = gateway.drivers.by_protocol["virtual"]
            targets = [(sim.url, *_changer(sim.controllable.name)) for sim in driver.devices.values()]
            # The loop's lag with the same producer and no bridge: the floor the bridge's lag stands on.
            bare = LoopLagProbe().start()
            _, _, first_round = await _produce(driver.ctx, targets, min(seconds, 3.0), RATE, 1)
            await bare.stop()
            bridge = MqttBridge(BridgeSettings(enabled=True, host="127.0.0.1", port=broker.port))
            await bridge.start(gateway)
            try:
                await _wait_idle(bridge)
                counter = Counter(broker.port, f"{bridge.base}/+/state", folder)
                await asyncio.sleep(0.3)
                retained = counter.count()  # the retained state of every device, delivered at subscription
                probe = LoopLagProbe().start()
                before = bridge.published
                produced, elapsed, next_round = await _produce(driver.ctx, targets, seconds, RATE, first_round)
                await _wait_idle(bridge)
                await probe.stop()
                published = bridge.published - before
                delivered, _ = await counter.wait_count(retained + published)
                delivered -= retained
                # Unpaced: the most the bridge takes.
                before = bridge.published
                fast_produced, fast_elapsed, _ = await _produce(driver.ctx, targets, 2.0, None, next_round)
                await _wait_idle(bridge)
                fast_published = bridge.published - before
                counter.close()
            finally:
                await bridge.stop()
    finally:
        await broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    rate = published / elapsed
    results.add(
        Row(
            "S10 bridge",
            "states published, paced at 10k/s",
            rate,
            "msg/s",
            ">=",
            RATE * 0.95,
            baseline,
            f"{produced} changes of {DEVICES} devices in {elapsed:.1f} s; baseline: mosquitto_pub -l",
        ),
        Row(
            "S10 bridge",
            "delivered by the broker / published",
            100 * delivered / max(1, published),
            "%",
            ">=",
            99.9,
            note=f"{delivered} of {published}, counted by mosquitto_sub",
        ),
        Row(
            "S10 bridge",
            "loop lag p99 while publishing",
            probe.p99,
            "ms",
            "<",
            5.0,
            bare.p99,
            note=f"max {probe.max:.1f} ms; baseline: the same producer, no bridge",
        ),
        Row(
            "S10 bridge",
            "states published, unpaced",
            fast_published / fast_elapsed,
            "msg/s",
            baseline=baseline,
            note=f"{fast_produced} changes offered in {fast_elapsed:.1f} s (a device changing faster than the "
            "broker takes it is sent once with its latest states)",
        ),
    )


def run(results: Results) -> None:
    asyncio.run(_scenario(results))
