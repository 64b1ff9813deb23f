"""Zigbee network procedures (§7.2) and commissioning codes (§7.1), as thin shims over the stack device.

Each procedure runs one command of the Zigbee stack device (``zigbee://<gw>/stack``) as a technical execution,
answers ``{"execId"}`` at once, and when the execution ends emits the matching Zigbee*{Completed,Failed}Event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures
from hearth.model import events as ev
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.protocols import protocol_prefix
from hearth.model.strict import Name, StrictModel
from hearth.sdk import COMMISSIONING_CODES, CommandFailed, Driver, NetworkBackupCapable
from hearth.store.repositories import DriverDataRepository

# Our own extension, outside the End-User API's paths: the network backup.
EXT = "/ext/zigbee"
# "The limit for zigbee protocol is 127" (End-User API, commissioning codes).
MAX_CODES = 127
ACTIVE, SAVED = COMMISSIONING_CODES, "commissioning.savedCodes"

_EVENTS: dict[str, procedures.ProcedureEvents] = {
    "createNetwork": (ev.ZigbeeCreateNetworkCompletedEvent, ev.ZigbeeCreateNetworkFailedEvent),
    "openNetwork": (ev.ZigbeeJoinNetworkCompletedEvent, ev.ZigbeeJoinNetworkFailedEvent),
    "leaveNetwork": (ev.ZigbeeLeaveNetworkCompletedEvent, ev.ZigbeeLeaveNetworkFailedEvent),
    "bind": (ev.ZigbeeBindNetworkCompletedEvent, ev.ZigbeeBindNetworkFailedEvent),
    "refreshNetwork": (ev.ZigbeeRefreshNetworkCompletedEvent, ev.ZigbeeRefreshNetworkFailedEvent),
}


class CommissioningCode(StrictModel):
    """Seed 003: POST ``[{"code", "metadata", "commissioningId"}]``; another key is refused."""

    code: Name = Field(min_length=1, max_length=64)
    metadata: str | None = Field(None, max_length=4096)
    commissioning_id: Name | None = Field(None, alias="commissioningId", max_length=64)


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    def check_gateway(gateway_id: str) -> None:
        procedures.check_gateway(gw, gateway_id)

    async def run(command: str, parameters: list[Any], caller: Caller) -> Response:
        return await procedures.run_stack_command(gw, "zigbee", "Zigbee", command, parameters, caller, _EVENTS[command])

    body_of = procedures.json_body

    @router.post("/config/{gateway_id}/zigbee/createNetwork", summary="Form a new Zigbee network")
    async def create_network(gateway_id: str, caller: Caller = guard.admin()) -> Response:
        check_gateway(gateway_id)
        return await run("createNetwork", [], caller)

    @router.post(
        "/config/{gateway_id}/zigbee/createNetwork/channels",
        summary="Form a new Zigbee network on one of the given channels (the first is used)",
    )
    async def create_network_channels(gateway_id: str, channels: list[int], caller: Caller = guard.admin()) -> Response:
        check_gateway(gateway_id)
        valid = [c for c in channels if 11 <= c <= 26]
        if not channels or len(valid) != len(channels):
            raise ApiError.bad_request(f"Invalid channels : {channels} (11 to 26)")
        return await run("createNetwork", [valid[0]], caller)

    @router.post("/config/{gateway_id}/zigbee/joinNetwork", summary="Open the network for joining")
    async def join_network(gateway_id: str, request: Request, caller: Caller = guard.admin()) -> Response:
        check_gateway(gateway_id)
        # The seed documents no body here: these two keys are ours (how long, and through which router).
        body = await procedures.json_object(request, ("duration", "routerIeeeAddress"))
        duration = body.get("duration")
        router = body.get("routerIeeeAddress")
        if duration is not None and (not isinstance(duration, int) or not 1 <= duration <= 254):
            raise ApiError.bad_request(f"Invalid duration : {duration} (1 to 254 s)")
        if router is not None and not isinstance(router, str):
            raise ApiError.bad_request(f"Invalid routerIeeeAddress : {router}")
        return await run("openNetwork", [duration, router] if router else [duration] if duration else [], caller)

    @router.post("/config/{gateway_id}/zigbee/leaveNetwork", summary="Remove a device from the network")
    async def leave_network(gateway_id: str, request: Request, caller: Caller = guard.admin()) -> Response:
        check_gateway(gateway_id)
        body = await body_of(request)
        ieee = None
        if isinstance(body, dict):
            body = await procedures.json_object(request, ("ieeeAddress", "deviceURL"))
            ieee = body.get("ieeeAddress") or _address_of(body.get("deviceURL"))
        elif isinstance(body, str):
            ieee = body
        if not isinstance(ieee, str) or not ieee:
            raise ApiError.bad_request('leaveNetwork needs {"ieeeAddress": ...} or {"deviceURL": ...}')
        return await run("leaveNetwork", [ieee], caller)

    @router.post("/config/{gateway_id}/zigbee/bindNetwork", summary="Bind a cluster of one device to another")
    async def bind_network(gateway_id: str, request: Request, caller: Caller = guard.admin()) -> Response:
        check_gateway(gateway_id)
        keys = ("sourceIeeeAddress", "sourceEndpoint", "clusterId", "destinationIeeeAddress", "destinationEndpoint")
        body = await procedures.json_object(request, keys)
        if any(k not in body for k in keys):
            raise ApiError.bad_request(f"bindNetwork needs {{{', '.join(keys)}}}")
        return await run("bind", [body[k] for k in keys], caller)

    @router.post("/config/{gateway_id}/zigbee/refreshNetwork", summary="Read every Zigbee device's states")
    async def refresh_network(gateway_id: str, caller: Caller = guard.admin()) -> Response:
        check_gateway(gateway_id)
        return await run("refreshNetwork", [], caller)

    # ------------------------------------------------------------------ network backup (extension)

    def zigbee_driver() -> Driver:
        driver = gw.drivers.by_protocol.get("zigbee")
        if driver is None:
            raise ApiError.unsupported("The Zigbee driver is not enabled on this gateway")
        return driver

    def backup_driver() -> NetworkBackupCapable:
        driver = zigbee_driver()
        if not isinstance(driver, NetworkBackupCapable):
            raise ApiError.unsupported("The Zigbee driver of this gateway cannot back up its network")
        return driver

    @router.get(f"{EXT}/backup", summary="The Zigbee network (keys, devices, coordinator state) in zigpy's format")
    async def backup(_: Caller = guard.admin()) -> Response:
        try:
            data = await backup_driver().backup()
        except CommandFailed as exc:
            raise ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, exc.message) from None
        # It holds the network key: not cached anywhere on the way.
        return json_response(
            data,
            headers={"Cache-Control": "no-store", "Content-Disposition": 'attachment; filename="zigbee-network.json"'},
        )

    @router.post(f"{EXT}/restore", summary="Write a zigpy network backup onto the coordinator in use")
    async def restore(request: Request, _: Caller = guard.admin()) -> Response:
        body = await body_of(request)
        if not isinstance(body, dict):
            raise ApiError.bad_request("The body must be a zigpy network backup (a JSON object)")
        try:
            await backup_driver().restore(body)
        except ValueError as exc:
            raise ApiError.bad_request(f"Invalid backup : {exc}") from None
        except CommandFailed as exc:
            raise ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, exc.message) from None
        return Response(status_code=204)

    # ------------------------------------------------------------------ commissioning (install) codes

    data = DriverDataRepository(gw.db)

    def check_protocol(gateway_id: str, protocol: str) -> None:
        check_gateway(gateway_id)
        if protocol_prefix(protocol) != "zigbee":
            raise ApiError.bad_request(f"Commissioning codes are not supported for protocol {protocol}")

    async def load(key: str) -> list[dict[str, Any]]:
        value = await data.get("zigbee", key)
        return list(value) if isinstance(value, list) else []

    def wire(codes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "code": c["code"],
                "metadata": c.get("metadata"),
                "extraFields": ({"commissioningId": c["commissioningId"]} if c.get("commissioningId") else {}),
            }
            for c in codes
        ]

    def check_codes(new: list[CommissioningCode]) -> None:
        driver = zigbee_driver()
        for item in new:
            try:
                driver.check_commissioning_code(item.code, item.commissioning_id)
            except ValueError as exc:
                raise ApiError.bad_request(f"Invalid commissioning code : {exc}") from None

    async def add(key: str, new: list[CommissioningCode]) -> list[dict[str, Any]]:
        check_codes(new)
        codes = {c["code"]: c for c in await load(key)}
        for item in new:
            codes[item.code] = {"code": item.code, "metadata": item.metadata, "commissioningId": item.commissioning_id}
        if len(codes) > MAX_CODES:
            raise ApiError.bad_request(
                f"Too many commissioning codes : {len(codes)} (the limit for zigbee is {MAX_CODES})"
            )
        await data.put("zigbee", key, list(codes.values()))
        return list(codes.values())

    def make(kind: str, key: str) -> None:
        base = f"/config/{{gateway_id}}/devices/{{protocol}}/commissioning/{kind}"

        @router.get(base, summary=f"Commissioning {kind}")
        async def listing(gateway_id: str, protocol: str, _: Caller = guard.admin()) -> Response:
            check_protocol(gateway_id, protocol)
            return json_response(wire(await load(key)))

        @router.post(base, status_code=200)
        async def post(
            gateway_id: str, protocol: str, codes: list[CommissioningCode], _: Caller = guard.admin()
        ) -> Response:
            check_protocol(gateway_id, protocol)
            await add(key, codes)
            return Response(status_code=200)

        @router.delete(base, status_code=204)
        async def clear(gateway_id: str, protocol: str, _: Caller = guard.admin()) -> Response:
            check_protocol(gateway_id, protocol)
            await data.put("zigbee", key, [])
            return Response(status_code=204)

        @router.delete(base + "/{code}", status_code=204)
        async def delete_one(gateway_id: str, protocol: str, code: str, _: Caller = guard.admin()) -> Response:
            check_protocol(gateway_id, protocol)
            codes = await load(key)
            kept = [c for c in codes if c["code"] != code]
            if len(kept) == len(codes):
                raise ApiError.not_found(f"No such commissioning code : {code}")
            await data.put("zigbee", key, kept)
            return Response(status_code=204)

    make("codes", ACTIVE)
    make("savedCodes", SAVED)

    @router.post(
        "/config/{gateway_id}/devices/{protocol}/commissioning/import",
        summary="Make the saved commissioning codes active",
    )
    async def import_saved(gateway_id: str, protocol: str, _: Caller = guard.admin()) -> Response:
        check_protocol(gateway_id, protocol)
        saved = await load(SAVED)
        await add(ACTIVE, [CommissioningCode.model_validate(c) for c in saved])
        return Response(status_code=200)

    return router


def _address_of(device_url: Any) -> str | None:
    if not isinstance(device_url, str) or "://" not in device_url:
        return None
    return device_url.split("://", 1)[1].split("/", 1)[-1].split("#", 1)[0] or None
