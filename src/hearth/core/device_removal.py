"""Deleting a device the End-User API's way (``_deleteCascade``): a job, one at a time, that asks the driver to
let the device go, takes it out of the action groups, then removes it (and, if asked, its subsystems).

Each step is durable before the next; a failure leaves the device in place and says why
(DeviceDeletionFailedEvent, SetupJobFailedEvent).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from hearth.model import events as ev
from hearth.model.errors import ApiError, ErrorCode
from hearth.sdk import CommandFailed

log = logging.getLogger(__name__)


class DeviceRemoval:
    def __init__(self, registry: Any, drivers: Any, action_groups: Any, bus: Any) -> None:
        self._registry = registry
        self._drivers = drivers
        self._action_groups = action_groups
        self._bus = bus
        self._running: asyncio.Task[None] | None = None

    def start(self, device_url: str, *, all_subsystems: bool = True) -> str:
        """Start the job; its id at once. Refused (409-like 400) while another deletion runs."""
        device = self._registry.get(device_url)
        if device is None:
            raise ApiError.no_such_device(device_url)
        if self._running is not None and not self._running.done():
            raise ApiError(400, ErrorCode.UNSPECIFIED_ERROR, "Only one device deletion workflow may be run at a time")
        job_id = str(uuid.uuid4())
        self._running = asyncio.create_task(self._run(job_id, device, all_subsystems), name=f"delete {device_url}")
        return job_id

    async def wait(self) -> None:
        if self._running is not None:
            await asyncio.shield(self._running)

    async def _run(self, job_id: str, device: Any, all_subsystems: bool) -> None:
        base = device.url_text.split("#", 1)[0]
        targets = [
            d
            for d in self._registry.all()
            if d.url_text == device.url_text or (all_subsystems and d.url_text.split("#", 1)[0] == base)
        ]
        try:
            driver = self._drivers.by_protocol.get(device.url.protocol)
            for target in targets:
                if driver is not None:
                    await driver.delete_device(target.url)
            await self._action_groups.drop_device({t.url_text for t in targets})
            for target in targets:
                await self._registry.remove(target)
        except (CommandFailed, ApiError, OSError, ValueError) as exc:
            failure = exc.failure.name if isinstance(exc, CommandFailed) else "ERROR_WHILE_EXECUTING"
            log.warning("deleting %s failed: %s", device.url_text, exc)
            self._bus.publish(ev.DeviceDeletionFailedEvent(device_url=device.url_text, failure_type=failure))
            self._bus.publish(ev.SetupJobFailedEvent(job_id=job_id))
            return
        self._bus.publish(ev.SetupJobCompletedEvent(job_id=job_id))
