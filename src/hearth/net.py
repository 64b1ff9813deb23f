"""The gateway's address on the LAN."""

from __future__ import annotations

import socket


def lan_address() -> str:
    """The address other machines of the LAN reach us at (no packet is sent: a UDP connect only routes)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, only used to pick the interface
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"
