"""A fleet: many light gateways on one mosquitto, through Hearth's real cloud sync (issue 8).

What is measured: 200 gateways in this process, each with our real MQTT connector (hearth.cloud.mqtt.MqttSync),
recorder and outbox on its own SQLite file, and its own event bus; "light" because the rest of a gateway is left
out: their executor only takes the command (it is the connector's path that is measured, not a radio). A test
cloud on the same broker:

- uplink: every gateway reports 50 state changes at once; the figure is state records per second until the
  cloud has them all (each gateway batches its window's records into one MQTT message per stream);
- commands: the cloud pushes one command to each gateway in turn (down/exec) and waits for its result record
  (up/executions): p50 and p99 of that round trip.

Baselines, same broker, same run: for the uplink, one aiomqtt client publishing the same records one per
message at QoS 1 (what a naive connector would do); for the round trip, two bare broker hops (one QoS 1 publish to the
cloud's subscription, timed, doubled). Every client here, ours included, sets TCP_NODELAY.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.bench.common import Results, Row, percentile

GATEWAYS = 200
STATES_PER_GATEWAY = 50
COMMAND_ROUNDS = 200


class _Executor:
    """Takes a command and says it runs: the light gateway's stand-in for the radio side."""

    async def submit(self, group: Any, *, owner: str, source: str) -> Any:
        return SimpleNamespace(id=str(uuid.uuid4()))

    def cancel(self, exec_id: str) -> bool:
        return False


async def _light_gateway(folder: Path, index: int, settings: Any) -> Any:
    from hearth.cloud.mqtt import MqttSync
    from hearth.core.bus import EventBus
    from hearth.store.database import Database

    db = Database(folder / f"gw{index}.db", synchronous="NORMAL")
    await db.open()
    gateway = SimpleNamespace(
        identity=SimpleNamespace(gateway_id=f"9000-0000-{index:04d}"),
        db=db,
        bus=EventBus(),
        executor=_Executor(),
        action_groups=None,
        conditions=None,
        triggers=None,
        registry=SimpleNamespace(all=lambda: []),
        settings=SimpleNamespace(data_dir=lambda: folder),
    )
    sync = MqttSync(settings)
    sync.attach(gateway)  # the light gateway stands for both the core parts and the started parts
    await sync.start(gateway)
    gateway.cloud = sync  # the bench's handle on it
    return gateway


