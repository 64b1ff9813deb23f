"""What ``/metrics`` exposes, kept as plain numbers and turned into Prometheus families only when scraped.

Recording costs a dict lookup and an increment (the executor and the bus are benchmarked); the
``MetricsCollector`` reads everything at scrape time, from these counters and from the gateway's own
(the batch writer's backlog, the outboxes' depth, the registry).
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hearth import __version__

if TYPE_CHECKING:
    from hearth.app import Gateway

# Seconds. A Zigbee or Z-Wave command takes tens to hundreds of ms; an RTS frame with repeats about 1 s; a
# sleeping Z-Wave device may answer minutes later.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Seconds. S2's target is a p99 under 5 ms.
LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Histogram:
    """A fixed-bucket histogram: one bisect and three increments per observation."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (Prometheus' "le").
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, float]]:
        """(le, cumulative count) pairs as Prometheus wants them, +Inf last."""
        out, running = [], 0
        for bound, n in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, float(running)))
        return out


@dataclass(slots=True)
class CommandMetrics:
    """Commands and executions by outcome, and command latency, per protocol (one protocol per driver)."""

    latency: dict[str, Histogram] = field(default_factory=dict)
    commands: dict[tuple[str, str], int] = field(default_factory=dict)  # (protocol, outcome) -> n
    failures: dict[tuple[str, str], int] = field(default_factory=dict)  # (protocol, failure type) -> n
    executions: dict[str, int] = field(default_factory=dict)  # outcome -> n

    def command_finished(self, protocol: str, latency_s: float | None, failure: str | None) -> None:
        key = (protocol, "failed" if failure else "completed")
        self.commands[key] = self.commands.get(key, 0) + 1
        if failure:
            fkey = (protocol, failure)
            self.failures[fkey] = self.failures.get(fkey, 0) + 1
        if latency_s is not None:
            histogram = self.latency.get(protocol)
            if histogram is None:
                histogram = self.latency[protocol] = Histogram(LATENCY_BUCKETS)
            histogram.observe(latency_s)

    def execution_finished(self, outcome: str) -> None:
        self.executions[outcome] = self.executions.get(outcome, 0) + 1


class LoopLagSampler:
    """How late the event loop wakes a sleeper: the time every other task waits behind a slow one."""

    INTERVAL_S = 0.5

    def __init__(self) -> None:
        self.histogram = Histogram(LAG_BUCKETS)
        self.last_s = 0.0

    async def run(self, on_tick: Any = None) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.INTERVAL_S
            await asyncio.sleep(self.INTERVAL_S)
            self.last_s = max(0.0, loop.time() - due)
            self.histogram.observe(self.last_s)
            if on_tick is not None:
                on_tick()


class EventRate:
    """Events per second over the last window, from the bus counter (the sampler ticks it)."""

    WINDOW_S = 10.0

    def __init__(self) -> None:
        self.per_second = 0.0
        self._mark = (time.monotonic(), 0)

    def tick(self, total: int) -> None:
        now = time.monotonic()
        since, before = self._mark
        if now - since >= self.WINDOW_S:
            self.per_second = (total - before) / (now - since)
            self._mark = (now, total)


@dataclass(slots=True)
class ScrapeInputs:
    """What only an await can read (the outboxes' depth), gathered by the route before rendering."""

    outbox_depth: Mapping[str, int] = field(default_factory=dict)


