"""The system summary (``/ext/system``), the drivers' status and readiness (``/health/ready``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hearth import __version__
from hearth.api.live import MISSING as NO_WEBSOCKETS
from hearth.api.live import websocket_library
from hearth.sdk import HasStackDevice

if TYPE_CHECKING:
    from hearth.app import Gateway
    from hearth.ops.monitoring import Monitoring
    from hearth.store.outbox import Outbox

RUNNING, RADIO_UNAVAILABLE, NOT_STARTED = "running", "radio-unavailable", "not-started"

# Readiness bounds of the batch writer: past them it is not keeping up. It flushes at batch_max_rows, so a
# backlog of twice that means it falls behind; a single write that long means the disk does.
MAX_BACKLOG_BATCHES = 2
MAX_WRITE_S = 5.0
STORE_PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class DriverStatus:
    name: str
    protocol: str | None
    status: str
    devices: int
    unavailable: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "status": self.status,
            "devices": self.devices,
            "unavailable": self.unavailable,
        }


def driver_statuses(gateway: Gateway) -> list[DriverStatus]:
    """Each enabled driver: started or not, and whether its radio (its stack device, if it has one) is there."""
    started = {driver.ctx.name: driver for driver in gateway.drivers.by_protocol.values()}
    counts: dict[str, list[int]] = {}
    for device in gateway.registry.all():
        count = counts.setdefault(device.url.protocol, [0, 0])
        count[0] += 1
        count[1] += not device.available
    out = []
    for name in sorted(gateway.settings.enabled_drivers()):
        driver = started.get(name)
        if driver is None:
            out.append(DriverStatus(name, None, NOT_STARTED, 0, 0))
            continue
        status = RUNNING
        # Radio drivers declare their radio as a device (its stack_url): unavailable while the radio is away.
        stack = gateway.registry.get(str(driver.stack_url)) if isinstance(driver, HasStackDevice) else None
        if stack is not None and not stack.available:
            status = RADIO_UNAVAILABLE
        devices, unavailable = counts.get(driver.protocol, [0, 0])
        out.append(DriverStatus(name, driver.protocol, status, devices, unavailable))
    return out


def outboxes(gateway: Gateway) -> dict[str, Outbox]:
    """The cloud connectors' outboxes, by table name."""
    found = {}
    for extension in gateway.extensions:
        outbox = extension.status().outbox
        if outbox is not None:
            found[outbox.table] = outbox
    return found


async def outbox_depths(gateway: Gateway) -> dict[str, int]:
    return {table: sum((await outbox.depth()).values()) for table, outbox in outboxes(gateway).items()}


async def readiness(gateway: Gateway) -> list[str]:
    """Why the gateway is not ready to serve; empty when it is."""
    reasons = []
    try:
        async with asyncio.timeout(STORE_PROBE_TIMEOUT_S):
            await gateway.db.fetchone("SELECT 1")
    except Exception as exc:  # closed, or too busy to answer: either way not ready
        reasons.append(f"store: does not answer ({type(exc).__name__})")
    writer = gateway.writer
    if writer.backlog > MAX_BACKLOG_BATCHES * writer.max_rows:
        reasons.append(f"store: the writer is behind ({writer.backlog} rows queued)")
    if writer.last_flush_ms > MAX_WRITE_S * 1000:
        reasons.append(f"store: the last write took {writer.last_flush_ms / 1000:.1f} s")
    for status in driver_statuses(gateway):
        if status.status != RUNNING:
            reasons.append(f"driver {status.name}: {status.status}")
    if websocket_library() is None:
        reasons.append(f"api: {NO_WEBSOCKETS}")
    return reasons


async def system_summary(gateway: Gateway, monitoring: Monitoring) -> dict[str, Any]:
    cloud = gateway.extensions.status("cloud")
    if cloud is None:
        connectivity = "disabled" if not gateway.settings.cloud.enabled else "disconnected"
    else:
        connectivity = "connected" if cloud.connected else "disconnected"
    return {
        "gatewayId": gateway.identity.gateway_id,
        "version": __version__,
        "uptimeSeconds": round(monitoring.uptime_s(), 1),
        "drivers": [status.to_json() for status in driver_statuses(gateway)],
        "cloud": {
            "enabled": gateway.settings.cloud.enabled,
            "connectivity": connectivity,
            "syncInProgress": bool(cloud is not None and cloud.syncing),
            "outboxDepth": sum((await outbox_depths(gateway)).values()),
        },
        "store": {"writeLagMs": round(gateway.writer.last_flush_ms, 1), "backlog": gateway.writer.backlog},
    }
