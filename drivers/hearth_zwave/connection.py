"""The connection to the zwave-js server: the WebSocket client, its listener, losing it and reconnecting with
backoff.

While it is down, Z-Wave commands fail at once (PEER_DOWN) and the stack device is unavailable. What was
subscribed on the server's controller and nodes is dropped with the connection: each new connection subscribes
again (``on_ready``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from zwave_js_server.client import Client
from zwave_js_server.model.driver import Driver as ServerDriver

from hearth.sdk import (
    DeviceURL,
    DriverContext,
    FailureType,
    LinkLog,
    SupervisedLink,
    cancel_and_wait,
    describe_error,
    reconnect_backoff,
)
from hearth_zwave.settings import ZWaveSettings


class ServerConnection:
    """One zwave-js server, followed across losses; ``on_ready`` runs on each connection, before it counts as up."""

    def __init__(
        self,
        ctx: DriverContext,
        settings: ZWaveSettings,
        stack_url: DeviceURL,
        on_ready: Callable[[Client], Awaitable[None]],
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.log: logging.Logger = ctx.log
        self.stack_url = stack_url
        self._on_ready = on_ready
        self.client: Client | None = None
        # Unsubscribe functions of what this connection listens to (controller and node events).
        self.subscriptions: list[Callable[[], None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._listener: asyncio.Task[None] | None = None
        s = settings
        self.link = SupervisedLink(
            self._connect,
            self._disconnect,
            reconnect_backoff(s.reconnect_min_s, s.reconnect_max_s),
            owner=ctx,
            says=LinkLog(
                start_failed="zwave-js server at %(url)s not reachable (%(error)s); retrying in the background",
                retry_failed="zwave-js server still unreachable (attempt %(attempt)d: %(error)s)",
                back="zwave-js server back after %(attempt)d attempt(s)",
                lost="lost the zwave-js server (%(reason)s); Z-Wave commands fail until it is back",
                retry_level=logging.INFO,
                fields={"url": s.url},
            ),
            unavailable=(FailureType.PEER_DOWN, f"the zwave-js server ({s.url}) is not connected"),
            stack=stack_url,
        )

    @property
    def up(self) -> bool:
        return self.link.up

    def require(self) -> ServerDriver:
        """The server's driver (controller, nodes) while connected; PEER_DOWN otherwise."""
        return self.link.require(self.client.driver if self.client is not None else None)

    async def start(self) -> None:
        await self.link.start()

    async def stop(self) -> None:
        await self.link.stop()

    async def _connect(self) -> None:
        session = aiohttp.ClientSession()
        client = Client(self.settings.url, session)
        try:
            async with asyncio.timeout(30):
                await client.connect()
                ready = asyncio.Event()
                listener = asyncio.create_task(client.listen(ready), name="zwave-listen")
                done, _ = await asyncio.wait(
                    {listener, asyncio.ensure_future(ready.wait())}, return_when=asyncio.FIRST_COMPLETED
                )
                if listener in done:
                    listener.result()  # raises what went wrong
                    raise ConnectionError("the zwave-js server closed the connection before it was ready")
        except BaseException:
            with contextlib.suppress(Exception):
                await client.disconnect()
            await session.close()
            raise
        # Ours from here: a failure below (in on_ready) is released by _disconnect, as after a loss.
        self.client, self._session, self._listener = client, session, listener
        listener.add_done_callback(self._listener_ended)
        await self._on_ready(client)

    def _listener_ended(self, task: asyncio.Task[None]) -> None:
        if task is not self._listener:
            return
        reason = "closed" if task.cancelled() or task.exception() is None else describe_error(task.exception())
        self.link.lost(reason)

    async def _disconnect(self) -> None:
        for unsubscribe in self.subscriptions:
            with contextlib.suppress(Exception):
                unsubscribe()
        self.subscriptions.clear()
        client, session, listener = self.client, self._session, self._listener
        self.client = self._session = self._listener = None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        if listener is not None:
            with contextlib.suppress(Exception):  # how it ended was the loss's reason, said already
                await cancel_and_wait(listener)
        if session is not None:
            await session.close()
