"""Z-Wave procedures (End-User API §7.3) as thin shims over the Z-Wave stack device.

Current endpoints: network reset, association groups. Deprecated ones that clients still call (pairing
inclusion and exclusion, failed devices) map onto the stack device's commands, as the API's own documentation
says to do. Each answers ``{"execId"}``; reading association groups answers at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures
from hearth.model import events as ev
from hearth.model.errors import ApiError, ErrorCode
from hearth.sdk import AssociationCapable, AssociationGroups, CommandFailed

SET_MODE: procedures.ProcedureEvents = (ev.ZWaveSetModeCompleteEvent, ev.ZWaveSetModeFailedEvent)
RESET: procedures.ProcedureEvents = (ev.ZWaveResetCompleteEvent, ev.ZWaveResetFailedEvent)
# highestSecurityType of the legacy inclusion -> zwave-js's inclusion strategy ("default" tries S2, then S0).
SECURITY = {"none": "insecure", "CRC16": "insecure", "S0": "securityS0", "S2": "default"}
POWER_MODES = {"low", "normal", "wide"}


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    base = "/config/{gateway_id}/zwave"

    async def run(
        gateway_id: str,
        command: str,
        parameters: list[Any],
        caller: Caller,
        done: procedures.ProcedureEvents | None = None,
    ) -> Response:
        procedures.check_gateway(gw, gateway_id)
        return await procedures.run_stack_command(gw, "zwave", "Z-Wave", command, parameters, caller, done)

    def node_id_of(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or not 2 <= int(text) <= 4000:
            raise ApiError.bad_request(f"Invalid node id : {text}")
        return int(text)

    async def procedure_body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
        body = await procedures.json_object(request, allowed)
        timeout = body.get("timeout", 30)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 3600:
            raise ApiError.bad_request(f"Invalid timeout : {timeout} (1 to 3600 s)")
        return body

    @router.post(f"{base}/reset", summary="Reset the Z-Wave controller to factory settings (a new network)")
    async def reset(gateway_id: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "resetNetwork", [], caller, RESET)

    # ------------------------------------------------------------------ pairing (deprecated, still used)

    @router.post(f"{base}/pairing/inclusion/start", summary="Start including devices")
    async def inclusion_start(gateway_id: str, request: Request, caller: Caller = guard.admin()) -> Response:
        body = await procedure_body(request, ("timeout", "mode", "highestSecurityType"))  # the seed's keys
        security = body.get("highestSecurityType", "S2")
        if security not in SECURITY:
            raise ApiError.bad_request(f"Invalid highestSecurityType : {security} ({', '.join(SECURITY)})")
        if body.get("mode", "low") not in POWER_MODES:
            raise ApiError.bad_request(f"Invalid mode : {body.get('mode')} (low, normal or wide)")
        return await run(
            gateway_id, "startInclusionWithMode", [SECURITY[security], body.get("timeout", 30)], caller, SET_MODE
        )

    @router.post(f"{base}/pairing/inclusion/stop", summary="Stop including devices")
    async def inclusion_stop(gateway_id: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "stopInclusion", [], caller, SET_MODE)

    @router.post(f"{base}/pairing/exclusion/start", summary="Start excluding devices")
    async def exclusion_start(gateway_id: str, request: Request, caller: Caller = guard.admin()) -> Response:
        body = await procedure_body(request, ("timeout", "mode"))  # the seed's keys
        if body.get("mode", "low") not in POWER_MODES:
            raise ApiError.bad_request(f"Invalid mode : {body.get('mode')} (low, normal or wide)")
        return await run(
            gateway_id, "startExclusionWithMode", ["excludeOnly", body.get("timeout", 30)], caller, SET_MODE
        )

    @router.post(f"{base}/pairing/exclusion/stop", summary="Stop excluding devices")
    async def exclusion_stop(gateway_id: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "stopExclusion", [], caller, SET_MODE)

    @router.post(f"{base}/failedDevice/{{node}}", summary="Check whether a node has failed")
    async def failed_check(gateway_id: str, node: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "isFailedDevice", [node_id_of(node)], caller)

    @router.delete(f"{base}/failedDevice/{{node}}", summary="Remove a failed node")
    async def failed_remove(gateway_id: str, node: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "removeFailedNode", [node_id_of(node)], caller)

    @router.post(f"{base}/failedDevice/{{node}}/replace", summary="Replace a failed node by a new device")
    async def failed_replace(gateway_id: str, node: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "replaceFailedDevice", [node_id_of(node)], caller)

    # ------------------------------------------------------------------ association groups

    groups_path = f"{base}/association/nodes/{{node}}/groups"

    async def read_groups(gateway_id: str, node: str) -> AssociationGroups:
        procedures.check_gateway(gw, gateway_id)
        driver = gw.drivers.by_protocol.get("zwave")
        if not isinstance(driver, AssociationCapable):
            raise ApiError.unsupported("The Z-Wave driver is not enabled on this gateway")
        try:
            groups = await driver.association_groups(node_id_of(node))
        except CommandFailed as exc:
            if exc.failure.name == "ACTUATORUNKNOWN":
                raise ApiError.not_found(exc.message) from None
            if exc.failure.name == "CMDUNKNOWN":
                raise ApiError.bad_request(exc.message) from None
            raise ApiError(503, ErrorCode.SERVICE_UNAVAILABLE, exc.message) from None
        return groups

    @router.get(groups_path, summary="A node's association groups (as the node last reported them)")
    async def groups(gateway_id: str, node: str, _: Caller = guard.view()) -> Response:
        return json_response(await read_groups(gateway_id, node))

    @router.get(f"{groups_path}/{{group}}", summary="One association group of a node")
    async def group(gateway_id: str, node: str, group: int, _: Caller = guard.view()) -> Response:
        for entry in (await read_groups(gateway_id, node))["associationGroups"]:
            if entry["groupId"] == group:
                return json_response(entry)
        raise ApiError.not_found(f"No such association group : {group}")

    @router.post(f"{groups_path}/refresh", summary="Read a node's association groups again")
    async def refresh_all(gateway_id: str, node: str, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "refreshAssociations", [node_id_of(node)], caller)

    @router.post(f"{groups_path}/{{group}}", summary="Set the nodes of an association group")
    async def set_group(
        gateway_id: str, node: str, group: int, request: Request, caller: Caller = guard.admin()
    ) -> Response:
        members = await procedures.json_body(request)
        if not isinstance(members, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4000 for n in members
        ):
            raise ApiError.bad_request("The body must be the group's node ids, e.g. [2, 5]")
        if not 1 <= group <= 255:
            raise ApiError.bad_request(f"Invalid association group : {group}")
        return await run(gateway_id, "setAssociations", [node_id_of(node), group, members], caller)

    @router.post(f"{groups_path}/{{group}}/refresh", summary="Read one association group of a node again")
    async def refresh_one(gateway_id: str, node: str, group: int, caller: Caller = guard.admin()) -> Response:
        return await run(gateway_id, "refreshAssociations", [node_id_of(node), group], caller)

    return router
