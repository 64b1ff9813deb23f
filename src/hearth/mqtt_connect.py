"""How Hearth's MQTT clients (the cloud sync, the LAN bridge) log in to a broker and keep their link up."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

from hearth.cloud.credentials import read_secret
from hearth.core.backoff import Backoff

log = logging.getLogger(__name__)

# Small messages both ways (a command, its result): without this, Nagle and delayed ACKs add ~40 ms a turn.
NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)


def tls_context(broker: Any) -> ssl.SSLContext | None:
    """The TLS context for ``broker`` (an MqttBrokerSettings), or None for plain MQTT."""
    if not broker.tls:
        return None
    context = ssl.create_default_context(cafile=broker.ca_file or None)
    if broker.cert_file:
        context.load_cert_chain(broker.cert_file, broker.key_file or None)
    return context


def password(broker: Any, data_dir: Path) -> str | None:
    """The broker password, read from its owner-only file (never from the configuration itself)."""
    if not broker.password_file:
        return None
    return read_secret(data_dir, broker.password_file).decode()


def client_options(broker: Any, data_dir: Path) -> dict[str, Any]:
    """The keyword arguments of ``aiomqtt.Client`` that say where the broker is and how to log in."""
    return {
        "hostname": broker.host,
        "port": broker.port,
        "username": broker.username or None,
        "password": password(broker, data_dir),
        "tls_context": tls_context(broker),
        "keepalive": broker.keepalive_s,
        "socket_options": NO_DELAY,
    }


class BrokerLink:
    """One MQTT connection kept up for a part of Hearth: connect, run a session, on any loss back off and again.

    A subclass says how to make its client (``_client``: its identity, last will, session kind) and what a
    session does (``_session``, which sets ``connected`` and returns or raises when the link ends); ``what``
    names it in the log, ``lost_note`` says what happens while it is away."""

    what = "MQTT"
    lost_note = "retrying"

    def __init__(self, reconnect_min_s: float, reconnect_max_s: float, *, jitter: bool = True) -> None:
        self.connected = False
        self.backoff = Backoff(reconnect_min_s, max(reconnect_min_s, reconnect_max_s), jitter=jitter)
        self.connects = 0  # sessions opened since start (the fleet bench counts reconnections)

    def _client(self) -> Any:
        raise NotImplementedError

    async def _session(self, client: Any) -> None:
        raise NotImplementedError

    def _down(self) -> None:
        """Called each time the link is down (after a loss or a failed attempt)."""

    async def _keep_connected(self, host: str, port: int) -> None:
        import aiomqtt

        while True:
            delay = 0.0
            try:
                async with self._client() as client:
                    self.backoff.reset()
                    self.connects += 1
                    await self._session(client)
            except (aiomqtt.MqttError, OSError, ssl.SSLError, ExceptionGroup) as exc:
                if isinstance(exc, ExceptionGroup):  # from the session's task group: the first cause says why
                    exc = exc.exceptions[0]
                    if not isinstance(exc, aiomqtt.MqttError | OSError | ssl.SSLError):
                        log.error("%s session failed: %s: %s", self.what, type(exc).__name__, exc)
                delay = self.backoff.next_delay()
                if self.connected:
                    log.warning("%s lost its broker (%s); %s", self.what, exc, self.lost_note)
                else:
                    log.info(
                        "%s: broker %s:%d not reachable (%s); retrying in %.1f s", self.what, host, port, exc, delay
                    )
            finally:
                self.connected = False
                self._down()
            # A session that ended without an error (the broker closed it cleanly) waits too: never a busy loop.
            await asyncio.sleep(delay or self.backoff.next_delay())
