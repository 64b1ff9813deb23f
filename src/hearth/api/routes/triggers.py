"""``/triggers``: setup triggers, their modes and status, tests, and the global switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.core.triggers.model import parse_type
from hearth.model.errors import ApiError, ErrorCode


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    # Fixed paths first: /triggers/status and /triggers/test are not trigger types.

    @router.get("/triggers/status", summary="The global switch of setup triggers")
    async def switch(_: Caller = guard.view()) -> Response:
        return json_response({"enabled": gw.triggers.enabled})

    @router.put("/triggers/status")
    async def set_switch(body: Any = Body(...), _: Caller = guard.admin()) -> Response:
        enabled = body.get("enabled") if isinstance(body, dict) else None
        if not isinstance(enabled, bool):
            raise ApiError.bad_request(
                "Invalid trigger status: enabled: must be true or false", ErrorCode.INVALID_FIELD_VALUE
            )
        await gw.triggers.set_enabled(enabled)
        return json_response({})

    @router.post("/triggers/test", summary="Run the effects of a setup trigger definition now")
    async def test(body: Any = Body(...), _: Caller = guard.control("exec")) -> Response:
        return json_response({"execIds": await gw.triggers.test(body)})

    @router.put("/triggers/test/discrete/{oid}", summary="Run the effects of one key of a discrete trigger")
    async def test_discrete(oid: str, body: Any = Body(...), _: Caller = guard.control("exec")) -> Response:
        if not isinstance(body, dict) or body.get("targetValue") is None:
            raise ApiError.bad_request("Invalid test: targetValue: is required", ErrorCode.INVALID_FIELD_VALUE)
        return json_response({"execIds": await gw.triggers.test_discrete(oid, body["targetValue"])})

    @router.get("/triggers", summary="Every setup trigger")
    async def all_triggers(_: Caller = guard.view("bulk")) -> Response:
        return json_response([t.to_json() for t in gw.triggers.all()])

    @router.post("/triggers", status_code=201)
    async def create(
        body: Any = Body(...),
        allow_execute: bool = Query(False, alias="allowExecuteOnCreate"),
        _: Caller = guard.admin(),
    ) -> Response:
        trigger = await gw.triggers.create(body, allow_execute=allow_execute)
        return json_response({"setupTriggerId": trigger.setup_id, "setupTriggerOID": trigger.oid}, 201)

    @router.put("/triggers", summary="Update a setup trigger (its body carries the oid)")
    async def update(
        body: Any = Body(...),
        allow_execute: bool = Query(False, alias="allowExecuteOnUpdate"),
        _prevent: bool = Query(False, alias="preventLockLevelReset"),
        _: Caller = guard.admin(),
    ) -> Response:
        await gw.triggers.update(body, allow_execute=allow_execute)
        return json_response({})

    @router.get("/triggers/{trigger_type}")
    async def of_type(trigger_type: str, _: Caller = guard.view("bulk")) -> Response:
        return json_response([t.to_json() for t in gw.triggers.all(parse_type(trigger_type))])

    @router.get("/triggers/{trigger_type}/status")
    async def statuses(trigger_type: str, _: Caller = guard.view()) -> Response:
        return json_response([t.status() for t in gw.triggers.all(parse_type(trigger_type))])

    @router.get("/triggers/{trigger_type}/{oid}")
    async def one(trigger_type: str, oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.triggers.get(trigger_type, oid).to_json())

    @router.get("/triggers/{trigger_type}/{oid}/status")
    async def status(trigger_type: str, oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.triggers.get(trigger_type, oid).status())

    @router.put("/triggers/{trigger_type}/{oid}/activation/{mode}", summary="1 always on, 2 off, 3 scheduled")
    async def activation(
        trigger_type: str,
        oid: str,
        mode: int,
        allow_execute: bool = Query(False, alias="allowExecuteOnUpdate"),
        _: Caller = guard.admin(),
    ) -> Response:
        await gw.triggers.set_mode(trigger_type, oid, mode, allow_execute=allow_execute)
        return json_response({})

    @router.delete("/triggers/{trigger_type}/{oid}", status_code=204)
    async def delete(trigger_type: str, oid: str, _: Caller = guard.admin()) -> Response:
        await gw.triggers.delete(trigger_type, oid)
        return Response(status_code=204)

    return router
