"""The API server: uvicorn over HTTPS on the gateway's loop, started and stopped with the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from hearth.api.app import build_app
from hearth.api.listeners import ListenerRegistry
from hearth.api.live import MISSING as NO_WEBSOCKETS
from hearth.api.live import websocket_library
from hearth.api.tls import ensure_self_signed
from hearth.core.tasks import cancel_and_wait

if TYPE_CHECKING:
    from hearth.app import Gateway

log = logging.getLogger(__name__)


# The read buffer of each TLS connection asyncio serves (``asyncio.sslproto.SSLProtocol.max_size``). asyncio's is
# 256 KiB: a bytearray that size per connection, and each read of clear text allocates that much before shrinking
# it to what came. A TLS record carries at most 16 KiB, so 32 KiB reads as much per call. Measured here on a first
# start with 1034 devices, after 50 TLS clients (wrk, 5 s of GET then of POST): peak RSS 130 -> 93 MB, and 12 s
# later (after the gateway's malloc_trim) 101-110 -> 85-90 MB, at the same request rate; make bench's figures are
# in the README ("Memory"). It is a class attribute of the
# standard library, not an API: if a Python has no such attribute, nothing is set and the default stays. It
# applies to every TLS connection asyncio makes in this process, the clouds' too: one gateway per process.
TLS_READ_BUFFER = 32 * 1024


def _smaller_tls_buffers() -> None:
    from asyncio import sslproto

    if isinstance(getattr(sslproto.SSLProtocol, "max_size", None), int):
        sslproto.SSLProtocol.max_size = TLS_READ_BUFFER


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # Hearth handles SIGINT/SIGTERM itself, so that the gateway (not only the server) stops cleanly.
        yield


class ApiServer:
    def __init__(self) -> None:
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._expiry: asyncio.Task[None] | None = None

    async def start(self, gateway: Gateway) -> None:
        settings = gateway.settings.api
        certfile: str | None = None
        keyfile: str | None = None
        if settings.tls:
            if settings.cert_file and settings.key_file:
                cert, key = Path(settings.cert_file), Path(settings.key_file)
            else:
                cert, key = ensure_self_signed(gateway.settings.data_dir() / "tls", gateway.identity.gateway_id)
            certfile, keyfile = str(cert), str(key)
        _smaller_tls_buffers()
        app = build_app(gateway)
        if websocket_library() is None:
            log.error("api: %s", NO_WEBSOCKETS)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        # Bind ourselves: the port is known (and taken) before start() returns, even with port 0.
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
        # without it every TLS response waits out a delayed ACK (40 ms).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.host, settings.port))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"api.port: cannot listen on {settings.host}:{settings.port}: {exc}") from None
        sock.listen(512)
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="api-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.01)
        self._expiry = asyncio.create_task(self._expire_listeners(app.state.context.listeners), name="listeners")

    async def _expire_listeners(self, listeners: ListenerRegistry) -> None:
        while True:
            await asyncio.sleep(60)
            listeners.expire()

    async def stop(self) -> None:
        await cancel_and_wait(self._expiry)
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=5)
        if self._socket is not None:
            self._socket.close()
