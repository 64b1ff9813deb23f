"""``/setup/options``: the setup's subscribed options (seed 003, "Setup options").

The vendor's options are subscriptions of a setup; the one a local client asks about is developer mode,
``developerMode-<gatewayId>`` with its parameter ``gatewayId`` (pyoverkiz reads it to know whether the local API
is on). On Hearth the local API is always on, so that option is always subscribed, since the setup was made
(its root place's creation time). The seed's example also shows ``endDate``; an option that does not end has
none, so it is left out (the seed is silent on options without an end, and no client we run reads it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.errors import ApiError


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    def options() -> dict[str, dict[str, Any]]:
        root = gw.places.root
        since = root.creation_time if root else 0
        gateway_id = gw.identity.gateway_id
        developer_mode: dict[str, Any] = {
            "creationTime": since,
            "lastUpdateTime": since,
            "optionId": f"developerMode-{gateway_id}",
            "startDate": since,
            "parameters": [{"name": "gatewayId", "value": gateway_id}],
        }
        return {developer_mode["optionId"]: developer_mode}

    def option(option_id: str) -> dict[str, Any]:
        found = options().get(option_id)
        if found is None:
            raise ApiError.not_found(f"No such option : {option_id}")
        return found

    @router.get("/setup/options", summary="The setup's subscribed options")
    async def all_options(_: Caller = guard.view("bulk")) -> Response:
        return json_response(list(options().values()))

    @router.get("/setup/options/{option_id}", summary="One subscribed option")
    async def one_option(option_id: str, _: Caller = guard.view()) -> Response:
        return json_response(option(option_id))

    @router.get("/setup/options/{option_id}/{parameter_name}", summary="One parameter of a subscribed option")
    async def option_parameter(option_id: str, parameter_name: str, _: Caller = guard.view()) -> Response:
        parameter = next((p for p in option(option_id)["parameters"] if p["name"] == parameter_name), None)
        if parameter is None:
            raise ApiError.not_found(f"No such parameter : {parameter_name} in option {option_id}")
        return json_response(parameter)

    return router
