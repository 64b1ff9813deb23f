"""Executions, action groups, delayed runs and execution history."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError
from hearth.model.events import HistoryDeletedEvent, now_ms
from hearth.model.execution import ExecutionSubType

# Scheduled runs must lie within this horizon (a typo in a timestamp should not schedule for year 3000).
MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    # ------------------------------------------------------------------ running

    async def apply(
        group: ActionGroup, caller: Caller, *, high_priority: bool = False, internal: bool = False
    ) -> Response:
        execution = await gw.executor.submit(group, owner=caller.owner, high_priority=high_priority, internal=internal)
        return json_response({"execId": execution.id})

    @router.post("/exec/apply", summary="Run an ad-hoc action group")
    async def exec_apply(group: ActionGroup, caller: Caller = guard.control("exec")) -> Response:
        return await apply(group, caller)

    @router.post("/exec/apply/highPriority", summary="Run ahead of every queue, ignoring lock levels")
    async def exec_apply_high(group: ActionGroup, caller: Caller = guard.control("exec")) -> Response:
        return await apply(group, caller, high_priority=True)

    @router.post("/exec/apply/internal", summary="Run without a trace in the execution history")
    async def exec_apply_internal(group: ActionGroup, caller: Caller = guard.control("exec")) -> Response:
        return await apply(group, caller, internal=True)

    @router.post("/exec/apply/geolocated", summary="Run, flagged as geolocated")
    async def exec_apply_geolocated(group: ActionGroup, caller: Caller = guard.control("exec")) -> Response:
        return await apply(group, caller)

    async def run_group(oid: str, caller: Caller, internal: bool = False) -> Response:
        group = gw.action_groups.get(oid)
        execution = await gw.executor.submit(
            group, owner=caller.owner, action_group_oid=oid, sub_type=ExecutionSubType.ACTION_GROUP, internal=internal
        )
        execution.action_group.update(gw.action_groups.stamp(oid))
        return json_response({"execId": execution.id})

    @router.get("/exec/current", summary="Executions not finished yet")
    async def current(_: Caller = guard.view()) -> Response:
        return json_response([e.current_json() for e in gw.executor.current.values() if not e.internal])

    @router.get("/exec/current/{exec_id}")
    async def current_one(exec_id: str, _: Caller = guard.view()) -> Response:
        execution = gw.executor.current.get(exec_id)
        if execution is None:
            # Seed 003 documents only the 200 of a running execution. For an id that is not running (unknown, or
            # already finished) the vendor's local gateway answers 200 with an empty list (the cloud: `{}`), as
            # pyoverkiz records it; pyoverkiz 2.x reads that as "no such execution" (None) and raises on an error.
            return json_response([])
        return json_response(execution.current_json())

    def cancel(exec_id: str) -> Response:
        if not gw.executor.cancel(exec_id):
            raise ApiError.not_found(f"No such execution : {exec_id}")
        return Response(status_code=204)

    @router.delete("/exec/current/setup", status_code=204, summary="Cancel every execution")
    async def cancel_all(_: Caller = guard.control()) -> Response:
        gw.executor.cancel_all()
        return Response(status_code=204)

    @router.delete("/exec/current/setup/{exec_id}", status_code=204, summary="Cancel one execution")
    async def cancel_one(exec_id: str, _: Caller = guard.control()) -> Response:
        return cancel(exec_id)

    @router.delete("/exec/current", status_code=204, deprecated=True)
    async def cancel_all_deprecated(_: Caller = guard.control()) -> Response:
        gw.executor.cancel_all()
        return Response(status_code=204)

    @router.delete("/exec/current/{exec_id}", status_code=204, deprecated=True)
    async def cancel_one_deprecated(exec_id: str, _: Caller = guard.control()) -> Response:
        return cancel(exec_id)

    # ------------------------------------------------------------------ delayed runs

    @router.post(
        "/exec/schedule/{action_group_oid}/{utc_timestamp}", summary="Run a persisted action group at a time (epoch ms)"
    )
    async def schedule(action_group_oid: str, utc_timestamp: int, _: Caller = guard.control("exec")) -> Response:
        now = now_ms()
        if not now - 60_000 <= utc_timestamp <= now + MAX_SCHEDULE_AHEAD_MS:
            raise ApiError.bad_request(f"utcTimestamp {utc_timestamp} is in the past or more than a year ahead")
        run = await gw.scheduler.schedule(action_group_oid, utc_timestamp)
        return json_response({"triggerId": run.trigger_id})

    @router.get("/exec/schedule")
    async def schedules(_: Caller = guard.view()) -> Response:
        return json_response([r.to_json() for r in gw.scheduler.list()] + gw.calendar.scheduled_today())

    @router.get("/exec/schedule/{action_group_oid}")
    async def schedules_of(action_group_oid: str, _: Caller = guard.view()) -> Response:
        return json_response(
            [r.to_json() for r in gw.scheduler.list(action_group_oid)] + gw.calendar.scheduled_today(action_group_oid)
        )

    @router.get("/exec/delayedTriggerSchedule")
    async def delayed(_: Caller = guard.view()) -> Response:
        return json_response([r.to_json() for r in gw.scheduler.list()])

    @router.get("/exec/delayedTriggerSchedule/{trigger_id}")
    async def delayed_one(trigger_id: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.scheduler.get(trigger_id).to_json())

    @router.delete("/exec/delayedTriggerSchedule/{trigger_id}", status_code=204)
    async def delayed_cancel(trigger_id: str, _: Caller = guard.control()) -> Response:
        await gw.scheduler.cancel(trigger_id)
        return Response(status_code=204)

    # Declared after the fixed /exec/... paths above so that they win.
    @router.post("/exec/{action_group_oid}", summary="Run a persisted action group")
    async def exec_group(
        action_group_oid: str,
        caller: Caller = guard.control("exec"),
        condition_group_oid: str | None = Query(
            None,
            alias="conditionGroupOID",
            max_length=64,
            description="Hearth's extension: run only if this condition group holds now; "
            "else 400 UNSUPPORTED_OPERATION saying which devices prevent it",
        ),
    ) -> Response:
        if condition_group_oid is not None:
            gw.action_groups.get(action_group_oid)  # an unknown action group is a 404 whatever the condition
            gw.conditions.require(condition_group_oid)  # the index's truth, in the same step as the submit
        return await run_group(action_group_oid, caller)

    @router.post("/exec/{action_group_oid}/internal")
    async def exec_group_internal(action_group_oid: str, caller: Caller = guard.control("exec")) -> Response:
        return await run_group(action_group_oid, caller, internal=True)

    # ------------------------------------------------------------------ action groups

    @router.get("/actionGroups")
    async def action_groups(_: Caller = guard.view("bulk")) -> Response:
        return json_response(gw.action_groups.all_json())

    @router.get("/actionGroups/{oid}")
    async def action_group(oid: str, _: Caller = guard.view()) -> Response:
        gw.action_groups.get(oid)
        return json_response(gw.action_groups.to_json(oid))

    @router.post("/actionGroups", status_code=201)
    async def create_action_group(group: ActionGroup, _: Caller = guard.admin()) -> Response:
        oid = await gw.action_groups.create(group)
        return json_response({"actionGroupOID": oid}, 201)

    @router.put("/actionGroups")
    async def update_action_group(group: ActionGroup, _: Caller = guard.admin()) -> Response:
        await gw.action_groups.update(group)
        return json_response({})

    @router.delete("/actionGroups/{oid}", status_code=204)
    async def delete_action_group(oid: str, _: Caller = guard.admin()) -> Response:
        await gw.action_groups.delete(oid)
        for run in gw.scheduler.list(oid):
            await gw.scheduler.cancel(run.trigger_id)
        return Response(status_code=204)

    # ------------------------------------------------------------------ history

    @router.get("/history/executions/{exec_id}")
    async def history_one(exec_id: str, _: Caller = guard.view()) -> Response:
        execution = gw.executor.current.get(exec_id) or await gw.journal.get(exec_id)
        if execution is None or execution.internal:
            raise ApiError.not_found(f"No such execution : {exec_id}")
        return json_response({"execution": execution.history_json()})

    @router.get("/history/executions", summary="Finished executions, newest first")
    async def history_executions(limit: int = Query(100, ge=1, le=1000), _: Caller = guard.view("bulk")) -> Response:
        return json_response([e.history_json() for e in await gw.journal.history(limit)])

    @router.get("/history/lastExecutions")
    async def last_executions(limit: int = Query(50, ge=1, le=1000), _: Caller = guard.view("bulk")) -> Response:
        return json_response([e.history_json() for e in await gw.journal.history(limit)])

    @router.get("/history")
    async def history(limit: int = Query(100, ge=1, le=1000), _: Caller = guard.view("bulk")) -> Response:
        return json_response([{"execution": e.history_json()} for e in await gw.journal.history(limit)])

    @router.delete("/history", status_code=204)
    async def delete_history(_: Caller = guard.admin()) -> Response:
        await gw.journal.delete_history()
        gw.bus.publish(HistoryDeletedEvent())
        return Response(status_code=204)

    return router
