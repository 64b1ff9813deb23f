"""The counters behind ``/metrics`` and the device health: fed by a real bus, read as Prometheus would."""

from __future__ import annotations

from hearth.core.bus import EventBus
from hearth.model.events import (
    CommandExecutionStateChangedEvent,
    DeviceRemovedEvent,
    DeviceStateChangedEvent,
    ExecutionStateChangedEvent,
)
from hearth.ops.device_health import RING, DeviceHealth
from hearth.ops.metrics import Histogram
from hearth.ops.monitoring import Monitoring

URL = "zigbee://1234-5678-9012/00:11"


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 1.0, 3.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.1", 2.0), ("1.0", 4.0), ("+Inf", 5.0)]
    assert histogram.count == 5 and abs(histogram.sum - 4.65) < 1e-9


def test_percentiles_are_nearest_rank_over_the_ring() -> None:
    health = DeviceHealth()
    assert health.percentiles() == {"p50": None, "p95": None}
    for ms in range(1, 21):  # 1..20 ms
        health.command(float(ms), failed=False, at_ms=ms)
    assert health.percentiles() == {"p50": 10.0, "p95": 19.0}
    for _ in range(RING):
        health.command(500.0, failed=True, at_ms=999)
    assert health.percentiles() == {"p50": 500.0, "p95": 500.0}  # the oldest fell out of the ring
    assert health.commands == 20 + RING and health.failures == RING
    assert health.last_seen == 20, "a failed command is no sign of life"


def command(state: str, rank: int = 0, failure: str | None = None) -> CommandExecutionStateChangedEvent:
    return CommandExecutionStateChangedEvent(
        exec_id="e1", device_url=URL, rank=rank, new_state=state, failure_type=failure
    )


def test_bus_events_feed_commands_executions_and_health() -> None:
    bus = EventBus()
    monitoring = Monitoring(bus)
    bus.publish(DeviceStateChangedEvent(device_url=URL, device_states=[], timestamp=111))
    bus.publish(command("TRANSMITTED", 0))
    bus.publish(command("COMPLETED", 0))
    bus.publish(command("TRANSMITTED", 1))
    bus.publish(command("FAILED", 1, "DEVICE_NO_ANSWER"))
    bus.publish(command("FAILED", 2, "DEVICE_NO_ANSWER"))  # skipped after rank 1: never sent, no latency
    bus.publish(
        ExecutionStateChangedEvent(
            exec_id="e1",
            old_state="IN_PROGRESS",
            new_state="FAILED",
            owner_key="t",
            type=1,
            sub_type=1,
            time_to_next_state=0,
            failure_type="CANCELLED",
        )
    )

    commands = monitoring.commands
    assert commands.commands == {("zigbee", "completed"): 1, ("zigbee", "failed"): 2}
    assert commands.failures == {("zigbee", "DEVICE_NO_ANSWER"): 2}
    assert commands.latency["zigbee"].count == 2
    assert commands.executions == {"cancelled": 1}
    assert dict(monitoring.event_counts())["CommandExecutionStateChangedEvent"] == 5
    health = monitoring.health.get(URL)
    assert health is not None
    assert (health.commands, health.failures) == (3, 2) and health.latencies_ms is not None
    assert len(health.latencies_ms) == 2

    bus.publish(DeviceRemovedEvent(device_url=URL, controllable_name="x"))
    assert monitoring.health.get(URL) is None
