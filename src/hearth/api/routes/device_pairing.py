"""The seed's Device Pairing Operations on partial devices: devices a radio began to pair but could not finish
(the interview of a Zigbee or Z-Wave node that stopped half-way).

Our drivers drop a pairing that does not finish (the radio's own stack retries the interview of a node that
comes back), so they keep no partial device: the list of a running protocol is empty, and clearing it changes
nothing. A protocol whose driver does not run here is refused, as the other pairing operations do.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures, state_refresh
from hearth.model.errors import ApiError


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    def running(gateway_id: str, protocol_type: str) -> str:
        procedures.check_gateway(gw, gateway_id)
        return state_refresh.running_protocol(gw, protocol_type)

    @router.get("/config/{gateway_id}/devices/{protocol_type}/partial", summary="Devices whose pairing stopped")
    async def partial(gateway_id: str, protocol_type: str, _: Caller = guard.admin()) -> Response:
        running(gateway_id, protocol_type)
        return json_response([])

    @router.delete("/config/{gateway_id}/devices/{protocol_type}/partial", status_code=204)
    async def clear(gateway_id: str, protocol_type: str, _: Caller = guard.admin()) -> Response:
        running(gateway_id, protocol_type)
        return Response(status_code=204)

    @router.delete("/config/{gateway_id}/devices/{protocol_type}/partial/{device_address}", status_code=204)
    async def clear_one(
        gateway_id: str, protocol_type: str, device_address: str, _: Caller = guard.admin()
    ) -> Response:
        prefix = running(gateway_id, protocol_type)
        raise ApiError.not_found(f"No partial {prefix} device at {device_address}")

    return router
