"""Event listeners (register, fetch, unregister) and, beyond the vendor's box, a WebSocket push."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.core.tasks import cancel_and_wait
from hearth.model.errors import ApiError
from hearth.store.tokens import Scope

# A WebSocket client that falls this far behind loses its oldest events (counted, and logged once).
WEBSOCKET_BUFFER = 10_000
AUTH_TIMEOUT_S = 10.0


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    listeners = ctx.listeners

    @router.post("/events/register", summary="Register an event listener")
    async def register(caller: Caller = guard.view()) -> Response:
        return json_response({"id": listeners.register(caller.token.id)})

    @router.post("/events/{listener_id}/fetch", summary="Drain the listener's events")
    async def fetch(listener_id: str, caller: Caller = guard.view("polling")) -> Response:
        return json_response(listeners.fetch(listener_id, caller.token.id))

    @router.post("/events/{listener_id}/unregister")
    async def unregister(listener_id: str, caller: Caller = guard.view()) -> Response:
        listeners.unregister(listener_id, caller.token.id)
        return json_response({})

    @router.websocket("/events/ws")
    async def websocket(ws: WebSocket) -> None:
        """Every event as it happens. Authenticate with the Authorization header, or, where a client
        cannot set headers (a browser), with a first text message ``{"token": "..."}``."""
        await ws.accept()
        address = ws.client.host if ws.client else "unknown"
        header = ws.headers.get("authorization")
        try:
            if header is None:
                first = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S)
                token = json.loads(first).get("token", "") if first.startswith("{") else ""
                header = f"Bearer {token}" if isinstance(token, str) and token else None
            await ctx.auth.authenticate(header, address, Scope.VIEW)
        except ApiError as exc:
            await ws.send_text(json.dumps(exc.to_json()))
            await ws.close(code=4401 if exc.status == 401 else 4403)
            return
        except (TimeoutError, ValueError, WebSocketDisconnect):
            with contextlib.suppress(Exception):
                await ws.close(code=4401)
            return
        consumer = ctx.gateway.bus.consumer(f"websocket {address}", WEBSOCKET_BUFFER)
        closed = asyncio.create_task(_wait_closed(ws))
        try:
            while not closed.done():
                getter = asyncio.create_task(consumer.get())
                done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    await cancel_and_wait(getter)
                    break
                batch = [getter.result(), *consumer.drain()]
                await ws.send_text(json.dumps([listeners.render(e) for e in batch], separators=(",", ":")))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            consumer.close()
            await cancel_and_wait(closed)

    return router


async def _wait_closed(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
