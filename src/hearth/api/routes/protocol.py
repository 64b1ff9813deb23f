"""The seed's Protocol section: refreshing the states of one protocol's devices across the setup (one gateway
here), with RefreshAllDevicesStates{Completed,Failed}Event (state_refresh.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import state_refresh


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.post(
        "/setup/protocols/{protocol_type}/devices/states/refresh",
        summary="Refresh the states of one protocol's devices",
    )
    async def refresh_protocol(protocol_type: str, caller: Caller = guard.control("bulk")) -> Response:
        await state_refresh.refresh_protocol(gw, state_refresh.running_protocol(gw, protocol_type), caller)
        return json_response({})

    return router
