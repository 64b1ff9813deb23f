"""What the HTTPS cloud connectors with an outbox of their own (AirVantage, SMARTSolar) share: the outbox table,
the inbound log, a recorder of the streams they send, and one background task, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, ClassVar

from hearth.cloud.outbox import InboundLog, Outbox
from hearth.cloud.recorder import Recorder


class OutboxConnector:
    name: ClassVar[str]  # in the task's name
    outbox_table: ClassVar[str]
    streams: ClassVar[frozenset[str]]  # what the recorder keeps for this cloud

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def attach(self, gateway: Any) -> None:
        """Before the gateway's recovery: the recorder listens (what recovery publishes is heard)."""
        self.gateway = gateway
        self.folder: Path = gateway.settings.data_dir()
        self.outbox = Outbox(gateway.db, table=self.outbox_table)
        self.inbound = InboundLog(gateway.db)
        self.recorder = Recorder(gateway.bus, self.outbox, 1.0, streams=self.streams)
        self.recorder.subscribe()

    async def start(self, gateway: Any) -> None:
        if getattr(self, "gateway", None) is not gateway:
            self.attach(gateway)
        self._attach(gateway)
        self.recorder.start()
        self._task = asyncio.create_task(self._run(), name=f"cloud-{self.name}")

    def _attach(self, gateway: Any) -> None:
        """What a connector sets up beside the shared parts, before its task starts."""

    async def _run(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.recorder.stop()
