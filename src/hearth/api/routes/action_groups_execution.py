"""The seed's Action Groups Execution operations beyond execution.py: a stored group run as geolocated, and the
internal executions (those kept out of the history: state refreshes, procedures, ``/exec/apply/internal``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.execution import ExecutionSubType


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.get("/exec/internalCurrent", summary="Internal executions not finished yet")
    async def internal_current(_: Caller = guard.view()) -> Response:
        return json_response([e.current_json() for e in gw.executor.current.values() if e.internal])

    @router.post("/exec/{action_group_oid}/geolocated",
                 summary="Run a persisted action group, asked by a geolocated client (run as any other)")
    async def exec_geolocated(action_group_oid: str, caller: Caller = guard.control("exec")) -> Response:
        group = gw.action_groups.get(action_group_oid)
        execution = await gw.executor.submit(group, owner=caller.owner, action_group_oid=action_group_oid,
                                             sub_type=ExecutionSubType.ACTION_GROUP)
        execution.action_group.update(gw.action_groups.stamp(action_group_oid))
        return json_response({"execId": execution.id})

    return router
