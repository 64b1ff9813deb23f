"""Reading devices back after a crash left some commands' outcomes unknown.

A command journaled TRANSMITTED (or IN_PROGRESS) when the gateway died may or may not have reached its device:
the executor closes it with the failure type UNKNOWN at start-up. Then, in the background, each such device is
asked for its state (``Driver.read_back``) so that what the gateway shows is the device's word, not the state
it had before the command. A one-way radio (RTS) cannot answer; the command's message says so, and says which
it was, in the journal (``GET /history/executions/{execId}``).
"""

from __future__ import annotations

import asyncio
import logging

from hearth.core.drivers import DriverManager
from hearth.core.execution import CommandRun, Execution
from hearth.core.registry import DeviceRegistry
from hearth.core.tasks import cancel_and_wait
from hearth.model.errors import ApiError
from hearth.sdk.driver import CommandFailed
from hearth.store.journal import ExecutionJournal

log = logging.getLogger(__name__)

UNKNOWN_OUTCOME = "in flight when the gateway stopped: whether it reached the device is not known"
READ_BACK = "; the device's state was read back after the restart"
CANNOT_READ_BACK = "; {protocol} cannot read a device back (a one-way radio): its state is the gateway's assumption"
NOT_READ_BACK = "; reading the device back after the restart failed ({why}): its state may be stale"


class ReadBack:
    """One task reading back, device by device, the devices of the commands given; a radio not ready yet
    (still opening after the restart) is asked again a few times."""

    ATTEMPTS = 4
    RETRY_S = 5.0
    TIMEOUT_S = 60.0

    def __init__(
        self,
        registry: DeviceRegistry,
        drivers: DriverManager,
        journal: ExecutionJournal,
        commands: list[tuple[Execution, CommandRun]],
    ) -> None:
        self._registry = registry
        self._drivers = drivers
        self._journal = journal
        self._by_device: dict[str, list[tuple[Execution, CommandRun]]] = {}
        for execution, command in commands:
            self._by_device.setdefault(command.device_url, []).append((execution, command))
        self._task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()
        self.outcomes: dict[str, str] = {}  # deviceURL -> what was appended to its commands' messages

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="read-back")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        try:
            await asyncio.gather(*(self._read(url, commands) for url, commands in self._by_device.items()))
        finally:
            self.done.set()

    async def _read(self, url: str, commands: list[tuple[Execution, CommandRun]]) -> None:
        note = await self._ask(url)
        self.outcomes[url] = note
        log.info("device %s (a command's outcome unknown after the restart)%s", url, note)
        for execution, command in commands:
            command.message = (command.message or "") + note
            self._journal.note_command(execution, command)

    async def _ask(self, url: str) -> str:
        device = self._registry.get(url)
        if device is None:
            return NOT_READ_BACK.format(why="the device is gone")
        why = "?"
        for attempt in range(self.ATTEMPTS):
            if attempt:
                await asyncio.sleep(self.RETRY_S)
            try:
                driver = self._drivers.driver_for(device.url)
            except ApiError as exc:
                why = exc.message
                continue
            try:
                async with asyncio.timeout(self.TIMEOUT_S):
                    if not await driver.read_back(device.url):
                        return CANNOT_READ_BACK.format(protocol=device.url.protocol)
                return READ_BACK
            except CommandFailed as exc:
                why = f"{exc.failure.name}: {exc.message}"
            except TimeoutError:
                why = f"no answer within {self.TIMEOUT_S:g} s"
            except Exception as exc:  # a driver's bug must not stop the others' read-back
                log.exception("read-back of %s failed", url)
                why = f"driver error: {exc}"
        return NOT_READ_BACK.format(why=why)
