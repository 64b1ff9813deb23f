"""The seed's Zone operations beyond setup.py: moving items from one zone to another, and setting a zone's type
and label in one call."""

from __future__ import annotations

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.errors import ApiError


class ZoneItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    itemType: str = "device"
    deviceOID: str | None = None
    deviceURL: str | None = None


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.post("/setup/zones/{source_oid}/items/relocate/{target_oid}", summary="Move items from a zone to another")
    async def relocate(source_oid: str, target_oid: str, body: list[ZoneItem], _: Caller = guard.admin()) -> Response:
        source, target = gw.zones.get(source_oid), gw.zones.get(target_oid)
        if source is target:
            raise ApiError.bad_request("The source and target zones are the same")
        moving = gw.zones.items_from([item.model_dump() for item in body])
        urls = {i.device_url for i in moving}
        missing = urls - {i.device_url for i in source.items}
        if missing:
            raise ApiError.bad_request(f"Not in zone {source_oid} : {', '.join(sorted(missing))}")
        known = {i.device_url for i in target.items}
        target.items += [i for i in moving if i.device_url not in known]
        source.items = [i for i in source.items if i.device_url not in urls]
        await gw.zones.update(target)  # the target first: a crash between the two leaves the item in both
        await gw.zones.update(source)
        return json_response({})

    @router.put("/setup/zones/{zone_oid}/{zone_type}/{label}", summary="Set a zone's type and label")
    async def retype(
        zone_oid: str, zone_type: int, label: str = Path(min_length=1, max_length=128), _: Caller = guard.admin()
    ) -> Response:
        zone = gw.zones.get(zone_oid)
        if not 0 <= zone_type <= 1000:
            raise ApiError.bad_request(f"Unknown zone type : {zone_type}", "INVALID_FIELD_VALUE")
        zone.type, zone.label = zone_type, label
        await gw.zones.update(zone)
        return json_response({})

    return router