class MetricsCollector:
    """A ``prometheus_client`` custom collector over the gateway's counters; read at each scrape."""

    def __init__(self, gateway: Gateway, monitoring: Any) -> None:
        self._gateway = gateway
        self._monitoring = monitoring
        self.inputs = ScrapeInputs()

    def _driver_of(self, protocol: str) -> str:
        driver = self._gateway.drivers.by_protocol.get(protocol)
        return str(driver.ctx.name) if driver is not None else protocol

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        from hearth.ops.system import driver_statuses

        gw, mon = self._gateway, self._monitoring
        cmd: CommandMetrics = mon.commands

        info = GaugeMetricFamily("hearth_info", "This gateway", labels=["version", "gateway_id"])
        info.add_metric([__version__, gw.identity.gateway_id], 1)
        yield info
        yield GaugeMetricFamily("hearth_uptime_seconds", "Seconds since the gateway started", value=mon.uptime_s())

        latency = HistogramMetricFamily(
            "hearth_command_latency_seconds", "From handing a command to its driver to its result", labels=["driver"]
        )
        for protocol, histogram in sorted(cmd.latency.items()):
            latency.add_metric([self._driver_of(protocol)], histogram.cumulative(), histogram.sum)
        yield latency
        commands = CounterMetricFamily("hearth_commands", "Commands finished, by outcome", labels=["driver", "outcome"])
        for (protocol, outcome), n in sorted(cmd.commands.items()):
            commands.add_metric([self._driver_of(protocol), outcome], n)
        yield commands
        failures = CounterMetricFamily(
            "hearth_command_failures", "Failed commands, by failure type", labels=["driver", "failure_type"]
        )
        for (protocol, failure), n in sorted(cmd.failures.items()):
            failures.add_metric([self._driver_of(protocol), failure], n)
        yield failures
        executions = CounterMetricFamily("hearth_executions", "Executions finished, by outcome", labels=["outcome"])
        for outcome, n in sorted(cmd.executions.items()):
            executions.add_metric([outcome], n)
        yield executions
        yield GaugeMetricFamily(
            "hearth_executions_running", "Executions not finished yet", value=len(gw.executor.current)
        )

        outbox = GaugeMetricFamily("hearth_outbox_depth", "Records waiting for the cloud", labels=["outbox"])
        for name, depth in sorted(self.inputs.outbox_depth.items()):
            outbox.add_metric([name], depth)
        yield outbox

        # Each HTTPS cloud connector counts its failed cycles by reason (hearth.cloud.answers).
        cloud = CounterMetricFamily(
            "hearth_cloud_failures", "Failed cloud sync cycles, by cloud and reason", labels=["cloud", "reason"]
        )
        for extension in gw.extensions:
            for reason, n in sorted(extension.status().failures.items()):
                cloud.add_metric([extension.name, reason], n)
        yield cloud

        lag: LoopLagSampler = mon.lag
        yield HistogramMetricFamily(
            "hearth_event_loop_lag_seconds",
            "How late the event loop wakes a sleeper",
            buckets=lag.histogram.cumulative(),
            sum_value=lag.histogram.sum,
        )
        writer = gw.writer
        yield GaugeMetricFamily(
            "hearth_store_write_lag_seconds",
            "Duration of the store's last batch write",
            value=writer.last_flush_ms / 1000,
        )
        yield GaugeMetricFamily(
            "hearth_store_backlog_rows", "Rows queued for the store's next batch", value=writer.backlog
        )
        yield CounterMetricFamily(
            "hearth_store_rows_written", "Rows written by the batch writer", value=writer.rows_written
        )
        yield CounterMetricFamily("hearth_store_write_failures", "Failed batch writes", value=writer.failures)

        events = CounterMetricFamily("hearth_events", "Events published on the bus, by name", labels=["event"])
        for name, n in sorted(mon.event_counts()):
            events.add_metric([name], n)
        yield events
        yield GaugeMetricFamily(
            "hearth_events_per_second", "Events per second over the last 10 s", value=mon.rate.per_second
        )
        yield CounterMetricFamily(
            "hearth_bus_listener_errors", "Exceptions raised by event listeners", value=gw.bus.listener_errors
        )

        up = GaugeMetricFamily("hearth_driver_up", "1 if the driver runs and its radio is there", labels=["driver"])
        devices = GaugeMetricFamily("hearth_devices", "Devices, by driver", labels=["driver"])
        unavailable = GaugeMetricFamily(
            "hearth_devices_unavailable", "Unavailable devices, by driver", labels=["driver"]
        )
        for status in driver_statuses(gw):
            up.add_metric([status.name], 1 if status.status == "running" else 0)
            devices.add_metric([status.name], status.devices)
            unavailable.add_metric([status.name], status.unavailable)
        yield up
        yield devices
        yield unavailable


class MetricsEndpoint:
    """The gateway's own ``CollectorRegistry`` (never the global one), made at the first scrape."""

    def __init__(self, gateway: Gateway, monitoring: Any) -> None:
        self.collector = MetricsCollector(gateway, monitoring)
        self._registry: Any = None

    def render(self, inputs: ScrapeInputs) -> tuple[bytes, str]:
        """(body, content type) of the Prometheus text format."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self._registry is None:
            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(self.collector)
        self.collector.inputs = inputs
        return generate_latest(self._registry), CONTENT_TYPE_LATEST
