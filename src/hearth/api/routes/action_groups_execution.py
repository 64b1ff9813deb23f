"""The seed's Action Groups Execution operations beyond execution.py: a stored group run as geolocated, and the
internal executions (those kept out of the history: state refreshes, procedures, ``/exec/apply/internal``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.action import ActionGroup
from hearth.model.events import now_ms
from hearth.model.execution import ExecutionSubType


def early_routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    """Registered before execution.py, whose ``POST /exec/{actionGroupOID}`` would take these fixed paths."""
    router = APIRouter()
    gw = ctx.gateway

    @router.post(
        "/exec/optimizeWithProtocolGroups",
        summary="An action group with its devices replaced by protocol groups where they share a command",
    )
    async def optimize(group: ActionGroup, _: Caller = guard.view()) -> Response:
        gw.executor.plan(group, 0)  # every device and command must exist and fit, as for a run
        # None of our drivers makes protocol groups (protocol_group.py): the optimized group is the group itself.
        out = group.wire(gw.executor.sensitive_masks(group))
        made = now_ms()
        out.update({"creationTime": made, "lastUpdateTime": made})
        if group.oid:
            out["oid"] = group.oid
        return json_response(out)

    return router


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.get("/exec/internalCurrent", summary="Internal executions not finished yet")
    async def internal_current(_: Caller = guard.view()) -> Response:
        return json_response([e.current_json() for e in gw.executor.current.values() if e.internal])

    @router.post(
        "/exec/{action_group_oid}/geolocated",
        summary="Run a persisted action group, asked by a geolocated client (run as any other)",
    )
    async def exec_geolocated(action_group_oid: str, caller: Caller = guard.control("exec")) -> Response:
        group = gw.action_groups.get(action_group_oid)
        execution = await gw.executor.submit(
            group, owner=caller.owner, action_group_oid=action_group_oid, sub_type=ExecutionSubType.ACTION_GROUP
        )
        execution.action_group.update(gw.action_groups.stamp(action_group_oid))
        return json_response({"execId": execution.id})

    return router
