"""What the HTTPS cloud connectors with an outbox of their own (AirVantage, SMARTSolar) share: the outbox table,
the inbound log, a recorder of the streams they send, and one background task, started and stopped together."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from hearth.cloud.recorder import Recorder
from hearth.core.tasks import cancel_and_wait
from hearth.extensions import CoreParts, ExtensionStatus, GatewayParts
from hearth.store.outbox import InboundLog, Outbox


class OutboxConnector:
    name: ClassVar[str]  # its entry point's name (hearth.extensions); in the task's name
    outbox_table: ClassVar[str]
    streams: ClassVar[frozenset[str]]  # what the recorder keeps for this cloud

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def attach(self, core: CoreParts) -> None:
        """Before the gateway's recovery: the recorder listens (what recovery publishes is heard)."""
        self.folder: Path = core.settings.data_dir()
        self.outbox = Outbox(core.db, table=self.outbox_table)
        self.inbound = InboundLog(core.db)
        self.recorder = Recorder(core.bus, self.outbox, 1.0, streams=self.streams)
        self.recorder.subscribe()

    async def start(self, parts: GatewayParts) -> None:
        self.parts = parts
        self._prepare(parts)
        self.recorder.start()
        self._task = asyncio.create_task(self._run(), name=f"cloud-{self.name}")

    def _prepare(self, parts: GatewayParts) -> None:
        """What a connector sets up beside the shared parts, before its task starts."""

    @property
    def failures(self) -> dict[str, int]:
        """Failed cycles by reason (hearth.cloud.answers), for /metrics."""
        return {}

    def status(self) -> ExtensionStatus:
        return ExtensionStatus(outbox=self.outbox, failures=self.failures)

    async def _run(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self.recorder.stop()
