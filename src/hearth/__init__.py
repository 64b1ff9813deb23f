"""Hearth: a home-gateway edge controller speaking the End-User API on the LAN."""

__version__ = "0.1.0"
# The protocol version the local End-User API answers on GET apiVersion.
PROTOCOL_VERSION = "2024.5.1-hearth"
