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

from hearth.sdk import Backoff, CommandFailed, DeviceURL, DriverContext, FailureType, describe_error
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
        self.up = False
        # Unsubscribe functions of what this connection listens to (controller and node events).
        self.subscriptions: list[Callable[[], None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._listener: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopping = False

    def require(self) -> ServerDriver:
        """The server's driver (controller, nodes) while connected; PEER_DOWN otherwise."""
        if not self.up or self.client is None or self.client.driver is None:
            raise CommandFailed(FailureType.PEER_DOWN, f"the zwave-js server ({self.settings.url}) is not connected")
        return self.client.driver

    async def start(self) -> None:
        try:
            await self._connect()
        except Exception as exc:
            self.log.warning(
                "zwave-js server at %s not reachable (%s); retrying in the background",
                self.settings.url,
                describe_error(exc),
            )
            self.ctx.set_available(self.stack_url, False)
            self._schedule_reconnect()

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        await self._disconnect()

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
        self.client, self._session, self._listener = client, session, listener
        listener.add_done_callback(self._listener_ended)
        await self._on_ready(client)
        self.up = True

    def _listener_ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task is not self._listener:
            return
        reason = "closed" if task.cancelled() or task.exception() is None else describe_error(task.exception())
        self.log.warning("lost the zwave-js server (%s); Z-Wave commands fail until it is back", reason)
        self.up = False
        self.ctx.set_available(self.stack_url, False)
        self.ctx.create_task(self._disconnect(), "disconnect")
        self._schedule_reconnect()

    async def _disconnect(self) -> None:
        self.up = False
        for unsubscribe in self.subscriptions:
            with contextlib.suppress(Exception):
                unsubscribe()
        self.subscriptions.clear()
        client, session, listener = self.client, self._session, self._listener
        self.client = self._session = self._listener = None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        if listener is not None and not listener.done():
            listener.cancel()
        if session is not None:
            await session.close()

    def _schedule_reconnect(self) -> None:
        if self._stopping or (self._reconnecting is not None and not self._reconnecting.done()):
            return
        self._reconnecting = self.ctx.create_task(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        s = self.settings
        backoff = Backoff(s.reconnect_min_s, max(s.reconnect_min_s, s.reconnect_max_s))
        attempt = 0
        while not self._stopping:
            await asyncio.sleep(backoff.next_delay())
            attempt += 1
            try:
                await self._connect()
            except Exception as exc:
                if attempt == 1 or attempt % 10 == 0:
                    self.log.info("zwave-js server still unreachable (attempt %d: %s)", attempt, describe_error(exc))
                continue
            self.log.info("zwave-js server back after %d attempt(s)", attempt)
            return
