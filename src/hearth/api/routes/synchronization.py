"""``GET /setup/gateways/{gw}/aliveAndReady`` and ``…/synchronization/*`` (End-User API §8.3): the cloud sync's
state as this gateway knows it, each as ``{"result": …}``.

Without a cloud configured the gateway is alive and ready on its own and never has anything to sync.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    base = "/setup/gateways/{gateway_id}"

    @router.get(f"{base}/aliveAndReady", summary="Whether the gateway is alive and its cloud link ready")
    async def alive_and_ready(gateway_id: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        cloud = gw.extensions.status("cloud")
        return json_response({"result": cloud is None or bool(cloud.connected)})

    @router.get(f"{base}/synchronization/inProgress", summary="Whether a sync with the cloud is running")
    async def in_progress(gateway_id: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        cloud = gw.extensions.status("cloud")
        return json_response({"result": bool(cloud is not None and cloud.syncing)})

    @router.get(f"{base}/synchronization/pendingTasks", summary="Whether records wait for the cloud")
    async def pending(gateway_id: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        cloud = gw.extensions.status("cloud")
        if cloud is None or cloud.outbox is None:
            return json_response({"result": False})
        return json_response({"result": sum((await cloud.outbox.depth()).values()) > 0})

    @router.get(f"{base}/synchronization/failedTasks", summary="Whether some records were refused by the cloud")
    async def failed(gateway_id: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        # The MQTT connector has no per-record refusal: a batch is acknowledged by the broker or sent again.
        return json_response({"result": False})

    @router.get(f"{base}/synchronization/failedTasks/categories", summary="What kinds of records were refused")
    async def failed_categories(gateway_id: str, _: Caller = guard.view()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        return json_response({"result": []})

    return router
