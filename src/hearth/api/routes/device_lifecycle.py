"""Creating the devices a radio cannot discover (RTS), and deleting devices with everything that uses them.

- ``POST /config/{gw}/devices/{deviceAddress}/{protocolType}/{deviceType}/{deviceLabel}`` (201): the driver of the
  protocol declares the device (DeviceCreatedEvent).
- ``POST /setup/devices/{url}/_deleteCascade`` (``{"jobId"}``): the deletion job (core/device_removal.py);
  ``DELETE /setup/devices/{url}`` and ``POST …/_delete`` (deprecated) run the same job and answer 204 when done.
- ``GET /config/{gw}/rts/channel``: a free RTS channel for the next device.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.protocols import protocol_prefix
from hearth.sdk import ChannelAllocating, Driver


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    def driver_of(protocol: str) -> Driver:
        prefix = protocol_prefix(protocol)
        if prefix is None:
            raise ApiError.bad_request(f"Unknown protocol type : {protocol}")
        driver = gw.drivers.by_protocol.get(prefix)
        if driver is None:
            raise ApiError.unsupported(f"No {prefix} driver is enabled on this gateway")
        return driver

    @router.post(
        "/config/{gateway_id}/devices/{device_address}/{protocol}/{device_type}/{device_label}",
        status_code=201,
        summary="Create a device the radio cannot discover (RTS)",
    )
    async def create(
        gateway_id: str,
        device_address: str,
        protocol: str,
        device_type: str,
        device_label: str,
        _: Caller = guard.admin(),
    ) -> Response:
        procedures.check_gateway(gw, gateway_id)
        driver = driver_of(protocol)
        if not device_label.strip() or len(device_label) > 64:
            raise ApiError.bad_request("The device label must be 1 to 64 characters")
        try:
            await driver.create_device(device_address, device_type, device_label)
        except ValueError as exc:
            raise ApiError.bad_request(f"Cannot create the device : {exc}") from None
        return Response(status_code=201)

    @router.get("/config/{gateway_id}/rts/channel", summary="A free RTS channel for the next RTS device")
    async def rts_channel(gateway_id: str, _: Caller = guard.admin()) -> Response:
        procedures.check_gateway(gw, gateway_id)
        driver = driver_of("rts")
        if not isinstance(driver, ChannelAllocating):
            raise ApiError.unsupported("The RTS driver of this gateway does not allot channels")
        try:
            channel = await driver.free_channel()
        except ValueError as exc:
            raise ApiError.bad_request(str(exc)) from None
        return json_response({"rtsChannelId": channel})

    async def options(request: Request) -> dict[str, Any]:
        # Seed 003's options of _deleteCascade. Only deleteAllSubSystems changes what Hearth does: the history
        # goes with the device anyway, empty calendar days stay, and no deletion needs forcing locally.
        body = await procedures.json_object(
            request, ("purgeHistory", "deleteAllSubSystems", "deleteEmptyCalendarDays", "forced")
        )
        if not isinstance(body.get("deleteAllSubSystems", True), bool):
            raise ApiError.bad_request(
                "Invalid request: deleteAllSubSystems: must be true or false", ErrorCode.INVALID_FIELD_VALUE
            )
        return body

    @router.post(
        "/setup/devices/{device_url:deviceurl}/_deleteCascade",
        summary="Delete a device, and take it out of the action groups",
    )
    async def delete_cascade(device_url: str, request: Request, _: Caller = guard.admin()) -> Response:
        body = await options(request)
        job_id = gw.device_removal.start(device_url, all_subsystems=bool(body.get("deleteAllSubSystems", True)))
        return json_response({"jobId": job_id})

    async def delete_now(device_url: str) -> Response:
        gw.device_removal.start(device_url, all_subsystems=False)
        await gw.device_removal.wait()
        if gw.registry.get(device_url) is not None:
            raise ApiError.bad_request(f"The device could not be deleted : {device_url}")
        return Response(status_code=204)

    @router.delete("/setup/devices/{device_url:deviceurl}", status_code=204, summary="Delete a device (deprecated)")
    async def delete(device_url: str, _: Caller = guard.admin()) -> Response:
        return await delete_now(device_url)

    @router.post(
        "/setup/devices/{device_url:deviceurl}/_delete", status_code=204, summary="Delete a device (deprecated)"
    )
    async def delete_post(device_url: str, _: Caller = guard.admin()) -> Response:
        return await delete_now(device_url)

    return router
