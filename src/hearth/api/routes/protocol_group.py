"""The seed's Protocol Group section: groups a radio makes of its devices (one radio frame for many).

None of our drivers makes protocol groups yet (Zigbee groups are the natural first): the list of groups is
empty, a protocol's group capabilities are none, creating one is refused, and no group has devices. Each
answer is true of this gateway, in the seed's shape.
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

    @router.get("/setup/protocols/groups", summary="Every protocol group, with its devices")
    async def groups(_: Caller = guard.view()) -> Response:
        return json_response([])

    @router.get(
        "/config/{gateway_id}/{protocol_type}/group/capabilities", summary="What controllables a protocol can group"
    )
    async def capabilities(gateway_id: str, protocol_type: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        state_refresh.known_protocol(protocol_type)
        return json_response([])

    @router.post("/config/{gateway_id}/{protocol_type}/group", summary="Create a protocol group")
    async def create(gateway_id: str, protocol_type: str, _: Caller = guard.admin()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        prefix = state_refresh.running_protocol(gw, protocol_type)
        raise ApiError.unsupported(f"The {prefix} driver makes no protocol groups")

    @router.get(
        "/config/{gateway_id}/{protocol_type}/group/{group_address}/devices", summary="The devices of a protocol group"
    )
    async def devices(gateway_id: str, protocol_type: str, group_address: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        state_refresh.known_protocol(protocol_type)
        raise ApiError.not_found(f"No such protocol group : {group_address}")

    return router
