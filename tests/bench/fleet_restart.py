"""A fleet through a broker restart: 200 light gateways (fleet.py's: the real MQTT connector, recorder and outbox on
SQLite, no radio) on one mosquitto, which is stopped mid-run and started again on the same port.

Run twice in the same process: with the reconnect back-off's equal jitter (the default, hearth.core.backoff), and
without it (``reconnect_jitter = false``: the deterministic doubling every gateway used to follow, the baseline).

Measured, after the broker is back:

- the peak reconnect rate: the most gateways that opened a session in any 100 ms window, per second (sampled
  every 10 ms from each connector's session count); the lower, the less the broker sees the fleet at once;
- how long the reconnections took, first to last;
- records lost: every gateway records state changes before, during and after the outage (each its own record);
  the cloud (a persistent-session subscriber) must end with every one of them (deduplicated by eventId), or the
  row fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from tests.bench.common import Results, Row
from tests.bench.fleet import _light_gateway

GATEWAYS = int(os.environ.get("BENCH_FLEET_GATEWAYS", "200"))
OUTAGE_S = 3.0
WINDOW_S = 0.1
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 8.0


async def _run(jitter: bool) -> dict[str, float]:
    import aiomqtt

    from hearth.config import CloudSettings, MqttSettings
    from hearth.model.events import DeviceStateChangedEvent
    from tests.peers.mosquitto import Mosquitto

    folder = Path(tempfile.mkdtemp(prefix="hearth-fleet-restart-"))
    broker = await Mosquitto(folder / "broker").start()
    settings = CloudSettings(
        enabled=True,
        mqtt=MqttSettings(host="127.0.0.1", port=broker.port, tls=False, keepalive_s=5),
        telemetry_window_s=0.2,
        sync_interval_s=600,
        reconnect_min_s=RECONNECT_MIN_S,
        reconnect_max_s=RECONNECT_MAX_S,
        reconnect_jitter=jitter,
    )
    got: dict[str, set[str]] = {}  # gateway id -> event ids the cloud has

    async def cloud(ready: asyncio.Event) -> None:
        while True:  # a persistent session: what is published while it reconnects waits for it on the broker
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", broker.port, identifier="fleet-restart-cloud", clean_session=False
                ) as c:
                    await c.subscribe("hearth/+/up/states", qos=1)
                    ready.set()
                    async for message in c.messages:
                        body = json.loads(bytes(message.payload))
                        got.setdefault(body["gatewayId"], set()).update(r["eventId"] for r in body["records"])
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    ready = asyncio.Event()
    listener = asyncio.create_task(cloud(ready))
    await ready.wait()
    gateways = [await _light_gateway(folder, i, settings) for i in range(GATEWAYS)]
    sent: dict[str, int] = {}

    def emit(round_: int) -> None:
        for g in gateways:
            gid = g.identity.gateway_id
            g.bus.publish(
                DeviceStateChangedEvent(
                    device_url=f"virtual://{gid}/{round_}",
                    device_states=[{"name": "core:OnOffState", "type": 3, "value": "on"}],
                )
            )
            sent[gid] = sent.get(gid, 0) + 1

    try:
        deadline = time.monotonic() + 120
        while not all(g.cloud.connected for g in gateways):
            if time.monotonic() > deadline:
                raise RuntimeError("the fleet did not connect")
            await asyncio.sleep(0.05)
        emit(0)
        await asyncio.sleep(1.0)
        before = sum(g.cloud.connects for g in gateways)
        await broker.stop()
        lost_at = time.monotonic()
        for r in range(1, 4):  # recorded while the broker is away: in the outboxes
            emit(r)
            await asyncio.sleep(OUTAGE_S / 3)
        await broker.start()
        back_at = time.monotonic()
        samples: list[tuple[float, int]] = []
        deadline = back_at + 60
        while time.monotonic() < deadline:
            total = sum(g.cloud.connects for g in gateways) - before
            samples.append((time.monotonic(), total))
            if total >= GATEWAYS and all(g.cloud.connected for g in gateways):
                break
            await asyncio.sleep(0.01)
        emit(4)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(len(got.get(g, ())) < n for g, n in sent.items()):
            await asyncio.sleep(0.05)
        lost = sum(max(0, n - len(got.get(g, ()))) for g, n in sent.items())
    finally:
        for g in gateways:
            await g.cloud.stop()
            await g.db.close()
        listener.cancel()
        await broker.stop()

    reconnected = samples[-1][1] if samples else 0
    peak = 0
    for i, (t, _) in enumerate(samples):  # the most sessions opened in any WINDOW_S
        j = i
        while j + 1 < len(samples) and samples[j + 1][0] - t <= WINDOW_S:
            j += 1
        peak = max(peak, samples[j][1] - (samples[i - 1][1] if i else 0))
    first = next((t for t, n in samples if n > 0), back_at)
    last = next((t for t, n in samples if n >= reconnected), back_at)
    return {
        "peak": peak / WINDOW_S,
        "span": last - first,
        "reconnected": reconnected,
        "lost": lost,
        "records": sum(sent.values()),
        "down": back_at - lost_at,
    }


def run(results: Results) -> None:
    jittered = asyncio.run(_run(jitter=True))
    lockstep = asyncio.run(_run(jitter=False))
    results.add(
        Row(
            "Fleet restart",
            f"{GATEWAYS} gateways, broker restarted: peak reconnects/s (100 ms window)",
            jittered["peak"],
            "conn/s",
            "",
            None,
            lockstep["peak"],
        ),
        Row("Fleet restart", "  reconnections first to last", jittered["span"], "s", "", None, lockstep["span"]),
        Row("Fleet restart", "  gateways not back", GATEWAYS - jittered["reconnected"], "gw", "<", 1, None),
        Row("Fleet restart", "  records lost (of every outbox)", jittered["lost"], "rec", "<", 1, None),
        Row("Fleet restart", "  records lost without jitter", lockstep["lost"], "rec", "<", 1, None),
    )
    results.note(
        f"Fleet restart: {GATEWAYS} light gateways on one mosquitto stopped for {OUTAGE_S:.0f} s; "
        f"reconnect back-off {RECONNECT_MIN_S}..{RECONNECT_MAX_S} s with equal jitter; baseline: the same "
        f"run without jitter; {jittered['records']:.0f} records per run."
    )
