"""Condition groups: CRUD and evaluation (End-User API §4). Reading is view, writing is admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response

_EXAMPLE = {
    "label": "warm inside",
    "metadata": None,
    "conditions": [
        {
            "controllable": {
                "controllableNames": ["zigbee:TemperatureSensorComponent"],
                "stateName": "core:TemperatureState",
                "operator": "GREATER_THAN",
                "value": "25",
            }
        }
    ],
}
_BODY_DOC = (
    "A condition group: label, metadata and conditions. A condition is "
    '{"controllable": {controllableNames, stateName, operator, value}}; as Hearth\'s extension '
    '{"device": {deviceURL, stateName, operator, value}}. BETWEEN_INCLUSIVE takes "value": [low, high]. '
    "PUT also needs the oid."
)


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.get("/conditionGroups", summary="Every condition group")
    async def condition_groups(_: Caller = guard.view("bulk")) -> Response:
        return json_response(gw.conditions.all_json())

    @router.get("/conditionGroups/{oid}")
    async def condition_group(oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.conditions.get(oid).to_json())

    @router.get(
        "/conditionGroups/{oid}/evaluate",
        summary="Evaluate now: evaluationStatus, failedDevices, invalidatingDevices, ignoredControllables",
    )
    async def evaluate(oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.conditions.evaluate(oid).to_json())

    @router.post("/conditionGroups", status_code=201)
    async def create(
        body: dict[str, Any] = Body(description=_BODY_DOC, examples=[_EXAMPLE]), _: Caller = guard.admin()
    ) -> Response:
        oid = await gw.conditions.create(body)
        return json_response({"conditionGroupOID": oid}, 201)

    @router.put("/conditionGroups")
    async def update(
        body: dict[str, Any] = Body(description=_BODY_DOC, examples=[_EXAMPLE]), _: Caller = guard.admin()
    ) -> Response:
        await gw.conditions.update(body)
        return json_response({})

    @router.delete("/conditionGroups/{oid}", status_code=204)
    async def delete(oid: str, _: Caller = guard.admin()) -> Response:
        await gw.conditions.delete(oid)
        return Response(status_code=204)

    return router
