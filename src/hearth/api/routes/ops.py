"""Operating the gateway: ``/metrics``, ``/health/ready``, and ``/ext/system``, ``/ext/logs``,
``/ext/devices/health`` under the End-User API.

``/metrics`` needs a view token like every read of the API (Prometheus sends it with ``authorization``);
readiness needs none, like liveness: a supervisor asks it.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.errors import ApiError, ErrorCode
from hearth.ops.logbuffer import LEVELS
from hearth.ops.system import readiness, system_summary


def root_routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    """Routes outside the End-User API's base path."""
    router = APIRouter()
    gw = ctx.gateway

    @router.get("/metrics", include_in_schema=False)
    async def metrics(_: Caller = guard.view()) -> Response:
        body, content_type = await gw.ops.render_metrics()
        return Response(body, media_type=content_type)

    @router.get("/health/ready", summary="Readiness (no authentication): 200 when ready, else 503 with reasons")
    async def ready() -> Response:
        reasons = await readiness(gw)
        if reasons:
            return json_response({"status": "not ready", "reasons": reasons}, 503)
        return json_response({"status": "ready", "reasons": []})

    return router


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.get("/ext/system", summary="Version, uptime, drivers, cloud and store at a glance")
    async def system(_: Caller = guard.view()) -> Response:
        return json_response(await system_summary(gw, gw.ops))

    @router.get("/ext/logs", summary="The newest log records, newest first (admin)")
    async def logs(
        limit: int = Query(200, ge=1, le=1000), level: str = Query("DEBUG"), _: Caller = guard.admin()
    ) -> Response:
        wanted = level.upper()
        if wanted not in LEVELS:
            raise ApiError.bad_request(f"level: one of {', '.join(LEVELS)}", ErrorCode.INVALID_FIELD_VALUE)
        return json_response(gw.ops.logs.newest(limit, wanted))

    @router.get("/ext/devices/health", summary="Per device: last seen, commands, failures, latency")
    async def devices_health(_: Caller = guard.view("bulk")) -> Response:
        return json_response([gw.ops.health.to_json(device) for device in gw.registry.all()])

    @router.get("/ext/devices/health/{device_url:deviceurl}", summary="One device's health")
    async def device_health(device_url: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.ops.health.to_json(gw.registry.require(device_url)))

    return router
