"""How Hearth's MQTT clients (the cloud sync, the LAN bridge) log in to a broker: one place for TLS and secrets."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from hearth.cloud.credentials import read_secret

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
    return {"hostname": broker.host, "port": broker.port, "username": broker.username or None,
            "password": password(broker, data_dir), "tls_context": tls_context(broker),
            "keepalive": broker.keepalive_s, "socket_options": NO_DELAY}