async def _scenario(results: Results) -> None:
    import aiomqtt

    from hearth.config import CloudSettings, MqttSettings
    from hearth.model.events import DeviceStateChangedEvent
    from hearth.mqtt_connect import NO_DELAY
    from tests.peers.mosquitto import Mosquitto

    folder = Path(tempfile.mkdtemp(prefix="hearth-fleet-"))
    broker = await Mosquitto(folder / "broker").start()
    settings = CloudSettings(
        enabled=True,
        mqtt=MqttSettings(host="127.0.0.1", port=broker.port, tls=False),
        telemetry_window_s=0.2,
        sync_interval_s=600,
        reconnect_min_s=0.2,
    )
    received: list[tuple[float, str, Any]] = []
    ready = asyncio.Event()

    async def cloud() -> None:
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="fleet-cloud", socket_options=NO_DELAY) as c:
            await c.subscribe("hearth/+/up/#", qos=1)
            await c.subscribe("bench/up/#", qos=1)
            ready.set()
            async for message in c.messages:
                received.append((time.perf_counter(), str(message.topic), json.loads(bytes(message.payload))))

    listener = asyncio.create_task(cloud())
    await ready.wait()
    gateways = [await _light_gateway(folder, i, settings) for i in range(GATEWAYS)]
    try:
        deadline = time.monotonic() + 60
        while not all(g.cloud.connected for g in gateways):
            if time.monotonic() > deadline:
                raise RuntimeError("the fleet did not connect")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        received.clear()

        # Uplink through Hearth: 50 state changes per gateway, at once.
        start = time.perf_counter()
        for g in gateways:
            for k in range(STATES_PER_GATEWAY):
                g.bus.publish(
                    DeviceStateChangedEvent(
                        device_url=f"virtual://{g.identity.gateway_id}/{k}",
                        device_states=[{"name": "core:OnOffState", "type": 3, "value": "on"}],
                    )
                )
        wanted = GATEWAYS * STATES_PER_GATEWAY

        def states_in() -> int:
            return sum(len(body["records"]) for _, topic, body in received if topic.endswith("/up/states"))

        while states_in() < wanted and time.perf_counter() - start < 60:
            await asyncio.sleep(0.01)
        got = states_in()
        took = (max(t for t, _, _ in received) - start) if got else float("nan")
        hearth_rate = got / took if got else 0.0
        hearth_messages = sum(1 for _, topic, _ in received if topic.endswith("/up/states"))

        # Baseline: the same records, one QoS 1 message each, from one bare client.
        received.clear()
        record = json.dumps({"deviceURL": "virtual://x/1", "name": "core:OnOffState", "value": "on"}).encode()
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="fleet-naive") as naive:
            start = time.perf_counter()
            for i in range(wanted):
                await naive.publish(f"bench/up/{i % GATEWAYS}", record, qos=1)
            while len(received) < wanted and time.perf_counter() - start < 60:
                await asyncio.sleep(0.01)
        naive_rate = len(received) / (max(t for t, _, _ in received) - start) if received else 0.0

        # Commands: down/exec to each gateway in turn, until its result comes up.
        latencies = []
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, identifier="fleet-pusher", socket_options=NO_DELAY
        ) as pusher:
            for i in range(COMMAND_ROUNDS):
                g = gateways[i % GATEWAYS]
                command_id = f"bench-{i}"
                received.clear()
                sent = time.perf_counter()
                await pusher.publish(
                    f"hearth/{g.identity.gateway_id}/down/exec",
                    json.dumps(
                        {
                            "id": command_id,
                            "actionGroup": {
                                "label": "bench",
                                "actions": [{"deviceURL": "virtual://x/1", "commands": [{"name": "on"}]}],
                            },
                        }
                    ).encode(),
                    qos=1,
                )
                while time.perf_counter() - sent < 10:
                    hit = [
                        t
                        for t, topic, body in received
                        if topic.endswith("/up/executions")
                        and any(r["record"].get("commandId") == command_id for r in body["records"])
                    ]
                    if hit:
                        latencies.append((hit[0] - sent) * 1000)
                        break
                    await asyncio.sleep(0.0005)

        # Baseline: one bare broker hop (publish -> the cloud's subscription), twice: a command and its result.
        hop_latencies = []
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="fleet-hop", socket_options=NO_DELAY) as pusher:
            for i in range(COMMAND_ROUNDS):
                received.clear()
                sent = time.perf_counter()
                await pusher.publish("bench/up/hop", json.dumps({"id": i}).encode(), qos=1)
                while time.perf_counter() - sent < 10:
                    if received:
                        hop_latencies.append((received[0][0] - sent) * 1000 * 2)
                        break
                    await asyncio.sleep(0.0005)
    finally:
        for g in gateways:
            await g.cloud.stop()
            await g.db.close()
        listener.cancel()
        await broker.stop()

    results.add(
        Row("Fleet", f"{GATEWAYS} gateways: state records/s to the cloud", hearth_rate, "rec/s", "", None, naive_rate),
        Row("Fleet", "  MQTT messages/s carrying them", hearth_messages / took, "msg/s", "", None, naive_rate),
        Row("Fleet", "  records lost", wanted - got, "rec", "<", 1, None),
        Row(
            "Fleet",
            "pushed command -> result p50",
            percentile(latencies, 50),
            "ms",
            "",
            None,
            percentile(hop_latencies, 50),
        ),
        Row(
            "Fleet",
            "pushed command -> result p99",
            percentile(latencies, 99),
            "ms",
            "",
            None,
            percentile(hop_latencies, 99),
        ),
        Row("Fleet", "commands without a result", COMMAND_ROUNDS - len(latencies), "runs", "<", 1, None),
    )
    results.note(
        f"Fleet: {GATEWAYS} light gateways (real connector, recorder and outbox on SQLite; no radio) on one "
        f"mosquitto; baselines: the same records one QoS 1 message each from one client, and two bare "
        f"broker hops (one timed, doubled) for the round trip."
    )


def run(results: Results) -> None:
    asyncio.run(_scenario(results))
