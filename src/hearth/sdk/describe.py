"""How a driver names an exception in its log: its kind and text, ``closed`` for a connection that ended
without one (zigpy's connection_lost, a WebSocket listener that returned)."""

from __future__ import annotations


def describe_error(exc: BaseException | None) -> str:
    if exc is None:
        return "closed"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
