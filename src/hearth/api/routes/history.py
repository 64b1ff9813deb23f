"""The seed's History operations beyond executions (execution.py): device events, notification events, and
the setup's access audit.

What each answers here, where the seed is silent on a box without a cloud:
- device events (faults and warnings a device reports): our drivers report none as events yet (a device
  that stops answering becomes unavailable instead, DeviceUnavailableEvent): the list is empty.
- notification events: the notifications the platform sent (push, e-mail, SMS); a gateway sends none.
- access audit: the vendor's audit of who opened the setup from the cloud; no one reaches this box but
  through its tokens, which the gateway does not log per request: no events, ``limitReached`` false.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.errors import ApiError


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()

    @router.get("/history/devicesEvent", summary="Faults and warnings reported by devices")
    async def device_events(_: Caller = guard.view()) -> Response:
        return json_response([])

    @router.get("/history/devicesEvent/{event_id}", summary="One device event")
    async def device_event(event_id: str, _: Caller = guard.view()) -> Response:
        raise ApiError.not_found(f"No such device event : {event_id}")

    @router.get("/history/notificationEvents", summary="Notifications sent (a gateway sends none)")
    async def notification_events(_: Caller = guard.view()) -> Response:
        return json_response([])

    @router.get("/history/accessAudit/{from_ms}/{to_ms}", summary="Who opened the setup, between two dates")
    async def access_audit(from_ms: int, to_ms: int, _: Caller = guard.admin()) -> Response:
        if from_ms < 0 or to_ms < from_ms:
            raise ApiError.bad_request("from and to are epoch milliseconds, from before to", "INVALID_FIELD_VALUE")
        return json_response({"events": [], "from": from_ms, "to": to_ms, "limitReached": False})

    return router
