"""Whether the server can speak WebSocket, which the live events (``/events/ws``) and the web page need.

uvicorn serves WebSockets only when a WebSocket library is importable beside it; without one it answers the
upgrade with 404 and the page waits for live events forever. The library is a dependency of the package, so
this only fails in an install that left it out: doctor and readiness say so rather than look healthy.
"""

from __future__ import annotations

import importlib.util

# The libraries uvicorn's "auto" WebSocket protocol looks for, in its order.
WEBSOCKET_LIBRARIES = ("websockets", "wsproto")
MISSING = "no WebSocket library (pip install websockets): live events (/events/ws) and the web page's updates are off"


def websocket_library() -> str | None:
    """The WebSocket library uvicorn will use, or None."""
    for name in WEBSOCKET_LIBRARIES:
        if importlib.util.find_spec(name) is not None:
            return name
    return None
